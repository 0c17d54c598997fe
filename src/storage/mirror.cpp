#include "src/storage/mirror.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

#include "src/storage/deal_codec.hpp"
#include "src/storage/merge.hpp"
#include "src/storage/own_writes.hpp"
#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindOptionalTime;
using detail::BindText;
using detail::BindTime;
using detail::ConsumeOwnWrite;
using detail::DecodeDoc;
using detail::EncodeDoc;
using detail::EncodeFields;
using detail::OptionalTime;
using detail::Query;

// ---------------------------------------------------------------- deal rows

// A deal's row as the events of a batch read and change it. A row may exist before the deal's
// card: a task or note seen first (no card, not deleted: invisible) or a deletion seen first (a
// tombstone). Changes stay in memory until BatchDeals::Flush writes the row once.
struct DealRow {
    std::string tenant{};
    std::string id{};
    bool exists = false;
    DealClock clock{};
    std::string pipeline{};
    std::string stage{};
    // Own-write records for the deal may match: read with a stored row; for a row the batch
    // creates, asked on first use (see MaybeOwn).
    std::optional<bool> maybe_own{};
    std::string doc_bytes{};
    std::optional<detail::DealDoc> doc{};  // decoded when needed

    bool changed = false;                // to be written
    std::optional<domain::Deal> card{};  // a newer card to be written with the row
    bool stage_changed = false;          // pipeline and stage to be written (no new card)
    // The first history entry that differs from the stage_history table (npos: none).
    std::size_t history_changed_from = std::string::npos;

    detail::DealDoc& Doc() {
        if (!doc) {
            doc.emplace();
            DecodeDoc(doc_bytes, tenant, id, doc->history, doc->tasks, doc->notes);
        }
        return *doc;
    }
    void Changed() {
        changed = true;
        exists = true;
    }
    void SetCard(const domain::Deal& deal) {
        pipeline = deal.pipeline;
        stage = deal.stage;
        card = deal;
        Changed();
    }
};

// Whether own-write records exist for the deal at all: ConsumeOwnWrite checks expiry itself, and a
// row read once serves events of any time in its batch (expired records are pruned by the sweep).
constexpr const char* kLoadDealRow = R"sql(
    SELECT deleted, created_at, updated_at, deleted_at, pipeline, stage, doc,
           EXISTS (SELECT 1 FROM own_writes WHERE tenant = ?1 AND deal_id = ?2)
    FROM deals WHERE tenant = ?1 AND id = ?2
)sql";

void LoadDealRow(Db& db, DealRow& row) {
    Query query(db, kLoadDealRow);
    BindText(*query, 1, row.tenant);
    BindText(*query, 2, row.id);
    if (!query->executeStep()) {
        return;
    }
    row.exists = true;
    row.clock.deleted = query->getColumn(0).getInt() != 0;
    row.clock.created_at = OptionalTime(query->getColumn(1));
    row.clock.updated_at = OptionalTime(query->getColumn(2));
    row.clock.deleted_at = OptionalTime(query->getColumn(3));
    row.pipeline = query->getColumn(4).getString();
    row.stage = query->getColumn(5).getString();
    row.doc_bytes = query->getColumn(6).getString();  // a blob: its bytes
    row.maybe_own = query->getColumn(7).getInt() != 0;
}

constexpr const char* kAnyOwnWrite = R"sql(
    SELECT EXISTS (SELECT 1 FROM own_writes WHERE tenant = ?1 AND deal_id = ?2)
)sql";

// Whether own-write records may match the deal's events (ConsumeOwnWrite tells for sure), as
// ApplyEvent reads it with the row of each event: never while the row does not exist; for a row an
// earlier event of the batch created, asked once (records are not added during a batch).
bool MaybeOwn(Db& db, DealRow& row) {
    if (!row.exists) {
        return false;
    }
    if (!row.maybe_own) {
        Query query(db, kAnyOwnWrite);
        BindText(*query, 1, row.tenant);
        BindText(*query, 2, row.id);
        row.maybe_own = query->executeStep() && query->getColumn(0).getInt() != 0;
    }
    return *row.maybe_own;
}

