#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/common/time.hpp"
#include "src/storage/database.hpp"

/// The outbox: write-backs and messages to send, at least once, each under its idempotency key.
/// Throws SQLite::Exception on database errors; the caller owns the transaction.
namespace fg::storage {

/// kCancelled: not to be sent any more (its violation was acknowledged, or resolved before its
/// message went out); last_error says why.
enum class OutboxStatus { kPending, kDone, kDead, kCancelled };

struct OutboxItem {
    std::int64_t id = 0;
    std::string tenant{};
    std::string kind{};             // note | task | revert | notify | escalate
    std::string channel{"crm"};     // the CRM, or a chat notifier's name
    std::string idempotency_key{};  // unique; a second enqueue with it is a no-op
    std::string payload{};          // the action as outbox::EncodeAction wrote it
    std::optional<std::int64_t> violation_id{};
    OutboxStatus status = OutboxStatus::kPending;
    int attempts = 0;
    Timestamp next_attempt_at{};
    Timestamp created_at{};
    std::string last_error{};
};

/// Returns true when enqueued, false when the key existed. The item starts pending with no
/// attempts (its status, attempts and last_error are not read).
bool EnqueueOutbox(Db& db, const OutboxItem& item);
/// Pending items whose next_attempt_at <= now, earliest due first (creation order among equals).
std::vector<OutboxItem> DueOutbox(Db& db, Timestamp now, int limit);
/// The earliest next_attempt_at of a pending item.
std::optional<Timestamp> NextOutboxAttempt(Db& db);
/// Done, retry and dead each count one attempt and apply to pending items only.
/// Counts an attempt before the action is sent and clears the last error (the attempt has no
/// outcome yet): after a crash mid-send the next try knows it is not the first and that the CRM
/// may have the write already.
/// Returns false when the item is no longer pending (done, dead or cancelled since it was read):
/// then it must not be sent.
bool MarkOutboxAttempt(Db& db, std::int64_t id);
/// Also turns a cancelled item done: one cancelled while it was being sent that the receiver
/// took after all (it is never sent again either way).
void MarkOutboxDone(Db& db, std::int64_t id, Timestamp at);
void MarkOutboxRetry(Db& db, std::int64_t id, Timestamp next_attempt_at, const std::string& error);
/// A retry the receiver asked for before doing anything (a chat's pace, working hours: "not
/// sent, after N"): rescheduled at `next_attempt_at`, and the attempt counted for it is taken
/// back, so that waiting never makes the item look tried (nor dead).
void MarkOutboxDeferred(Db& db, std::int64_t id, Timestamp next_attempt_at,
                        const std::string& error);
void MarkOutboxDead(Db& db, std::int64_t id, Timestamp at, const std::string& error);
std::vector<OutboxItem> OutboxForViolation(Db& db, std::int64_t violation_id);
/// Cancels the violation's pending items (never sent, or waiting for a retry) with `reason` in
/// last_error, and returns them as they were. An item being sent right now is cancelled too:
/// it is not sent again, and MarkOutboxDone records it if the receiver took it.
std::vector<OutboxItem> CancelOutboxForViolation(Db& db, std::int64_t violation_id, Timestamp at,
                                                 const std::string& reason);
/// The same for the violation's chat messages only (notify, escalate): what its resolution makes
/// moot, while the CRM's note or task stays the record of what happened.
std::vector<OutboxItem> CancelMessagesForViolation(Db& db, std::int64_t violation_id, Timestamp at,
                                                   const std::string& reason);
struct OutboxStats {
    std::int64_t pending = 0;
    std::int64_t done = 0;
    std::int64_t dead = 0;
    std::int64_t cancelled = 0;
};
OutboxStats GetOutboxStats(Db& db);

}  // namespace fg::storage
