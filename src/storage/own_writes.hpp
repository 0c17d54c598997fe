#pragma once

#include <string>

#include "src/common/time.hpp"
#include "src/storage/database.hpp"

/// What funnelguard asked the CRM to do, remembered so that the mirror recognises its echo (see
/// ApplyEvent). Throws SQLite::Exception on database errors; the caller owns the transaction.
namespace fg::storage {

enum class OwnWriteKind { kRevert, kTask, kNote };
/// Remembers something funnelguard asked the CRM to do, so that its echo is recognised:
/// kRevert matches a deal.upserted moving `deal_id` to stage `fingerprint`; kTask a new task on the
/// deal whose text equals `fingerprint`; kNote a note whose text equals `fingerprint`.
/// A record matches only events with `at` <= expires_at.
void RecordOwnWrite(Db& db, const std::string& tenant, const std::string& deal_id,
                    OwnWriteKind kind, const std::string& fingerprint, Timestamp expires_at);
/// Forgets own-write records that expired before `now` (their echo never came); returns how many.
int PruneOwnWrites(Db& db, Timestamp now);
/// Whether an own write of `kind` on the deal is still awaited as of `now` (recorded, its echo
/// not seen yet, not expired): e.g. a task funnelguard asked for that the mirror does not show.
bool OwnWritePending(Db& db, const std::string& tenant, const std::string& deal_id,
                     OwnWriteKind kind, Timestamp now);
/// Forgets one record RecordOwnWrite made (the write was cancelled: no echo will come, and a
/// manager's identical change must not pass for funnelguard's). No-op when there is none.
void ForgetOwnWrite(Db& db, const std::string& tenant, const std::string& deal_id,
                    OwnWriteKind kind, const std::string& fingerprint);

namespace detail {
/// Whether an event at `at` echoes a recorded own write of `kind` with `fingerprint` on the deal
/// (one not expired before `at`); the record is consumed. Internal to storage (the mirror).
bool ConsumeOwnWrite(Db& db, const std::string& tenant, const std::string& deal_id,
                     OwnWriteKind kind, const std::string& fingerprint, Timestamp at);
}  // namespace detail

}  // namespace fg::storage
