#pragma once

#include <optional>
#include <string>

#include "src/common/time.hpp"

namespace fg::outbox {

/// One planned write-back or chat message, as an action sink sees it.
struct Action {
    std::string tenant{};
    std::string kind{};             // note | task | revert | notify | escalate
    std::string idempotency_key{};  // the receiver may use it to drop repeats
    std::string payload{};          // the JSON document to deliver
    int attempt = 1;                // 1 for the first try
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
};

/// Where a tenant's actions go. Implementations are thread-compatible: one per worker.
class ActionSink {
public:
    virtual ~ActionSink() = default;
    virtual DeliveryResult Deliver(const Action& action) = 0;
};

}  // namespace fg::outbox
