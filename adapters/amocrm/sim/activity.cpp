#include "adapters/amocrm/sim/activity.hpp"

#include <algorithm>
#include <map>

#include "adapters/amocrm/sim/generator.hpp"

namespace fg::adapters::amocrm::sim {
namespace {

constexpr int kMaxActionsPerStep = 10'000;

// A deadline of a task and when it was set (the task's creation for the first one).
struct Deadline {
    Timestamp set_at{};
    Timestamp due{};
};

}  // namespace

std::vector<OverdueTask> TasksGoneOverdue(const Simulator& simulator, Timestamp from,
                                          Timestamp until) {
    std::vector<OverdueTask> out;
    std::map<std::int64_t, std::vector<SimEvent>> events_of;  // by lead, read when needed
    const auto count = static_cast<std::int64_t>(simulator.TaskCount());
    for (std::int64_t id = Model::kTaskBase + 1; id <= Model::kTaskBase + count; ++id) {
        const std::optional<SimTask> task = simulator.GetTask(id);
        if (!task || task->created_at >= until) {
            continue;
        }
        const bool closed_now = task->is_completed || task->is_deleted;
        std::vector<Deadline> deadlines;
        std::optional<Timestamp> closed;
        // A task last changed before `from` was in its final state all through [from, until):
        // its history is not needed (the generated history has no task events anyway).
        if (task->updated_at > task->created_at && task->updated_at >= from) {
            auto [events, fresh] = events_of.try_emplace(task->lead_id);
            if (fresh) {
                events->second = simulator.LeadEvents(task->lead_id);
            }
            for (const SimEvent& event : events->second) {
                if (event.type == EventType::kTaskDeadlineChanged && event.after_b == id) {
                    if (deadlines.empty()) {
                        deadlines.push_back({task->created_at, FromEpoch(event.before_a)});
                    }
                    deadlines.push_back({event.created_at, FromEpoch(event.after_a)});
                } else if ((event.type == EventType::kTaskCompleted && event.after_a == id) ||
                           (event.type == EventType::kTaskDeleted && event.before_a == id)) {
                    closed = event.created_at;  // the last closing stands
                }
            }
        }
        if (deadlines.empty()) {
            deadlines.push_back({task->created_at, task->complete_till});
        }
        if (!closed_now) {
            closed.reset();
        } else if (!closed) {
            closed = task->updated_at;
        }
        const Timestamp open_until = closed.value_or(Timestamp::max());
        // The first span in which the task was open past the deadline then in force and which
        // reaches into [from, until).
        for (std::size_t k = 0; k < deadlines.size(); ++k) {
            const Timestamp next =
                k + 1 < deadlines.size() ? deadlines[k + 1].set_at : Timestamp::max();
            const Timestamp became = std::max(deadlines[k].due, deadlines[k].set_at);
            const Timestamp ended = std::min(next, open_until);
            if (became < ended && ended > from && became < until) {
                out.push_back(OverdueTask{.task_id = id,
                                          .lead_id = task->lead_id,
                                          .responsible_user_id = task->responsible_user_id,
                                          .due = deadlines[k].due,
                                          .overdue_at = became,
                                          .closed_at = closed,
                                          .deleted = task->is_deleted});
                break;
            }
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const OverdueTask& a, const OverdueTask& b) {
        return a.overdue_at < b.overdue_at;
    });
    return out;
}

Activity::Activity(Simulator& simulator, ActivityOptions options)
    : sim_(simulator), options_(options), rng_(options.seed * 0x2545f4914f6cdd1dULL + 7) {}

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
            Step();
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

ActivityStats Activity::Stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

std::optional<Timestamp> Activity::NextActionAt() const {
    std::lock_guard lock(mutex_);
    std::optional<Timestamp> next;
    for (const Manager& manager : managers_) {
        if (!next || manager.next_at < *next) {
            next = manager.next_at;
        }
    }
    return next;
}

Duration Activity::NextInterval() {
    const auto mean = std::max<std::int64_t>(options_.mean_interval.count(), 1);
    return Duration{std::max<std::int64_t>(1, rng_.Between(mean / 2, mean + mean / 2))};
}

void Activity::Init(Timestamp now) {
    initialized_ = true;
    std::vector<SimUser> users = sim_.Users();
    for (const SimUser& user : users) {
        if (user.is_admin || static_cast<int>(managers_.size()) >= options_.managers) {
            continue;
        }
        Manager manager{.user_id = user.id};
        manager.next_at = now + Duration{rng_.Between(
                                    1, std::max<std::int64_t>(options_.mean_interval.count(), 1))};
        manager.leads =
            sim_.OpenLeadIds(user.id, static_cast<std::size_t>(std::max(options_.working_set, 0)));
        managers_.push_back(std::move(manager));
    }
}

int Activity::Step() {
    std::lock_guard lock(mutex_);
    const Timestamp now = sim_.clock().Now();
    if (!initialized_) {
        Init(now);
    }
    int done = 0;
    while (done < kMaxActionsPerStep && !managers_.empty()) {
        // The manager whose action is due first (ties: the lower index), for determinism.
        auto next = std::min_element(
            managers_.begin(), managers_.end(),
            [](const Manager& a, const Manager& b) { return a.next_at < b.next_at; });
        if (next->next_at > now) {
            break;
        }
        Act(*next, now);
        ++done;
        next->next_at += NextInterval();
        if (next->next_at < now - options_.mean_interval * 10) {
            next->next_at = now + NextInterval();  // the clock jumped far: do not replay hours
        }
    }
    return done;
}

void Activity::Act(Manager& manager, Timestamp now) {
    ++stats_.actions;
    const bool room = static_cast<int>(manager.leads.size()) < options_.working_set;
    if (manager.leads.empty() || (room && rng_.Chance(options_.new_lead))) {
        CreateLead(manager, now);
        return;
    }
    manager.cursor = manager.cursor % manager.leads.size();
    const std::int64_t lead_id = manager.leads[manager.cursor];
    ++manager.cursor;
    WorkLead(manager, lead_id, now);
}

void Activity::CreateLead(Manager& manager, Timestamp now) {
    const std::vector<SimPipeline> pipelines = sim_.Pipelines();
    if (pipelines.empty()) {
        return;
    }
    const SimPipeline& pipeline = rng_.Chance(0.85) ? pipelines.front() : pipelines.back();
    const std::vector<std::int64_t> open = pipeline.OpenStages();
    if (open.empty()) {
        return;
    }
    std::vector<LeadField> fields;
    {
        // Fields a manager knows at the first contact (source, city); the model is read-only here.
        Model catalog;
        catalog.fields = sim_.Fields();
        fields = FieldsForStage(catalog, rng_, pipeline, 0, false, nullptr, now);
    }
    const auto created = sim_.CreateLead(LeadDraft{.name = LeadTitle(rng_),
                                                   .pipeline_id = pipeline.id,
                                                   .status_id = open.front(),
                                                   .responsible_user_id = manager.user_id,
                                                   .fields = std::move(fields)},
                                         manager.user_id);
    if (!created) {
        return;
    }
    ++stats_.leads_created;
    manager.leads.push_back(*created);
    const std::string& stage = pipeline.Find(open.front())->name;
    Note(manager, *created, stage);
    PlanTask(manager, *created, stage, now);
}

void Activity::Note(Manager& manager, std::int64_t lead_id, const std::string& stage_name) {
    const bool lazy = rng_.Chance(options_.short_note);
    const std::string text = lazy ? ShortNote(rng_) : MeaningfulNote(rng_, stage_name);
    if (sim_.AddNote(lead_id, text, manager.user_id)) {
        ++stats_.notes;
        stats_.short_notes += lazy ? 1 : 0;
    }
}

void Activity::PlanTask(Manager& manager, std::int64_t lead_id, const std::string& stage_name,
                        Timestamp now) {
    if (rng_.Chance(options_.forget_task)) {
        ++stats_.tasks_forgotten;
        return;
    }
    const Timestamp due = now + Duration{rng_.Between(2 * 3600, 2 * 86400)};
    // One draw per statement, in the order GCC's right-to-left arguments gave the seeds' runs
    // (see LeadTitle): the task type, then its text.
    const int task_type = rng_.Chance(0.8) ? 1 : 2;
    const std::string text = TaskText(rng_, stage_name);
    if (sim_.AddTask(lead_id, text, due, manager.user_id, manager.user_id, task_type)) {
        ++stats_.tasks_added;
    }
}

void Activity::WorkLead(Manager& manager, std::int64_t lead_id, Timestamp now) {
    const std::optional<SimLead> lead = sim_.GetLead(lead_id);
    auto drop = [&] {
        manager.leads.erase(std::remove(manager.leads.begin(), manager.leads.end(), lead_id),
                            manager.leads.end());
    };
    if (!lead || lead->is_deleted || lead->status_id == kWon || lead->status_id == kLost) {
        drop();
        return;
    }
    const std::vector<SimPipeline> pipelines = sim_.Pipelines();
    const auto pipeline_it =
        std::find_if(pipelines.begin(), pipelines.end(),
                     [&](const SimPipeline& p) { return p.id == lead->pipeline_id; });
    if (pipeline_it == pipelines.end()) {
        drop();
        return;
    }
    const SimPipeline& pipeline = *pipeline_it;
    const std::vector<std::int64_t> open = pipeline.OpenStages();
    const auto stage_it = std::find(open.begin(), open.end(), lead->status_id);
    // A lead in "Неразобранное" is taken into the first open stage.
    const std::size_t index =
        stage_it == open.end() ? 0 : static_cast<std::size_t>(stage_it - open.begin());
    const std::string& stage_name = pipeline.Find(open[index])->name;

    std::vector<SimTask> open_tasks;
    for (SimTask& task : sim_.LeadTasks(lead_id)) {
        if (!task.is_completed) {
            open_tasks.push_back(std::move(task));
        }
    }
    if (open_tasks.empty()) {
        // Nothing planned (a forgotten task): plan the next step now, move on later.
        PlanTask(manager, lead_id, stage_name, now);
        return;
    }
    if (rng_.Chance(options_.let_overdue)) {
        ++stats_.tasks_put_off;  // open until a later visit; overdue only if that is past the
                                 // deadline
        return;
    }
    for (const SimTask& task : open_tasks) {
        if (sim_.CompleteTask(task.id, "Связался с клиентом", manager.user_id)) {
            ++stats_.tasks_completed;
        }
    }
    if (rng_.Chance(options_.lose)) {
        if (sim_.MoveLead(lead_id, kLost, pipeline.id, manager.user_id)) {
            ++stats_.lost;
            if (sim_.AddNote(lead_id, "Клиент выбрал другого поставщика, сделка закрыта.",
                             manager.user_id)) {
                ++stats_.notes;
            }
        }
        drop();
        return;
    }
    const bool in_intake = stage_it == open.end();
    std::size_t target = in_intake ? 0 : index + 1;
    if (!in_intake && rng_.Chance(options_.skip_stage) && index + 2 < open.size()) {
        target = index + 2;
        ++stats_.skips;
    }
    const bool won = target >= open.size();
    const std::int64_t status = won ? kWon : open[target];
    // Fill the card as the next stage needs, then move.
    LeadPatch patch{.status_id = status, .pipeline_id = pipeline.id};
    {
        Model catalog;
        catalog.fields = sim_.Fields();
        patch.fields = FieldsForStage(catalog, rng_, pipeline, won ? open.size() - 1 : target, won,
                                      &*lead, now);
        for (const LeadField& field : patch.fields) {
            const SimField* known = catalog.Field(field.field_id);
            if (known != nullptr && known->name == "Бюджет" && !field.values.empty()) {
                patch.price = std::stoll(field.values.front().value);
            }
        }
    }
    Note(manager, lead_id, stage_name);  // what happened in the stage being left
    if (!sim_.UpdateLead(lead_id, patch, manager.user_id)) {
        return;
    }
    ++stats_.moves;
    if (won) {
        ++stats_.won;
        drop();
        return;
    }
    PlanTask(manager, lead_id, pipeline.Find(status)->name, now);
}

}  // namespace fg::adapters::amocrm::sim
