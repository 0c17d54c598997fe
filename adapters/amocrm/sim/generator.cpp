#include "adapters/amocrm/sim/generator.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/format.h>

namespace fg::adapters::amocrm::sim {
namespace {

constexpr std::int64_t kFieldBudget = 900001;
constexpr std::int64_t kFieldPaymentDate = 900002;
constexpr std::int64_t kFieldSource = 900003;
constexpr std::int64_t kFieldInn = 900004;
constexpr std::int64_t kFieldOfferSum = 900005;
constexpr std::int64_t kFieldCity = 900006;

constexpr std::array<std::string_view, 6> kCompanyForms = {"ООО", "ООО", "АО", "ИП", "ООО", "ПАО"};
constexpr std::array<std::string_view, 40> kCompanyNames = {
    "Вектор",         "Ромашка",     "Техносфера",     "Северный ветер",
    "Гранит",         "Альфа-Строй", "Меридиан",       "Сибирь-Трейд",
    "Прогресс",       "Орион",       "Волга-Логистик", "Звезда",
    "Байкал",         "Кристалл",    "Энергия",        "Стройресурс",
    "Феникс",         "Нева",        "Атлант",         "Горизонт",
    "Импульс",        "Лидер",       "Микрон",         "Олимп",
    "Пульсар",        "Рубин",       "Сапфир",         "Титан",
    "Уралмаш-Сервис", "Форвард",     "Хронос",         "Цифровые решения",
    "Эталон",         "Юнона",       "Янтарь",         "Агроинвест",
    "БелКом",         "Восток",      "Дельта",         "Заря"};
constexpr std::array<std::string_view, 12> kProducts = {
    "поставка оборудования",  "внедрение CRM",
    "годовое обслуживание",   "аренда склада",
    "партия стройматериалов", "разработка сайта",
    "обучение персонала",     "лицензии ПО",
    "монтаж вентиляции",      "аудит бизнес-процессов",
    "грузоперевозки",         "продление договора"};
constexpr std::array<std::string_view, 5> kSources = {"Сайт", "Звонок", "Рекомендация", "Выставка",
                                                      "Реклама"};
constexpr std::array<std::string_view, 8> kCities = {
    "Москва",       "Санкт-Петербург", "Казань", "Новосибирск",
    "Екатеринбург", "Нижний Новгород", "Самара", "Краснодар"};
constexpr std::array<std::string_view, 8> kShortNotes = {"ок", "пз",  "нд", "+",
                                                         "..", "ок.", "жд", "-"};

struct NoteTemplate {
    std::string_view stage;  // "" = any stage
    std::string_view text;
};
constexpr std::array<NoteTemplate, 18> kNotes = {{
    {"Новая заявка", "Клиент оставил заявку на сайте, просит перезвонить после обеда."},
    {"Новая заявка", "Первичный звонок: интересуется ценами и сроками поставки."},
    {"Квалификация",
     "Выяснили потребность: нужен расчёт на 12 рабочих мест, бюджет согласован с директором."},
    {"Квалификация", "ЛПР — коммерческий директор, решение примут до конца месяца."},
    {"КП отправлено", "Отправил коммерческое предложение на почту, клиент подтвердил получение."},
    {"КП отправлено", "КП направлено, договорились созвониться в четверг и обсудить скидку."},
    {"Переговоры", "Обсудили условия оплаты: 50% предоплата, остаток после поставки."},
    {"Переговоры", "Клиент сравнивает с конкурентом, запросил дополнительную скидку 5%."},
    {"Счёт выставлен", "Выставил счёт, бухгалтерия клиента обещает оплатить в течение трёх дней."},
    {"Счёт выставлен", "Счёт отправлен, ждём подписанный договор."},
    {"Оплачено", "Оплата поступила, передаю заказ в отдел логистики."},
    {"Контакт", "Связался с постоянным клиентом, есть интерес к повторному заказу."},
    {"Предложение",
     "Подготовил предложение с учётом прошлого заказа и скидки постоянного клиента."},
    {"Согласование", "Согласуем спецификацию, клиент вносит правки в договор."},
    {"", "Клиент не отвечает на звонки, отправил письмо и сообщение в мессенджер."},
    {"", "Созвонились, клиент подтвердил интерес, следующий шаг — встреча в офисе."},
    {"", "Перенесли встречу на следующую неделю по просьбе клиента."},
    {"", "Уточнил реквизиты компании для договора."},
}};

constexpr std::array<std::string_view, 10> kTaskTexts = {"Позвонить клиенту",
                                                         "Уточнить потребность и бюджет",
                                                         "Отправить коммерческое предложение",
                                                         "Созвониться по КП",
                                                         "Согласовать условия договора",
                                                         "Выставить счёт",
                                                         "Проконтролировать оплату",
                                                         "Назначить встречу",
                                                         "Отправить документы",
                                                         "Напомнить о себе"};

void AddStatus(SimPipeline& pipeline, std::int64_t id, std::string_view name, int sort, int type,
               std::string_view color, bool editable) {
    pipeline.statuses.push_back(SimStatus{.id = id,
                                          .name = std::string(name),
                                          .sort = sort,
                                          .type = type,
                                          .color = std::string(color),
                                          .is_editable = editable});
}

SimPipeline MakePipeline(std::int64_t id, std::string_view name, int sort, bool is_main,
                         std::int64_t first_status, const std::vector<std::string_view>& open) {
    static constexpr std::array<std::string_view, 7> kColors = {
        "#99ccff", "#ffff99", "#ffcc66", "#deff81", "#87f2c0", "#f9deff", "#fffeb2"};
    SimPipeline pipeline{.id = id, .name = std::string(name), .sort = sort, .is_main = is_main};
    AddStatus(pipeline, first_status, "Неразобранное", 10, 1, "#c1c1c1", false);
    int sort_value = 20;
    std::int64_t next_id = first_status + 1;
    for (std::size_t i = 0; i < open.size(); ++i) {
        AddStatus(pipeline, next_id++, open[i], sort_value, 0, kColors[i % kColors.size()], true);
        sort_value += 10;
    }
    AddStatus(pipeline, kWon, "Успешно реализовано", 10000, 0, "#CCFF66", false);
    AddStatus(pipeline, kLost, "Закрыто и не реализовано", 11000, 0, "#D5D8DB", false);
    return pipeline;
}

FieldValue Value(std::string value) { return FieldValue{.value = std::move(value)}; }

bool Has(const SimLead* lead, std::int64_t field_id) {
    return lead != nullptr && lead->Field(field_id) != nullptr;
}

}  // namespace

void BuildCatalog(Model& model) {
    model.pipelines.clear();
    model.pipelines.push_back(MakePipeline(7000001, "Продажи", 1, true, 61000001,
                                           {"Новая заявка", "Квалификация", "КП отправлено",
                                            "Переговоры", "Счёт выставлен", "Оплачено"}));
    model.pipelines.push_back(MakePipeline(7000002, "Повторные продажи", 2, false, 61000101,
                                           {"Контакт", "Предложение", "Согласование"}));
    model.users = {
        {.id = 8000001,
         .name = "Анна Смирнова",
         .email = "a.smirnova@example.ru",
         .is_admin = true},
        {.id = 8000002, .name = "Иван Петров", .email = "i.petrov@example.ru"},
        {.id = 8000003, .name = "Мария Кузнецова", .email = "m.kuznetsova@example.ru"},
        {.id = 8000004, .name = "Дмитрий Соколов", .email = "d.sokolov@example.ru"},
        {.id = 8000005, .name = "Елена Попова", .email = "e.popova@example.ru"},
    };
    SimField source{.id = kFieldSource, .name = "Источник", .type = "select", .sort = 3};
    for (std::size_t i = 0; i < kSources.size(); ++i) {
        source.enums.push_back(SimEnum{.id = 950001 + static_cast<std::int64_t>(i),
                                       .value = std::string(kSources[i]),
                                       .sort = static_cast<int>(i + 1) * 10});
    }
    model.fields = {
        {.id = kFieldBudget, .name = "Бюджет", .type = "numeric", .sort = 1},
        {.id = kFieldPaymentDate, .name = "Дата оплаты", .type = "date", .sort = 2},
        source,
        {.id = kFieldInn, .name = "ИНН", .type = "text", .sort = 4},
        {.id = kFieldOfferSum, .name = "Сумма КП", .type = "numeric", .sort = 5},
        {.id = kFieldCity, .name = "Город", .type = "text", .sort = 6},
    };
}

std::string LeadTitle(Rng& rng) {
    // One draw per statement: the order of a call's arguments is the compiler's (GCC's
    // right-to-left gave the seeds' runs their titles, so the product is drawn first).
    const std::string_view product = rng.Pick(kProducts);
    const std::string_view company = rng.Pick(kCompanyNames);
    const std::string_view form = rng.Pick(kCompanyForms);
    return fmt::format("{} «{}»: {}", form, company, product);
}

std::string MeaningfulNote(Rng& rng, const std::string& stage_name) {
    std::array<std::size_t, kNotes.size()> candidates{};
    std::size_t count = 0;
    for (std::size_t i = 0; i < kNotes.size(); ++i) {
        if (kNotes[i].stage == stage_name || (kNotes[i].stage.empty() && rng.Chance(0.3))) {
            candidates[count++] = i;
        }
    }
    if (count == 0) {
        return std::string(kNotes[kNotes.size() - 1 - rng.Below(4)].text);
    }
    return std::string(kNotes[candidates[rng.Below(count)]].text);
}

std::string ShortNote(Rng& rng) { return std::string(rng.Pick(kShortNotes)); }

std::string TaskText(Rng& rng, const std::string& stage_name) {
    if (stage_name == "Квалификация") {
        return "Уточнить потребность и бюджет";
    }
    if (stage_name == "КП отправлено" || stage_name == "Предложение") {
        return "Созвониться по КП";
    }
    if (stage_name == "Счёт выставлен") {
        return "Проконтролировать оплату";
    }
    return std::string(rng.Pick(kTaskTexts));
}

std::vector<LeadField> FieldsForStage(const Model& model, Rng& rng, const SimPipeline& pipeline,
                                      std::size_t open_index, bool closed_won,
                                      const SimLead* current, Timestamp now) {
    std::vector<LeadField> out;
    const bool main = pipeline.is_main;
    const std::size_t qualify = 1;
    const std::size_t offer = main ? 2 : 1;
    const std::size_t paid = main ? 5 : 99;
    const SimField* source_field = model.Field(kFieldSource);
    if (!Has(current, kFieldSource) && source_field != nullptr && rng.Chance(0.95)) {
        const SimEnum& option = rng.Pick(source_field->enums);
        out.push_back({kFieldSource, {FieldValue{.value = option.value, .enum_id = option.id}}});
    }
    if (!Has(current, kFieldCity) && rng.Chance(0.6)) {
        out.push_back({kFieldCity, {Value(std::string(rng.Pick(kCities)))}});
    }
    if (open_index >= qualify && !Has(current, kFieldBudget) && rng.Chance(0.9)) {
        out.push_back({kFieldBudget, {Value(std::to_string(rng.Between(3, 400) * 5000))}});
    }
    if (open_index >= qualify && !Has(current, kFieldInn) && rng.Chance(0.7)) {
        out.push_back({kFieldInn, {Value(fmt::format("77{:08}", rng.Below(100000000)))}});
    }
    if (open_index >= offer && !Has(current, kFieldOfferSum) && rng.Chance(0.85)) {
        out.push_back({kFieldOfferSum, {Value(std::to_string(rng.Between(3, 400) * 5000))}});
    }
    if ((open_index >= paid || closed_won) && !Has(current, kFieldPaymentDate) && rng.Chance(0.9)) {
        // Dates are midnight UTC of the day, as amoCRM stores date fields.
        const std::int64_t day = ToEpoch(now) / 86400 * 86400;
        out.push_back({kFieldPaymentDate, {Value(std::to_string(day))}});
    }
    return out;
}

void GenerateLeads(Model& model, std::uint64_t seed, int count, Timestamp now) {
    if (count <= 0) {
        return;
    }
    Rng rng(seed * 0x9e3779b97f4a7c15ULL + 17);
    const std::size_t n = static_cast<std::size_t>(count);
    model.Reserve(model.Leads().size() + n, model.Tasks().size() + n * 4,
                  model.Notes().size() + n * 2, model.Events().size() + n * 5);
    std::vector<std::int64_t> managers;
    for (const SimUser& user : model.users) {
        managers.push_back(user.id);
    }
    const std::int64_t now_s = ToEpoch(now);
    std::vector<LeadField> fields;
    for (std::size_t i = 0; i < n; ++i) {
        const SimPipeline& pipeline =
            rng.Chance(0.85) ? model.MainPipeline() : model.pipelines.back();
        const std::vector<std::int64_t> open = pipeline.OpenStages();
        const std::int64_t responsible =
            rng.Chance(0.05) ? managers.front() : managers[1 + rng.Below(managers.size() - 1)];
        // Where the lead ends up: mostly open stages (earlier ones more often), some closed.
        const double roll = rng.Unit();
        bool won = false;
        bool lost = false;
        std::size_t target = 0;
        if (roll < 0.15) {
            won = true;
            target = open.size() - 1;
        } else if (roll < 0.30) {
            lost = true;
            target = rng.Below(open.size());
        } else {
            const std::size_t a = rng.Below(open.size());
            const std::size_t b = rng.Below(open.size());
            target = std::min(a, b);
        }
        const std::int64_t created = now_s - rng.Between(3600, 90LL * 86400);
        const bool from_unsorted = rng.Chance(0.1);
        // The path of stages: created in the first open stage (or unsorted first), then stage by
        // stage; about 5% skip one stage somewhere.
        std::vector<std::int64_t> path;
        if (from_unsorted) {
            path.push_back(pipeline.statuses.front().id);
        }
        const std::size_t skip_at =
            (target >= 2 && rng.Chance(0.05)) ? 1 + rng.Below(target - 1) : open.size();
        for (std::size_t s = 0; s <= target; ++s) {
            if (s == skip_at) {
                continue;
            }
            path.push_back(open[s]);
        }
        if (won) {
            path.push_back(kWon);
        } else if (lost) {
            path.push_back(kLost);
        }
        // Times: the transitions share the lead's lifetime.
        const std::int64_t span = std::max<std::int64_t>(now_s - created - 60, 60);
        const std::int64_t step = span / static_cast<std::int64_t>(path.size() + 1);
        std::vector<std::int64_t> times{created};
        for (std::size_t k = 1; k < path.size(); ++k) {
            const std::int64_t next =
                times.back() + std::max<std::int64_t>(60, step / 2 + rng.Between(0, step));
            times.push_back(std::min(next, std::max(times.back(), now_s - 60)));
        }
        SimLead lead{.name = LeadTitle(rng),
                     .responsible_user_id = responsible,
                     .status_id = path.back(),
                     .pipeline_id = pipeline.id,
                     .created_by = responsible,
                     .updated_by = responsible,
                     .created_at = FromEpoch(created),
                     .updated_at = FromEpoch(std::min(times.back(), now_s))};
        if (won || lost) {
            lead.closed_at = lead.updated_at;
        }
        const std::int64_t lead_id = model.InsertLead(std::move(lead));
        SimLead& stored = *model.Lead(lead_id);
        model.InsertEvent(SimEvent{.type = EventType::kLeadAdded,
                                   .lead_id = lead_id,
                                   .created_by = responsible,
                                   .created_at = FromEpoch(created),
                                   .after_a = path.front(),
                                   .after_b = pipeline.id});
        for (std::size_t k = 1; k < path.size(); ++k) {
            model.InsertEvent(SimEvent{.type = EventType::kLeadStatusChanged,
                                       .lead_id = lead_id,
                                       .created_by = responsible,
                                       .created_at = FromEpoch(times[k]),
                                       .before_a = path[k - 1],
                                       .before_b = pipeline.id,
                                       .after_a = path[k],
                                       .after_b = pipeline.id});
        }
        // Fields as filled along the way, tasks and notes per stage passed.
        for (std::size_t k = 0; k < path.size(); ++k) {
            const std::int64_t status = path[k];
            const auto open_it = std::find(open.begin(), open.end(), status);
            const bool is_open = open_it != open.end();
            const std::size_t open_index =
                is_open ? static_cast<std::size_t>(open_it - open.begin()) : 0;
            const Timestamp entered = FromEpoch(times[k]);
            if (is_open || status == kWon) {
                fields = FieldsForStage(model, rng, pipeline, open_index, status == kWon, &stored,
                                        entered);
                for (LeadField& field : fields) {
                    if (field.field_id == kFieldBudget) {
                        stored.price = std::stoll(field.values.front().value);
                    }
                    stored.fields.push_back(std::move(field));
                }
            }
            if (!is_open) {
                continue;
            }
            const std::string& stage_name = pipeline.Find(status)->name;
            const bool current = k + 1 == path.size();
            if (!current) {
                // A stage passed: its task was done before moving on.
                const std::int64_t due = times[k] + 86400;
                model.InsertTask(SimTask{.lead_id = lead_id,
                                         .responsible_user_id = responsible,
                                         .created_by = responsible,
                                         .updated_by = responsible,
                                         .created_at = entered,
                                         .updated_at = FromEpoch(times[k + 1]),
                                         .complete_till = FromEpoch(due),
                                         .task_type_id = rng.Chance(0.8) ? 1 : 2,
                                         .text = TaskText(rng, stage_name),
                                         .is_completed = true,
                                         .result_text = "Выполнено"});
                if (rng.Chance(0.3)) {
                    // A follow-up done the same stage.
                    model.InsertTask(SimTask{.lead_id = lead_id,
                                             .responsible_user_id = responsible,
                                             .created_by = responsible,
                                             .updated_by = responsible,
                                             .created_at = entered,
                                             .updated_at = FromEpoch(times[k + 1]),
                                             .complete_till = FromEpoch(due + 3600),
                                             .text = "Напомнить о себе",
                                             .is_completed = true});
                }
            } else if (!won && !lost && rng.Chance(0.8)) {
                // The current stage: an open task, sometimes overdue; 20% have none.
                const std::int64_t due = rng.Chance(0.3) ? now_s - rng.Between(3600, 5 * 86400)
                                                         : now_s + rng.Between(3600, 5 * 86400);
                model.InsertTask(SimTask{.lead_id = lead_id,
                                         .responsible_user_id = responsible,
                                         .created_by = responsible,
                                         .updated_by = responsible,
                                         .created_at = entered,
                                         .updated_at = entered,
                                         .complete_till = FromEpoch(std::max(due, times[k] + 600)),
                                         .task_type_id = rng.Chance(0.8) ? 1 : 2,
                                         .text = TaskText(rng, stage_name)});
            }
            if (rng.Chance(0.7)) {
                const Timestamp at = FromEpoch(std::min(times[k] + 300, now_s));
                model.InsertNote(SimNote{
                    .lead_id = lead_id,
                    .note_type = "common",
                    .text = rng.Chance(0.1) ? ShortNote(rng) : MeaningfulNote(rng, stage_name),
                    .created_by = responsible,
                    .updated_by = responsible,
                    .responsible_user_id = responsible,
                    .created_at = at,
                    .updated_at = at});
            }
        }
    }
    model.SortEvents();
}

}  // namespace fg::adapters::amocrm::sim
