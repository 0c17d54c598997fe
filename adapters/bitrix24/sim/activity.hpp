#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/bitrix24/sim/simulator.hpp"
#include "src/common/rng.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::bitrix24::sim {

/// How the simulated managers behave; probabilities are per visit of a deal.
struct ActivityOptions {
    std::uint64_t seed = 1;
    int managers = 4;                    // the first N non-admin users act
    Duration mean_interval{180};         // simulated time between two actions of one manager
    int working_set = 10;                // open deals each manager keeps in hand
    double new_deal = 0.15;              // create a deal (when the hand is not full)
    double skip_stage = 0.07;            // move two stages ahead instead of one
    double forget_task = 0.10;           // move on without planning the next to-do
    double let_overdue = 0.15;           // leave the deal's open to-dos for a later visit
    double short_comment = 0.10;         // a two-letter comment instead of a meaningful one
    double lose = 0.08;                  // close the deal as lost
    double as_task = 0.3;                // plan with tasks.task instead of a CRM to-do
    double other_pipeline = 0.02;        // move the deal to the other pipeline
    double other_event = 0.05;           // touch a lead or a contact (events the rules ignore)
    std::chrono::milliseconds poll{20};  // real time between clock checks of the thread
};

struct ActivityStats {
    std::uint64_t actions = 0;
    std::uint64_t deals_created = 0;
    std::uint64_t moves = 0;
    std::uint64_t skips = 0;
    std::uint64_t won = 0;
    std::uint64_t lost = 0;
    std::uint64_t pipeline_moves = 0;
    std::uint64_t todos_added = 0;
    std::uint64_t tasks_added = 0;
    std::uint64_t completed = 0;
    std::uint64_t forgotten = 0;  // moved on without planning the next step
    std::uint64_t put_off = 0;    // visits that left the open to-dos for later
    std::uint64_t comments = 0;
    std::uint64_t short_comments = 0;
    std::uint64_t other_events = 0;
};

/// A to-do or task whose deadline passed while it was open. `id` is the activity's id for a
/// to-do and "T<id>" for a task.
struct OverdueItem {
    std::string id{};
    std::int64_t deal_id = 0;
    Timestamp due{};
    Timestamp overdue_at{};                // the deadline, or the creation when already past it
    std::optional<Timestamp> closed_at{};  // completed or deleted afterwards
};

/// The to-dos and tasks overdue at some time in [from, until), from their deadline histories.
std::vector<OverdueItem> ItemsGoneOverdue(const Simulator& simulator, Timestamp from,
                                          Timestamp until);

/// Simulated managers working the portal on its clock through the Simulator's manager
/// operations (so every change raises its events): they create deals, move them stage by stage,
/// plan a to-do or task before moving on, complete them and comment, and sometimes (seeded) skip
/// a stage, forget the next step, let a to-do go overdue, leave a two-letter comment, move a
/// deal to the other pipeline or touch a lead or contact. Deterministic for a seed and a clock
/// progression. Step() by hand or from the thread Start() runs; both are serialized.
class Activity {
public:
    Activity(Simulator& simulator, ActivityOptions options = {});
    ~Activity();
    Activity(const Activity&) = delete;
    Activity& operator=(const Activity&) = delete;

    void Start();
    void Stop();
    /// Runs every action due at the simulator's clock; returns how many ran.
    int Step();
    /// The next action's time; nullopt before the first Step.
    std::optional<Timestamp> NextActionAt() const;
    ActivityStats Stats() const;

private:
    struct Manager {
        std::int64_t user_id = 0;
        Timestamp next_at{};
    };
    void Init(Timestamp now);
    void Act(Manager& manager, Timestamp now);
    void Work(Manager& manager, std::int64_t deal_id, Timestamp now);
    Duration NextInterval();

    Simulator& sim_;
    ActivityOptions options_;
    mutable std::mutex mutex_;
    Rng rng_;
    bool initialized_ = false;
    std::vector<Manager> managers_{};
    ActivityStats stats_{};

    std::mutex thread_mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_{};
};

}  // namespace fg::adapters::bitrix24::sim
