#include "adapters/bitrix24/sim/generator.hpp"

#include <array>
#include <string>

#include <fmt/format.h>

#include "src/common/rng.hpp"

namespace fg::adapters::bitrix24::sim {

void BuildCatalog(Model& model) {
    std::int64_t row = 101;
    auto stages = [&row](const std::string& prefix,
                         std::vector<std::tuple<const char*, const char*, char>> list) {
        std::vector<SimStage> out;
        int sort = 10;
        for (const auto& [id, name, semantics] : list) {
            out.push_back(SimStage{.row_id = row++,
                                   .status_id = prefix + id,
                                   .name = name,
                                   .sort = sort,
                                   .semantics = semantics});
            sort += 10;
        }
        return out;
    };
    model.categories = {
        SimCategory{.id = 0,
                    .name = "Общая",
                    .sort = 100,
                    .stages = stages("", {{"NEW", "Новая заявка", 'P'},
                                          {"PREPARATION", "Квалификация", 'P'},
                                          {"PREPAYMENT_INVOICE", "КП отправлено", 'P'},
                                          {"EXECUTING", "Переговоры", 'P'},
                                          {"FINAL_INVOICE", "Счёт выставлен", 'P'},
                                          {"UC_PAID01", "Оплачено", 'P'},
                                          {"WON", "Успешно реализовано", 'S'},
                                          {"LOSE", "Закрыто и не реализовано", 'F'},
                                          {"APOLOGY", "Анализ причины провала", 'F'}})},
        SimCategory{.id = 1,
                    .name = "Повторные продажи",
                    .sort = 200,
                    .stages = stages("C1:", {{"NEW", "Новая", 'P'},
                                             {"PREPARATION", "Подготовка", 'P'},
                                             {"EXECUTING", "В работе", 'P'},
                                             {"WON", "Сделка успешна", 'S'},
                                             {"LOSE", "Сделка провалена", 'F'}})}};
    model.users = {
        SimUser{.id = 1,
                .name = "Ирина",
                .last_name = "Соколова",
                .email = "head@sim.example",
                .admin = true},
        SimUser{.id = 7, .name = "Алексей", .last_name = "Петров", .email = "petrov@sim.example"},
        SimUser{.id = 9, .name = "Мария", .last_name = "Иванова", .email = "ivanova@sim.example"},
        SimUser{
            .id = 12, .name = "Дмитрий", .last_name = "Смирнов", .email = "smirnov@sim.example"},
        SimUser{
            .id = 15, .name = "Ольга", .last_name = "Кузнецова", .email = "kuznetsova@sim.example"},
        SimUser{.id = 18, .name = "Сергей", .last_name = "Попов", .email = "popov@sim.example"},
        SimUser{.id = 21, .name = "Анна", .last_name = "Волкова", .email = "volkova@sim.example"}};
    model.user_fields = {
        SimUserField{.id = 201, .field_name = kFieldBudget, .type = "double", .label = "Бюджет"},
        SimUserField{.id = 202, .field_name = kFieldPaidOn, .type = "date", .label = "Дата оплаты"},
        SimUserField{.id = 203, .field_name = kFieldSource, .type = "string", .label = "Источник"},
        SimUserField{.id = 204, .field_name = kFieldInn, .type = "string", .label = "ИНН"},
        SimUserField{
            .id = 205, .field_name = kFieldOfferSum, .type = "double", .label = "Сумма КП"},
        SimUserField{.id = 206, .field_name = kFieldCity, .type = "string", .label = "Город"}};
}

namespace {

constexpr std::array kCompanies = {"ООО Ромашка",           "АО Вектор",     "ИП Соловьёв",
                                   "ООО Северсталь-Сервис", "ООО Техноград", "ЗАО Полюс",
                                   "ООО Альфа-Логистик",    "ООО Зенит"};
constexpr std::array kSources = {"Сайт", "Звонок", "Выставка", "Рекомендация"};
constexpr std::array kCities = {"Москва", "Казань", "Екатеринбург", "Новосибирск"};

std::vector<std::int64_t> Managers(const Model& model) {
    std::vector<std::int64_t> ids;
    for (const SimUser& user : model.users) {
        if (!user.admin) {
            ids.push_back(user.id);
        }
    }
    return ids;
}

}  // namespace

void GenerateDeals(Model& model, std::uint64_t seed, int count, Timestamp now) {
    Rng rng(seed);
    const std::vector<std::int64_t> managers = Managers(model);
    for (int i = 0; i < count; ++i) {
        const SimCategory& category = model.categories[rng.Chance(0.8) ? 0 : 1];
        std::size_t open = 0;
        while (open < category.stages.size() && category.stages[open].semantics == 'P') {
            ++open;
        }
        // Mostly open deals, spread over the in-progress stages; some won or lost.
        std::size_t target = static_cast<std::size_t>(rng.Below(open));
        if (rng.Chance(0.15)) {
            target = open + static_cast<std::size_t>(rng.Below(category.stages.size() - open));
        }
        const Timestamp created = now - Duration{rng.Between(2 * 86400, 40 * 86400)};
        SimDeal deal{.id = model.next_deal++,
                     .title = fmt::format("{} — заказ {}", rng.Pick(kCompanies), 100 + i),
                     .category_id = category.id,
                     .assigned_by = rng.Pick(managers),
                     .created = created,
                     .opportunity = static_cast<double>(rng.Between(5, 500) * 10'000)};
        deal.created_by = deal.modified_by = deal.moved_by = deal.assigned_by;
        Timestamp at = created;
        const std::size_t last_open = target < open ? target : open - 1;
        for (std::size_t s = 0; s <= last_open; ++s) {
            deal.stage_id = category.stages[s].status_id;
            model.history.push_back(SimStageHistory{.id = model.next_history++,
                                                    .type_id = s == 0 ? 1 : 2,
                                                    .owner_id = deal.id,
                                                    .created = at,
                                                    .category_id = category.id,
                                                    .semantics = 'P',
                                                    .stage_id = deal.stage_id});
            deal.moved = at;
            at += Duration{rng.Between(3600, 2 * 86400)};
            if (at >= now) {
                at = now - Duration{60};
            }
        }
        if (target >= open) {
            deal.stage_id = category.stages[target].status_id;
            model.history.push_back(SimStageHistory{.id = model.next_history++,
                                                    .type_id = 3,
                                                    .owner_id = deal.id,
                                                    .created = at,
                                                    .category_id = category.id,
                                                    .semantics = category.stages[target].semantics,
                                                    .stage_id = deal.stage_id});
            deal.moved = at;
        }
        deal.modified = std::max(deal.moved, created);
        for (const SimUserField& field : model.user_fields) {
            deal.fields[field.field_name] = "";
        }
        if (last_open >= 1 || rng.Chance(0.3)) {
            if (rng.Chance(0.85)) {
                deal.fields[kFieldBudget] = std::to_string(rng.Between(5, 500) * 10'000);
            }
            if (rng.Chance(0.85)) {
                deal.fields[kFieldSource] = rng.Pick(kSources);
            }
        }
        if (last_open >= 2 && rng.Chance(0.85)) {
            deal.fields[kFieldOfferSum] = std::to_string(rng.Between(5, 500) * 10'000);
        }
        if (rng.Chance(0.5)) {
            deal.fields[kFieldCity] = rng.Pick(kCities);
        }
        if (rng.Chance(0.4)) {
            deal.fields[kFieldInn] = std::to_string(7700000000 + rng.Between(0, 99'999'999));
        }
        const bool is_open = category.stages[target].semantics == 'P';
        if (is_open && rng.Chance(0.75)) {
            // The current to-do: mostly ahead, sometimes already overdue.
            const Timestamp deadline = now + Duration{rng.Between(-2 * 86400, 5 * 86400)};
            SimActivity todo{.id = model.next_activity++,
                             .owner_id = deal.id,
                             .subject = "Связаться с клиентом",
                             .description = "Уточнить следующий шаг",
                             .created = deal.moved,
                             .updated = deal.moved,
                             .deadline = deadline,
                             .responsible = deal.assigned_by,
                             .author = deal.assigned_by};
            todo.deadlines = {{deal.moved, deadline}};
            model.activities.emplace(todo.id, std::move(todo));
        }
        if (rng.Chance(0.3)) {
            const Timestamp deadline = now + Duration{rng.Between(-86400, 7 * 86400)};
            SimTask task{.id = model.next_task++,
                         .title = "Подготовить коммерческое предложение",
                         .responsible = deal.assigned_by,
                         .created_by = deal.assigned_by,
                         .deadline = deadline,
                         .status = is_open ? 2 : 5,
                         .created = created,
                         .changed = deal.modified,
                         .crm = {DealBinding(deal.id)}};
            if (!is_open) {
                task.closed_at = deal.moved;
            }
            task.deadlines = {{created, deadline}};
            model.tasks.emplace(task.id, std::move(task));
        }
        if (rng.Chance(0.6)) {
            SimComment comment{.id = model.next_comment++,
                               .entity_id = deal.id,
                               .comment = "Клиент запросил расчёт по двум вариантам поставки",
                               .author = deal.assigned_by,
                               .created = created + Duration{1800}};
            model.comments.emplace(comment.id, std::move(comment));
        }
        model.deals.emplace(deal.id, std::move(deal));
    }
    model.events.clear();
}

}  // namespace fg::adapters::bitrix24::sim
