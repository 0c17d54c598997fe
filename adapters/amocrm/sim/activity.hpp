#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "adapters/amocrm/sim/simulator.hpp"
#include "src/common/rng.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::amocrm::sim {

/// How the simulated sales managers behave. Probabilities are per action.
struct ActivityOptions {
    std::uint64_t seed = 1;
    int managers = 4;                    // the first N non-admin users act
    Duration mean_interval{180};         // simulated time between two actions of one manager
    int working_set = 12;                // open leads each manager keeps in hand
    double new_lead = 0.15;              // create a lead (when the hand is not full)
    double skip_stage = 0.07;            // move two stages ahead instead of one
    double forget_task = 0.10;           // move on without planning the next task
    double let_overdue = 0.15;           // put a lead's open tasks off to a later visit
    double short_note = 0.10;            // a two-letter note instead of a meaningful one
    double lose = 0.08;                  // close the lead as lost
    std::chrono::milliseconds poll{20};  // real time between clock checks of the thread
};

struct ActivityStats {
    std::uint64_t actions = 0;
    std::uint64_t leads_created = 0;
    std::uint64_t moves = 0;
    std::uint64_t skips = 0;
    std::uint64_t won = 0;
    std::uint64_t lost = 0;
    std::uint64_t tasks_added = 0;
    std::uint64_t tasks_completed = 0;
    std::uint64_t tasks_forgotten = 0;
    // Visits where the manager put the lead's open tasks off. Not tasks gone overdue: most of those
    // deadlines are still ahead and the task is done on a later visit (TasksGoneOverdue counts
    // what happened).
    std::uint64_t tasks_put_off = 0;
    std::uint64_t notes = 0;
    std::uint64_t short_notes = 0;
};

/// A task whose deadline passed while it was still open.
struct OverdueTask {
    std::int64_t task_id = 0;
    std::int64_t lead_id = 0;
    std::int64_t responsible_user_id = 0;
    Timestamp due{};                       // the deadline that passed (as it stood then)
    Timestamp overdue_at{};                // when it became overdue: the deadline, or the
                                           // creation of a task already past its deadline
    std::optional<Timestamp> closed_at{};  // completed or deleted after that; nullopt: still open
    bool deleted = false;
};

/// The account's tasks that were overdue at some time in [from, until): their deadline passed in
/// that span while they were open, or passed earlier and they were still open at `from`. Worked
/// out from the account's state and event log (due times as rescheduled, completions, deletions),
/// so it counts what happened, whoever created, completed or forgot the task. Ordered by
/// overdue_at, then task id.
std::vector<OverdueTask> TasksGoneOverdue(const Simulator& simulator, Timestamp from,
                                          Timestamp until);

/// Simulated managers working the simulator's account on its clock: they create leads, move
/// them stage by stage, plan a task before moving on, complete tasks and write meaningful Russian
/// notes, and sometimes (seeded) skip a stage, forget the task, let one go overdue or leave a
/// two-letter note. Every action goes through the Simulator's manager operations, so it is in
/// the event log and sent as webhooks. Deterministic for a seed and a clock progression.
///
/// Step() may be called by hand (tests) or by the thread Start() runs; both are serialized.
/// The simulator must outlive the activity; Stop() (and the destructor) joins the thread.
class Activity {
public:
    explicit Activity(Simulator& simulator, ActivityOptions options = {});
    ~Activity();
    Activity(const Activity&) = delete;
    Activity& operator=(const Activity&) = delete;

    void Start();
    void Stop();
    /// Runs every action due at the simulator's clock; returns how many ran.
    int Step();
    /// When the next action is due (the earliest of the managers'); nullopt before the first
    /// Step, which picks the managers and their first times. Lets a caller step a manual clock
    /// from action to action.
    std::optional<Timestamp> NextActionAt() const;
    ActivityStats Stats() const;

private:
    struct Manager {
        std::int64_t user_id = 0;
        Timestamp next_at{};
        std::vector<std::int64_t> leads{};
        std::size_t cursor = 0;
    };

    void Init(Timestamp now);
    void Act(Manager& manager, Timestamp now);
    void CreateLead(Manager& manager, Timestamp now);
    void WorkLead(Manager& manager, std::int64_t lead_id, Timestamp now);
    void Note(Manager& manager, std::int64_t lead_id, const std::string& stage_name);
    void PlanTask(Manager& manager, std::int64_t lead_id, const std::string& stage_name,
                  Timestamp now);
    Duration NextInterval();

    Simulator& sim_;
    ActivityOptions options_;
    mutable std::mutex mutex_;  // serializes Step and guards the state below
    Rng rng_;
    bool initialized_ = false;
    std::vector<Manager> managers_{};
    ActivityStats stats_{};

    std::mutex thread_mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_{};
};

}  // namespace fg::adapters::amocrm::sim