// Writes everything but the card (and wake_at, which a deletion clears).
constexpr const char* kWriteDealState = R"sql(
    INSERT INTO deals (tenant, id, deleted, created_at, updated_at, deleted_at, doc)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
    ON CONFLICT (tenant, id) DO UPDATE SET
        deleted = excluded.deleted, created_at = excluded.created_at,
        updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, doc = excluded.doc,
        wake_at = CASE WHEN excluded.deleted THEN NULL ELSE wake_at END
)sql";

// Writes everything but the card's fields, with the card's stage (a newer stage observed).
constexpr const char* kWriteDealStage = R"sql(
    UPDATE deals SET deleted = ?3, created_at = ?4, updated_at = ?5, deleted_at = ?6, doc = ?7,
                     pipeline = ?8, stage = ?9,
                     wake_at = CASE WHEN ?3 THEN NULL ELSE wake_at END
    WHERE tenant = ?1 AND id = ?2
)sql";

// Writes the whole row with a new card.
constexpr const char* kWriteDealCard = R"sql(
    INSERT INTO deals (tenant, id, deleted, created_at, updated_at, deleted_at, doc, pipeline,
                       stage, responsible, title, fields)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
    ON CONFLICT (tenant, id) DO UPDATE SET
        deleted = excluded.deleted, created_at = excluded.created_at,
        updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, doc = excluded.doc,
        pipeline = excluded.pipeline, stage = excluded.stage, responsible = excluded.responsible,
        title = excluded.title, fields = excluded.fields,
        wake_at = CASE WHEN excluded.deleted THEN NULL ELSE wake_at END
)sql";

// Binds ?1..?7: everything but the card. The document is encoded into row.doc_bytes, which the
// statement reads without a copy.
void BindDealState(SQLite::Statement& statement, DealRow& row) {
    if (row.doc) {
        row.doc_bytes = EncodeDoc(*row.doc);
    }
    BindText(statement, 1, row.tenant);
    BindText(statement, 2, row.id);
    statement.bind(3, row.clock.deleted ? 1 : 0);
    BindOptionalTime(statement, 4, row.clock.created_at);
    BindOptionalTime(statement, 5, row.clock.updated_at);
    BindOptionalTime(statement, 6, row.clock.deleted_at);
    statement.bindNoCopy(7, row.doc_bytes.data(), static_cast<int>(row.doc_bytes.size()));
}

void WriteDealState(Db& db, DealRow& row) {
    Query query(db, kWriteDealState);
    BindDealState(*query, row);
    query->exec();
}

void WriteDealStage(Db& db, DealRow& row) {
    Query query(db, kWriteDealStage);
    BindDealState(*query, row);
    BindText(*query, 8, row.pipeline);
    BindText(*query, 9, row.stage);
    query->exec();
}

void WriteDealCard(Db& db, DealRow& row, const domain::Deal& deal) {
    const std::string fields = EncodeFields(deal.fields);
    Query query(db, kWriteDealCard);
    BindDealState(*query, row);
    BindText(*query, 8, deal.pipeline);
    BindText(*query, 9, deal.stage);
    BindText(*query, 10, deal.responsible);
    BindText(*query, 11, deal.title);
    BindText(*query, 12, fields);
    query->exec();
}

constexpr const char* kTrimStageHistory = R"sql(
    DELETE FROM stage_history WHERE tenant = ?1 AND deal_id = ?2 AND seq >= ?3
)sql";
constexpr const char* kInsertStageHistory = R"sql(
    INSERT INTO stage_history (tenant, deal_id, seq, at, own, pipeline, stage)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
)sql";

