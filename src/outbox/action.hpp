#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/common/time.hpp"

namespace fg::outbox {

/// One planned write-back or chat message, as an action sink sees it.
struct Action {
    std::string tenant{};
    std::string kind{};             // note | task | revert | notify | escalate
    std::string idempotency_key{};  // the receiver may use it to drop repeats
    std::string payload{};          // the JSON document to deliver
    int attempt = 1;                // 1 for the first try
    /// The previous attempt was refused before the receiver did anything (e.g. 429), so there is
    /// nothing to check before sending again. False after an ambiguous failure or a crash.
    bool previous_not_sent = false;
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

/// Where a tenant's actions go. Implementations are thread-compatible: one per worker.
class ActionSink {
public:
    virtual ~ActionSink() = default;
    virtual DeliveryResult Deliver(const Action& action) = 0;

    /// How many actions of one kind the receiver takes in one call (amoCRM: 50 tasks).
    virtual std::size_t MaxBatch(const std::string& kind) const {
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
