#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/domain/model.hpp"
#include "src/storage/failure.hpp"

/// SQLite persistence: the inbox, the mirror, violations, the outbox. Every function takes the
/// connection to use; the caller owns transactions (one unit of work = one transaction). All SQL
/// binds its values. Functions throw SQLite::Exception on database errors; the caller decides.
namespace fg::storage {

/// One connection plus its prepared-statement cache (hot paths must not re-prepare SQL).
/// Not thread-safe: one Db per thread.
class Db {
public:
    explicit Db(std::unique_ptr<SQLite::Database> sql);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    SQLite::Database& sql() { return *sql_; }
    /// The statement for `sql_text` (a string literal), prepared once per connection and reset
    /// (bindings cleared) before it is returned.
    SQLite::Statement& Prepared(const char* sql_text);

    /// Records what a failed call (its SQLite extended result code) says about the disk; calls
    /// that are not the disk's doing are ignored. WriteTransaction notes its own failures.
    void NoteFailure(int extended_code);
    /// The device failure (I/O error, corruption) this connection saw, kNone until then. It is
    /// kept for good: WriteTransaction refuses to begin after one.
    const Failure& Failed() const { return failed_; }
    /// True when a write ran out of space since the last call.
    bool TakeDiskFull();
    /// Write transactions committed that changed rows: one more means the disk took a write.
    std::int64_t WritesCommitted() const { return writes_committed_; }

private:
    friend class WriteTransaction;

    std::unique_ptr<SQLite::Database> sql_;
    std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> statements_;
    Failure failed_{};
    bool disk_full_ = false;
    std::int64_t writes_committed_ = 0;
};

/// A write transaction on `db`: BEGIN IMMEDIATE now (so a busy database waits busy_timeout
/// instead of failing when a deferred transaction upgrades), COMMIT on Commit(), ROLLBACK when
/// destroyed uncommitted, which leaves the connection usable after a failed COMMIT (e.g. the
/// disk was full). Throws SQLite::Exception from the constructor and Commit(); the constructor
/// throws at once on a connection that saw the device fail (Db::Failed). Failures are noted on
/// the Db (Db::NoteFailure), including those of statements run inside the transaction.
class WriteTransaction {
public:
    explicit WriteTransaction(Db& db);
    ~WriteTransaction();
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;

    void Commit();

private:
    Db& db_;
    bool open_ = true;
    std::int64_t changes_at_begin_ = 0;
};

/// Opens (creating if needed) the database: WAL, synchronous=FULL, busy_timeout=5000,
/// foreign_keys=ON, then applies the embedded migrations that have not run yet, each in its own
/// transaction (PRAGMA user_version counts them). A read-only connection skips migrations and
/// requires a database at exactly SchemaVersion(). Errors name the path. A database it creates
/// is mode 0600 whatever the umask, and so are its -wal and -shm (SQLite gives them the
/// database's mode); an existing file keeps its mode.
Result<std::unique_ptr<Db>> OpenDatabase(const std::string& path, bool read_only = false);
/// Number of embedded migrations (the schema version after OpenDatabase).
int SchemaVersion();

// ---------------------------------------------------------------- mirror

/// Records that an event id was seen; false when it had been seen before (then ignore the event).
bool MarkEventSeen(Db& db, const std::string& tenant, const std::string& event_id);

/// Applies one normalized event to the mirror in CRM time (DESIGN.md §3). The event's `at` is the
/// time used throughout (times inside the body, e.g. Note::at, are ignored).
/// - deal.upserted: inserts or, if `at` is not older than the stored card, overwrites the card;
///   either way the (at, pipeline, stage) observation takes its place in the stage history
///   (collapsed: an observation equal to its predecessor in time adds nothing; one that makes its
///   successor redundant removes it; observations with the same `at` keep their arrival order).
///   created_at is the earliest `at` seen.
/// - deal.deleted: marks deleted. Only an upsert strictly newer than the deletion restores the
///   deal (a tie goes to the deletion); an older one still takes its place in the history (and
///   replaces the card if newer than it). A deletion of a deal never seen is remembered.
/// - task.upserted: older than the stored task = ignored; done false->true sets closed_at = at;
///   a due time moved later increments reschedules; a task may arrive before its deal, and may
///   move to another deal (then both deals are returned).
/// - task.deleted: marks deleted, closed_at = at unless already closed; ignored when older than the
///   stored task. A deletion that arrives before the task is remembered.
/// - note.added: inserted once.
/// - stage.observed (domain::StageObserved): the (at, pipeline, stage) observation takes its place
///   in the stage history as a deal.upserted's would; the card's fields are never replaced, but
///   its pipeline and stage follow an observation at or after the card's time. created_at is
///   the earliest `at` seen.
/// Echoes of funnelguard's own writes (see RecordOwnWrite) are flagged `own` and consume the
/// record. Returns the ids of the deals whose snapshot changed (usually one).
/// One event: a MirrorBatch of one.
std::vector<std::string> ApplyEvent(Db& db, const std::string& tenant, const domain::Event& event);

/// Applies many events as ApplyEvent would, one after the other, but reads each deal row they
/// touch once, keeps it in memory and writes it once, on Flush (with its stage_history rows, from
/// the first entry that changed). The events of a deal usually arrive together, and rewriting its
/// row and document per event was most of the cost of applying them. Other tables (events_seen,
/// task_deals, own_writes) are written at once. Until Flush, the mirror read through `db`
/// (LoadSnapshot, judging) does not show the batch; destroyed without Flush, the deal rows'
/// changes are dropped (the caller rolls its transaction back). Use within one transaction.
class MirrorBatch {
public:
    explicit MirrorBatch(Db& db);
    ~MirrorBatch();
    MirrorBatch(const MirrorBatch&) = delete;
    MirrorBatch& operator=(const MirrorBatch&) = delete;

