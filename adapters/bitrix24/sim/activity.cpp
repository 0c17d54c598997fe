#include "adapters/bitrix24/sim/activity.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "adapters/bitrix24/sim/generator.hpp"

namespace fg::adapters::bitrix24::sim {

namespace {

constexpr std::array kComments = {"Созвонились с клиентом, обсудили объём поставки и сроки",
                                  "Отправили уточнённый расчёт, клиент сравнивает с конкурентами",
                                  "Клиент подтвердил бюджет, ждём реквизиты для договора",
                                  "Провели встречу, согласовали условия оплаты"};
constexpr std::array kPlans = {"Перезвонить клиенту", "Отправить коммерческое предложение",
                               "Согласовать договор", "Уточнить реквизиты"};

// The stages of a deal's pipeline and where the deal is in it.
struct Position {
    std::vector<SimStage> stages{};
    std::size_t index = 0;
    std::size_t open = 0;  // how many in-progress stages lead the list
};

std::optional<Position> Locate(const Simulator& sim, const SimDeal& deal) {
    for (const SimCategory& category : sim.Categories()) {
        if (category.id != deal.category_id) {
            continue;
        }
        Position position{.stages = category.stages};
        for (std::size_t i = 0; i < category.stages.size(); ++i) {
            if (category.stages[i].status_id == deal.stage_id) {
                position.index = i;
            }
            if (category.stages[i].semantics == 'P') {
                position.open = i + 1;
            }
        }
        return position;
    }
    return std::nullopt;
}

// The overdue span of one deadline segment, clipped to [from, until): its start if any.
std::optional<Timestamp> OverdueStart(Timestamp since, std::optional<Timestamp> end,
                                      Timestamp deadline, Timestamp from, Timestamp until) {
    const Timestamp start = std::max(deadline, since);
    const Timestamp stop = end.value_or(Timestamp::max());
    if (start >= stop || start >= until || stop <= from) {
        return std::nullopt;
    }
    return start;
}

}  // namespace

std::vector<OverdueItem> ItemsGoneOverdue(const Simulator& simulator, Timestamp from,
                                          Timestamp until) {
    std::vector<OverdueItem> out;
    for (const SimActivity& todo : simulator.AllActivities()) {
        for (std::size_t i = 0; i < todo.deadlines.size(); ++i) {
            std::optional<Timestamp> end = todo.closed_at;
            if (i + 1 < todo.deadlines.size()) {
                end =
                    end ? std::min(*end, todo.deadlines[i + 1].first) : todo.deadlines[i + 1].first;
            }
            const auto [since, deadline] = todo.deadlines[i];
            if (const auto at = OverdueStart(since, end, deadline, from, until)) {
                out.push_back(OverdueItem{.id = std::to_string(todo.id),
                                          .deal_id = todo.owner_id,
                                          .due = deadline,
                                          .overdue_at = *at,
                                          .closed_at = todo.closed_at});
                break;
            }
        }
    }
    for (const SimTask& task : simulator.AllTasks()) {
        std::int64_t deal_id = 0;
        for (const std::string& binding : task.crm) {
            if (binding.rfind("D_", 0) == 0) {
                deal_id = std::atoll(binding.c_str() + 2);
            }
        }
        for (std::size_t i = 0; i < task.deadlines.size() && deal_id != 0; ++i) {
            std::optional<Timestamp> end = task.closed_at;
            if (i + 1 < task.deadlines.size()) {
                end =
                    end ? std::min(*end, task.deadlines[i + 1].first) : task.deadlines[i + 1].first;
            }
            const auto& [since, deadline] = task.deadlines[i];
            if (!deadline) {
                continue;
            }
            if (const auto at = OverdueStart(since, end, *deadline, from, until)) {
                out.push_back(OverdueItem{.id = fmt::format("T{}", task.id),
                                          .deal_id = deal_id,
                                          .due = *deadline,
                                          .overdue_at = *at,
                                          .closed_at = task.closed_at});
                break;
            }
        }
    }
    std::sort(out.begin(), out.end(), [](const OverdueItem& a, const OverdueItem& b) {
        return std::tie(a.overdue_at, a.id) < std::tie(b.overdue_at, b.id);
    });
    return out;
}

Activity::Activity(Simulator& simulator, ActivityOptions options)
    : sim_(simulator), options_(options), rng_(options.seed ^ 0xac71u) {}

Activity::~Activity() { Stop(); }

void Activity::Start() {
    std::lock_guard lock(thread_mutex_);
    if (thread_.joinable()) {
        return;
    }
    stopping_ = false;
    thread_ = std::thread([this] {
        std::unique_lock lock(thread_mutex_);
        while (!stopping_) {
            lock.unlock();
            (void)Step();
            lock.lock();
            wake_.wait_for(lock, options_.poll, [this] { return stopping_; });
        }
    });
}

void Activity::Stop() {
    {
        std::lock_guard lock(thread_mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

Duration Activity::NextInterval() {
    const auto mean = options_.mean_interval.count();
    return Duration{std::max<std::int64_t>(1, rng_.Between(mean / 2, mean + mean / 2))};
}

void Activity::Init(Timestamp now) {
    for (const SimUser& user : sim_.Users()) {
        if (!user.admin && static_cast<int>(managers_.size()) < options_.managers) {
            managers_.push_back(Manager{.user_id = user.id, .next_at = now + NextInterval()});
        }
    }
    initialized_ = true;
}

int Activity::Step() {
    std::lock_guard lock(mutex_);
    const Timestamp now = sim_.clock().Now();
    if (!initialized_) {
        Init(now);
        return 0;
    }
    int ran = 0;
    for (Manager& manager : managers_) {
        while (manager.next_at <= now) {
            Act(manager, manager.next_at);
            manager.next_at += NextInterval();
            ++ran;
        }
    }
    return ran;
}

std::optional<Timestamp> Activity::NextActionAt() const {
    std::lock_guard lock(mutex_);
    if (!initialized_ || managers_.empty()) {
        return std::nullopt;
    }
    Timestamp next = managers_.front().next_at;
    for (const Manager& manager : managers_) {
        next = std::min(next, manager.next_at);
    }
    return next;
}

ActivityStats Activity::Stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void Activity::Act(Manager& manager, Timestamp now) {
    ++stats_.actions;
    if (rng_.Chance(options_.other_event)) {
        sim_.RaiseOtherEvent(rng_.Chance(0.5) ? "ONCRMLEADADD" : "ONCRMCONTACTUPDATE");
        ++stats_.other_events;
    }
    const std::vector<std::int64_t> hand =
        sim_.OpenDealIds(manager.user_id, static_cast<std::size_t>(options_.working_set));
    if (hand.empty() ||
        (static_cast<int>(hand.size()) < options_.working_set && rng_.Chance(options_.new_deal))) {
        DealDraft draft{.title = fmt::format("Новая заявка {}", stats_.deals_created + 1),
                        .assigned_by = manager.user_id,
                        .opportunity = static_cast<double>(rng_.Between(5, 300) * 10'000)};
        if (auto id = sim_.CreateDeal(draft, manager.user_id)) {
            ++stats_.deals_created;
            (void)sim_.AddTodo(*id, "Связаться с клиентом", now + Duration{4 * 3600},
                               manager.user_id);
            ++stats_.todos_added;
        }
        return;
    }
    Work(manager, rng_.Pick(hand), now);
}

void Activity::Work(Manager& manager, std::int64_t deal_id, Timestamp now) {
    const std::optional<SimDeal> deal = sim_.GetDeal(deal_id);
    if (!deal) {
        return;
    }
    const std::optional<Position> position = Locate(sim_, *deal);
    if (!position) {
        return;
    }
    if (rng_.Chance(options_.let_overdue)) {
        ++stats_.put_off;
        return;  // nothing done today: the open to-dos wait for a later visit
    }
    for (const SimActivity& todo : sim_.DealActivities(deal_id)) {
        if (!todo.completed && sim_.CompleteTodo(todo.id)) {
            ++stats_.completed;
        }
    }
    for (const SimTask& task : sim_.DealTasks(deal_id)) {
        if (task.status != 5 && sim_.CompleteTask(task.id)) {
            ++stats_.completed;
        }
    }
    const bool short_comment = rng_.Chance(options_.short_comment);
    if (sim_.AddComment(deal_id, short_comment ? "ок" : rng_.Pick(kComments), manager.user_id)) {
        ++(short_comment ? stats_.short_comments : stats_.comments);
    }
    if (deal->category_id == 0 && rng_.Chance(options_.other_pipeline)) {
        if (sim_.MoveDealToCategory(deal_id, 1, "", manager.user_id)) {
            ++stats_.pipeline_moves;
        }
        return;
    }
    std::string target;
    if (rng_.Chance(options_.lose)) {
        target = position->stages[position->open].status_id;  // the first stage after success
        for (const SimStage& stage : position->stages) {
            if (stage.semantics == 'F') {
                target = stage.status_id;
                break;
            }
        }
        ++stats_.lost;
    } else {
        std::size_t next = position->index + 1;
        if (rng_.Chance(options_.skip_stage) && next + 1 < position->open) {
            ++next;
            ++stats_.skips;
        }
        target = position->stages[std::min(next, position->stages.size() - 1)].status_id;
        if (next >= position->open) {
            ++stats_.won;
        }
    }
    // The card as a careful manager fills it before moving on.
    std::map<std::string, std::string> fields{{"STAGE_ID", target}};
    if (deal->fields.count(kFieldBudget) != 0 && deal->fields.at(kFieldBudget).empty()) {
        fields[kFieldBudget] = std::to_string(rng_.Between(5, 300) * 10'000);
    }
    if (deal->fields.count(kFieldSource) != 0 && deal->fields.at(kFieldSource).empty()) {
        fields[kFieldSource] = "Сайт";
    }
    if (deal->fields.count(kFieldOfferSum) != 0 && deal->fields.at(kFieldOfferSum).empty() &&
        position->index >= 1) {
        fields[kFieldOfferSum] = std::to_string(rng_.Between(5, 300) * 10'000);
    }
    if (!sim_.UpdateDeal(deal_id, fields, manager.user_id)) {
        return;
    }
    ++stats_.moves;
    const std::optional<SimDeal> moved = sim_.GetDeal(deal_id);
    if (!moved || !Locate(sim_, *moved) ||
        Locate(sim_, *moved)->stages[Locate(sim_, *moved)->index].semantics != 'P') {
        return;
    }
    if (rng_.Chance(options_.forget_task)) {
        ++stats_.forgotten;
        return;
    }
    const Timestamp due = now + Duration{rng_.Between(2 * 3600, 3 * 86400)};
    if (rng_.Chance(options_.as_task)) {
        if (sim_.AddTask(deal_id, rng_.Pick(kPlans), due, manager.user_id)) {
            ++stats_.tasks_added;
        }
    } else if (sim_.AddTodo(deal_id, rng_.Pick(kPlans), due, manager.user_id)) {
        ++stats_.todos_added;
    }
}

}  // namespace fg::adapters::bitrix24::sim