// Brings the deal's rows of the stage_history table in line with its document from the first
// entry that changed on: usually one appended row, as observations mostly arrive in time order.
void SyncStageHistory(Db& db, const DealRow& row) {
    const std::vector<domain::StageChange>& history = row.doc->history;
    const std::size_t from = row.history_changed_from;
    SQLite::Statement& trim = db.Prepared(kTrimStageHistory);
    BindText(trim, 1, row.tenant);
    BindText(trim, 2, row.id);
    trim.bind(3, static_cast<std::int64_t>(from));
    trim.exec();
    SQLite::Statement& insert = db.Prepared(kInsertStageHistory);
    for (std::size_t i = from; i < history.size(); ++i) {
        insert.reset();
        BindText(insert, 1, row.tenant);
        BindText(insert, 2, row.id);
        insert.bind(3, static_cast<std::int64_t>(i));
        BindTime(insert, 4, history[i].at);
        insert.bind(5, history[i].own ? 1 : 0);
        BindText(insert, 6, history[i].pipeline);
        BindText(insert, 7, history[i].stage);
        insert.exec();
    }
}

// The deal rows a batch of events touches: each is read on first use and written once, by Flush.
// The events of one deal usually come together (a card, its tasks, its notes), and reading,
// decoding, encoding and rewriting the row per event was most of the cost of applying them.
class BatchDeals {
public:
    explicit BatchDeals(Db& db) : db_(db) {}

    Db& db() { return db_; }

    DealRow& Load(const std::string& tenant, const std::string& deal_id) {
        auto [it, inserted] = rows_.try_emplace(std::make_pair(tenant, deal_id));
        DealRow& row = it->second;
        if (inserted) {
            row.tenant = tenant;
            row.id = deal_id;
            LoadDealRow(db_, row);
        }
        return row;
    }

    // Writes the changed rows in key order (B-tree order) and forgets every row.
    void Flush() {
        for (auto& [key, row] : rows_) {
            if (!row.changed) {
                continue;
            }
            if (row.card) {
                WriteDealCard(db_, row, *row.card);
            } else if (row.stage_changed) {
                WriteDealStage(db_, row);
            } else {
                WriteDealState(db_, row);
            }
            if (row.history_changed_from != std::string::npos) {
                SyncStageHistory(db_, row);
            }
        }
        rows_.clear();
    }

private:
    Db& db_;
    std::map<std::pair<std::string, std::string>, DealRow> rows_;
};

// ---------------------------------------------------------------- applying events

constexpr const char* kClaimTask = R"sql(
    INSERT INTO task_deals (tenant, task_id, deal_id) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING
)sql";
constexpr const char* kFindTask = R"sql(
    SELECT deal_id, deleted_at FROM task_deals WHERE tenant = ?1 AND task_id = ?2
)sql";
constexpr const char* kMoveTask = R"sql(
    UPDATE task_deals SET deal_id = ?3, deleted_at = NULL WHERE tenant = ?1 AND task_id = ?2
)sql";
constexpr const char* kRememberTaskDeletion = R"sql(
    INSERT INTO task_deals (tenant, task_id, deal_id, deleted_at) VALUES (?1, ?2, '', ?3)
    ON CONFLICT DO UPDATE SET deleted_at = MAX(deleted_at, excluded.deleted_at) WHERE deal_id = ''
)sql";

// Where a task is: its deal, or '' with the time of a deletion seen before the task itself.
struct TaskHome {
    std::string deal_id{};
    std::optional<Timestamp> deleted_at{};
};

std::optional<TaskHome> FindTaskHome(Db& db, const std::string& tenant, const std::string& id) {
    Query query(db, kFindTask);
    BindText(*query, 1, tenant);
    BindText(*query, 2, id);
    if (!query->executeStep()) {
        return std::nullopt;
    }
    return TaskHome{query->getColumn(0).getString(), OptionalTime(query->getColumn(1))};
}

void SetTaskHome(Db& db, const std::string& tenant, const std::string& id,
                 const std::string& deal_id) {
    Query query(db, kMoveTask);
    BindText(*query, 1, tenant);
    BindText(*query, 2, id);
    BindText(*query, 3, deal_id);
    query->exec();
}