    /// ApplyEvent's contract; the returned deals are changed once Flush has run.
    std::vector<std::string> Apply(const std::string& tenant, const domain::Event& event);
    /// Writes every changed deal row, then starts empty.
    void Flush();

private:
    struct State;
    std::unique_ptr<State> state_;
};

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

/// The deal's snapshot; a deleted deal comes with deal.deleted set. nullopt for a deal never seen
/// (tasks or notes that arrived before it do not count).
std::optional<domain::DealSnapshot> LoadSnapshot(Db& db, const std::string& tenant,
                                                 const std::string& deal_id);
/// Streams every deal's snapshot (of one tenant, or all when `tenant` is empty), in (tenant, id)
/// order, without holding the whole mirror in memory. Deleted deals are skipped. Each snapshot
/// equals LoadSnapshot's (tasks in id order, notes in (at, id) order). The reference passed to
/// `visit` is reused for the next deal; `visit` must not write the mirror through this `db`.
void ForEachSnapshot(Db& db, const std::string& tenant,
                     const std::function<void(const domain::DealSnapshot&)>& visit);

/// Deal rows as ForEachSnapshot reads them, copied out of SQLite but not decoded yet: a sweep
/// reads on one thread and decodes on others (see sweep.hpp). Clearing keeps the capacity.
class DealRows {
public:
    std::size_t size() const { return rows_.size(); }
    bool empty() const { return rows_.empty(); }
    void clear();
    /// Decodes row `index` into `snapshot`, equal to what ForEachSnapshot visits for that deal
    /// (the snapshot's strings and vectors are reused). Throws SQLite::Exception on a malformed
    /// document.
    void Decode(std::size_t index, domain::DealSnapshot& snapshot) const;

private:
    friend void ForEachDealRows(Db&, const std::string&, std::size_t,
                                const std::function<void(DealRows&)>&);
    struct Row {
        std::int64_t numbers[3] = {};  // deleted, created_at, updated_at
        // tenant, id, pipeline, stage, responsible, title, fields, doc: where in bytes_ (offset,
        // size)
        std::size_t texts[8][2] = {};
    };
    std::string bytes_{};
    std::vector<Row> rows_{};
};

/// The rows ForEachSnapshot visits, in the same order, handed to `take` `batch_size` at a time
/// (the last batch may hold fewer). `take` may swap the rows out for an empty DealRows; whatever it
/// leaves is cleared and refilled.
void ForEachDealRows(Db& db, const std::string& tenant, std::size_t batch_size,
                     const std::function<void(DealRows&)>& take);

/// When the minute timer should next evaluate a deal (nullopt: only on events).
void SetWakeAt(Db& db, const std::string& tenant, const std::string& deal_id,
               std::optional<Timestamp> wake_at);
struct DealRef {
    std::string tenant{};
    std::string deal_id{};
};
/// Deals whose wake_at <= now, earliest first (deleting a deal clears its wake_at).
std::vector<DealRef> DealsToWake(Db& db, Timestamp now, int limit);
/// Every non-deleted deal (of one tenant, or all when empty), for the nightly re-evaluation.
std::vector<DealRef> AllDeals(Db& db, const std::string& tenant);

// ---------------------------------------------------------------- violations

struct Violation {
    std::int64_t id = 0;
    std::string tenant{};
    std::string deal_id{};
    std::string rule{};
    std::string key{};
    std::string responsible{};
    Timestamp opened_at{};
    std::optional<Timestamp> resolved_at{};
    std::string resolution{};  // empty while open
    nlohmann::json details = nlohmann::json::object();
    std::string message{};
    std::optional<Timestamp> escalated_at{};
    std::string deal_title{};  // filled by queries that join the mirror
};

/// All violations of one deal, open and resolved, oldest first.
std::vector<Violation> ViolationsForDeal(Db& db, const std::string& tenant,
                                         const std::string& deal_id);
/// Inserts an open violation; returns its id. At most one violation per (tenant, rule, deal, key)
/// is open: a second one throws SQLite::Exception (a constraint error).
std::int64_t InsertViolation(Db& db, const Violation& violation);
/// Updates an open violation (resolved ones are history and stay as they are).
void UpdateViolation(Db& db, std::int64_t id, const nlohmann::json& details,
                     const std::string& message, const std::string& responsible);
/// Resolves an open violation; false if it was not open.
bool ResolveViolation(Db& db, std::int64_t id, Timestamp at, const std::string& resolution);
std::optional<Violation> GetViolation(Db& db, std::int64_t id);

struct ViolationFilter {
    std::string tenant{};  // empty: all
    enum class State { kOpen, kResolved, kAll } state = State::kOpen;
    std::string rule{};
    std::string deal_id{};
    int limit = 1000;
};
/// Newest first, at most `limit`.
std::vector<Violation> ListViolations(Db& db, const ViolationFilter& filter);
/// Open violations not escalated yet (of one tenant, or all when empty); the caller applies
/// each rule's escalate_after.
std::vector<Violation> OpenNotEscalated(Db& db, const std::string& tenant);
void MarkEscalated(Db& db, std::int64_t id, Timestamp at);
/// The (deal, rule, key) of every acknowledged violation of a tenant (all when empty), as
/// "tenant\x1fdeal\x1frule\x1fkey" strings: what `check` leaves out.
std::vector<std::string> AcknowledgedKeys(Db& db, const std::string& tenant);
/// Open violation counts by (tenant, rule), for /metrics.
std::vector<std::tuple<std::string, std::string, std::int64_t>> OpenViolationCounts(Db& db);

// ---------------------------------------------------------------- outbox

/// kCancelled: not to be sent any more (its violation was acknowledged); last_error says why.
enum class OutboxStatus { kPending, kDone, kDead, kCancelled };

struct OutboxItem {
    std::int64_t id = 0;
    std::string tenant{};
    std::string kind{};             // note | task | revert | notify | escalate
    std::string idempotency_key{};  // unique; a second enqueue with it is a no-op
    std::string payload{};          // JSON document sent as is
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
void MarkOutboxDead(Db& db, std::int64_t id, Timestamp at, const std::string& error);
std::vector<OutboxItem> OutboxForViolation(Db& db, std::int64_t violation_id);
/// Cancels the violation's pending items (never sent, or waiting for a retry) with `reason` in
/// last_error, and returns them as they were. An item being sent right now is cancelled too:
/// it is not sent again, and MarkOutboxDone records it if the receiver took it.
std::vector<OutboxItem> CancelOutboxForViolation(Db& db, std::int64_t violation_id, Timestamp at,
                                                 const std::string& reason);
struct OutboxStats {
    std::int64_t pending = 0;
    std::int64_t done = 0;
    std::int64_t dead = 0;
    std::int64_t cancelled = 0;
};
OutboxStats GetOutboxStats(Db& db);

// ---------------------------------------------------------------- small state

std::optional<std::string> GetMeta(Db& db, const std::string& tenant, const std::string& key);
void SetMeta(Db& db, const std::string& tenant, const std::string& key, const std::string& value);
void DeleteMeta(Db& db, const std::string& tenant, const std::string& key);

/// Rows of the stage_history table of a tenant (reconciliation reports what it recovered).
std::int64_t CountStageChanges(Db& db, const std::string& tenant);

}  // namespace fg::storage

// The inbox has a file of its own; its declarations come with this header for the callers that
// use both.
#include "src/storage/inbox.hpp"  // IWYU pragma: export
