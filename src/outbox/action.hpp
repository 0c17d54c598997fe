#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/common/time.hpp"
#include "src/domain/model.hpp"

namespace fg::outbox {

using domain::ActionKind;
using domain::kCrmChannel;

/// The violation an action is about, as a receiver may show it or look for its write.
struct ViolationRef {
    std::int64_t id = 0;
    std::string rule{};
    Timestamp opened_at{};
    nlohmann::json details = nlohmann::json::object();  // the rule's findings, as stored
    std::string message{};
};

/// A note in the deal: the action's text.
struct NoteBody {};
/// A task for `responsible`, due at `due`, whose text is the action's text.
struct TaskBody {
    std::string responsible{};
    Timestamp due{};
};
/// The deal moved back from `from` to `to` in `pipeline`; the action's text says why.
struct RevertBody {
    std::string pipeline{};
    std::string from{};
    std::string to{};
};
/// A chat message to the person the CRM knows as `to` (a CRM user id).
struct MessageBody {
    std::string to{};
};

/// One violation as a morning summary lists it.
struct SummaryItem {
    std::int64_t violation_id = 0;
    std::string deal{};
    std::string deal_title{};
    std::string rule{};
    std::string responsible{};  // the manager (CRM user id)
    Timestamp opened_at{};
    std::string message{};
    std::string reason{};  // what the rule found, in the tenant's language (may be empty)
};
/// The morning summary for the person the CRM knows as `to`: a manager's open violations
/// (`open`), and for a head also their team's violations opened in the last day (`fresh`); the
/// chat core counts them by manager and rule.
struct SummaryBody {
    std::string to{};
    std::string day{};  // the tenant's local date, YYYY-MM-DD
    std::vector<SummaryItem> open{};
    std::vector<SummaryItem> fresh{};
};

/// One planned action, as the engine plans it and every receiver reads it: one value, one codec
/// (action_codec.hpp), whatever the channel.
struct ActionBody {
    ActionKind kind = ActionKind::kNote;
    std::string tenant{};
    std::string deal{};  // the deal's id as the mirror knows it
    std::string deal_title{};
    std::string responsible{};      // the deal's responsible user
    std::string idempotency_key{};  // empty until the violation is stored
    ViolationRef violation{};
    std::string text{};  // what is written: the note, the task's text, the message
    /// Which of them follows kind: NoteBody for note, TaskBody for task, RevertBody for revert,
    /// MessageBody for notify and escalate, SummaryBody for summary.
    std::variant<NoteBody, TaskBody, RevertBody, MessageBody, SummaryBody> detail{};

    const TaskBody* task() const { return std::get_if<TaskBody>(&detail); }
    const RevertBody* revert() const { return std::get_if<RevertBody>(&detail); }
    const MessageBody* message() const { return std::get_if<MessageBody>(&detail); }
    const SummaryBody* summary() const { return std::get_if<SummaryBody>(&detail); }
};

/// One action handed to a sink for delivery.
struct Action {
    std::string channel{kCrmChannel};
    ActionBody body{};
    int attempt = 1;  // 1 for the first try
    /// The previous attempt was refused before the receiver did anything (e.g. 429), so there is
    /// nothing to check before sending again. False after an ambiguous failure or a crash.
    bool previous_not_sent = false;

    ActionKind kind() const { return body.kind; }
    const std::string& tenant() const { return body.tenant; }
    const std::string& idempotency_key() const { return body.idempotency_key; }
};

enum class DeliveryStatus {
    kDelivered,  // acknowledged by the receiver: never sent again
    kRetry,      // 429, 408, 5xx, timeout, connection failure: try again later
    kRejected,   // any other answer: retrying will not help; the item goes dead
};

struct DeliveryResult {
    DeliveryStatus status = DeliveryStatus::kRetry;
    std::optional<Duration> retry_after{};  // what the receiver asked for (Retry-After)
    std::string error{};                    // for logs and the outbox row; never holds secrets
    /// kRetry only: the receiver refused it unprocessed (429), so it certainly did not land.
    bool not_sent = false;
};

/// Where a tenant's actions of one channel go. Implementations are thread-compatible: one per
/// worker.
class ActionSink {
public:
    virtual ~ActionSink() = default;
    virtual DeliveryResult Deliver(const Action& action) = 0;

    /// How many actions of one kind the receiver takes in one call (amoCRM: 50 tasks).
    virtual std::size_t MaxBatch(ActionKind kind) const {
        (void)kind;
        return 1;
    }
    /// Delivers actions of one kind and tenant together; one result per action, in order.
    virtual std::vector<DeliveryResult> DeliverBatch(const std::vector<Action>& actions) {
        std::vector<DeliveryResult> results;
        results.reserve(actions.size());
        for (const Action& action : actions) {
            results.push_back(Deliver(action));
        }
        return results;
    }
};

/// A sink and the pace its receiver takes: the engine calls it through a limiter of this many
/// calls per second (a CRM connector's sink paces itself and needs none).
struct PacedSink {
    /// What a receiver that states no pace gets (DESIGN.md §4: `[tenant.generic] rps`).
    static constexpr double kDefaultCallsPerSecond = 5;

    PacedSink() = default;
    PacedSink(std::nullptr_t) {}  // NOLINT: no sink
    template <class Sink>
    PacedSink(std::unique_ptr<Sink> sink_in,  // NOLINT: any sink converts
              double calls_per_second_in = kDefaultCallsPerSecond)
        : sink(std::move(sink_in)), calls_per_second(calls_per_second_in) {}

    std::unique_ptr<ActionSink> sink{};
    double calls_per_second = kDefaultCallsPerSecond;
};

}  // namespace fg::outbox