// Places an observation of the deal's stage in its history (merge.hpp's ObserveStage); a new
// entry may be the echo of a revert funnelguard asked for.
void ObserveStageOf(Db& db, DealRow& row, const std::string& pipeline, const std::string& stage,
                    Timestamp at) {
    std::vector<domain::StageChange>& history = row.Doc().history;
    const std::optional<std::size_t> position = ObserveStage(history, pipeline, stage, at);
    if (!position) {
        return;
    }
    history[*position].own = MaybeOwn(db, row) && ConsumeOwnWrite(db, row.tenant, row.id,
                                                                  OwnWriteKind::kRevert, stage, at);
    row.history_changed_from = std::min(row.history_changed_from, *position);
    row.Changed();
}

std::vector<std::string> ApplyDealUpserted(BatchDeals& deals, const std::string& tenant,
                                           const domain::Deal& deal, Timestamp at) {
    DealRow& row = deals.Load(tenant, deal.id);
    const UpsertMerge merge = MergeDealUpsert(row.clock, row.pipeline, row.stage, deal, at);
    if (merge.observe_stage) {
        ObserveStageOf(deals.db(), row, deal.pipeline, deal.stage, at);
    }
    row.Changed();
    if (merge.replaces_card) {
        row.SetCard(deal);
    }
    return {deal.id};
}

std::vector<std::string> ApplyStageObserved(BatchDeals& deals, const std::string& tenant,
                                            const domain::StageObserved& seen, Timestamp at) {
    DealRow& row = deals.Load(tenant, seen.deal_id);
    ObserveStageOf(deals.db(), row, seen.pipeline, seen.stage, at);
    if (MergeStageObserved(row.clock, row.pipeline, row.stage, seen, at)) {
        row.pipeline = seen.pipeline;
        row.stage = seen.stage;
        if (row.card) {
            row.card->pipeline = seen.pipeline;  // a card of this batch, written on Flush
            row.card->stage = seen.stage;
        } else {
            row.stage_changed = true;
        }
    }
    row.Changed();
    return {seen.deal_id};
}

std::vector<std::string> ApplyDealDeleted(BatchDeals& deals, const std::string& tenant,
                                          const std::string& deal_id, Timestamp at) {
    DealRow& row = deals.Load(tenant, deal_id);
    const DeletionMerge merge = MergeDealDeletion(row.clock, row.exists, at);
    if (merge.row_changed) {
        row.Changed();
    }
    if (!merge.deal_changed) {
        return {};
    }
    return {deal_id};
}

std::vector<std::string> ApplyTaskUpserted(BatchDeals& deals, const std::string& tenant,
                                           const domain::Task& task, Timestamp at) {
    Db& db = deals.db();
    DealRow& row = deals.Load(tenant, task.deal_id);
    std::vector<domain::Task>& tasks = row.Doc().tasks;
    if (auto stored = FindTask(tasks, task.id); stored != tasks.end()) {
        if (MergeTaskUpsert(*stored, task, at) == TaskChange::kNone) {
            return {};
        }
        row.Changed();
        return {task.deal_id};
    }

    // Not in this deal: a new task, one whose deletion came first, or one moving here.
    std::optional<TaskHome> home;
    {
        Query query(db, kClaimTask);
        BindText(*query, 1, tenant);
        BindText(*query, 2, task.id);
        BindText(*query, 3, task.deal_id);
        if (query->exec() == 0) {
            home = FindTaskHome(db, tenant, task.id);
        }
    }
    if (home && !home->deal_id.empty() && home->deal_id != task.deal_id) {
        DealRow& from = deals.Load(tenant, home->deal_id);
        switch (MoveTask(from.Doc().tasks, tasks, task, at)) {
            case TaskMove::kAbsent:
                break;  // not where task_deals says: created here
            case TaskMove::kNone:
                return {};
            case TaskMove::kStays:
                from.Changed();
                return {from.id};
            case TaskMove::kMovedTo:
                from.Changed();
                row.Changed();
                SetTaskHome(db, tenant, task.id, task.deal_id);
                return {task.deal_id, from.id};
        }
    }

    const bool elsewhere = home && home->deal_id != task.deal_id;
    domain::Task created = NewTask(task, at, elsewhere ? home->deleted_at : std::nullopt);
    created.own = MaybeOwn(db, row) &&
                  ConsumeOwnWrite(db, tenant, task.deal_id, OwnWriteKind::kTask, task.text, at);
    if (elsewhere) {
        SetTaskHome(db, tenant, task.id, task.deal_id);
    }
    InsertTask(tasks, std::move(created));
    row.Changed();
    return {task.deal_id};
}

std::vector<std::string> ApplyTaskDeleted(BatchDeals& deals, const std::string& tenant,
                                          const std::string& task_id, Timestamp at) {
    Db& db = deals.db();
    const std::optional<TaskHome> home = FindTaskHome(db, tenant, task_id);
    if (!home || home->deal_id.empty()) {
        // Not seen yet: remembered, so that an older upsert arriving later stays deleted.
        Query query(db, kRememberTaskDeletion);
        BindText(*query, 1, tenant);
        BindText(*query, 2, task_id);
        BindTime(*query, 3, at);
        query->exec();
        return {};
    }
    DealRow& row = deals.Load(tenant, home->deal_id);
    std::vector<domain::Task>& tasks = row.Doc().tasks;
    const auto task = FindTask(tasks, task_id);
    if (task == tasks.end() || !MergeTaskDeletion(*task, at)) {
        return {};
    }
    row.Changed();
    return {row.id};
}

std::vector<std::string> ApplyNoteAdded(BatchDeals& deals, const std::string& tenant,
                                        const domain::Note& note, Timestamp at) {
    DealRow& row = deals.Load(tenant, note.deal_id);
    domain::Note* added = AddNote(row.Doc().notes, note, at);
    if (added == nullptr) {
        return {};
    }
    added->own = MaybeOwn(deals.db(), row) && ConsumeOwnWrite(deals.db(), tenant, note.deal_id,
                                                              OwnWriteKind::kNote, note.text, at);
    row.Changed();
    return {note.deal_id};
}

}  // namespace

bool MarkEventSeen(Db& db, const std::string& tenant, const std::string& event_id) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO events_seen (tenant, event_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, event_id);
    return query->exec() == 1;
}

struct MirrorBatch::State {
    BatchDeals deals;
};

MirrorBatch::MirrorBatch(Db& db) : state_(std::make_unique<State>(State{BatchDeals(db)})) {}

MirrorBatch::~MirrorBatch() = default;

std::vector<std::string> MirrorBatch::Apply(const std::string& tenant, const domain::Event& event) {
    BatchDeals& deals = state_->deals;
    if (const auto* upserted = std::get_if<domain::DealUpserted>(&event.body)) {
        return ApplyDealUpserted(deals, tenant, upserted->deal, event.at);
    }
    if (const auto* deleted = std::get_if<domain::DealDeleted>(&event.body)) {
        return ApplyDealDeleted(deals, tenant, deleted->deal_id, event.at);
    }
    if (const auto* task = std::get_if<domain::TaskUpserted>(&event.body)) {
        return ApplyTaskUpserted(deals, tenant, task->task, event.at);
    }
    if (const auto* task = std::get_if<domain::TaskDeleted>(&event.body)) {
        return ApplyTaskDeleted(deals, tenant, task->task_id, event.at);
    }
    if (const auto* seen = std::get_if<domain::StageObserved>(&event.body)) {
        return ApplyStageObserved(deals, tenant, *seen, event.at);
    }
    return ApplyNoteAdded(deals, tenant, std::get<domain::NoteAdded>(event.body).note, event.at);
}

void MirrorBatch::Flush() { state_->deals.Flush(); }

std::vector<std::string> ApplyEvent(Db& db, const std::string& tenant, const domain::Event& event) {
    MirrorBatch batch(db);
    std::vector<std::string> affected = batch.Apply(tenant, event);
    batch.Flush();
    return affected;
}

}  // namespace fg::storage
