#include "src/storage/store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/common/hex.hpp"
#include "src/storage/migrations.hpp"
#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindOptionalInt;
using detail::BindOptionalTime;
using detail::BindText;
using detail::BindTime;
using detail::OptionalInt;
using detail::OptionalTime;
using detail::Query;

// Row access shared by LoadSnapshot (a cached SQLite::Statement) and ForEachSnapshot (a raw
// statement: SQLiteCpp copies a shared_ptr per column read, which shows on a million rows). Both
// read the same SELECT list through the same code, so their snapshots cannot drift apart.
struct RawRow {
    sqlite3_stmt* statement = nullptr;

    std::string_view Blob(int index) const {
        const void* data = sqlite3_column_blob(statement, index);
        const int size = sqlite3_column_bytes(statement, index);  // after the data, as SQLite asks
        if (data == nullptr) {
            return {};
        }
        return {static_cast<const char*>(data), static_cast<std::size_t>(size)};
    }
    std::int64_t Int(int index) const { return sqlite3_column_int64(statement, index); }
    std::string_view Text(int index) const {
        const unsigned char* text = sqlite3_column_text(statement, index);
        const int size = sqlite3_column_bytes(statement, index);  // after the text, as SQLite asks
        if (text == nullptr) {
            return {};
        }
        return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
    }
};

struct StatementRow {
    SQLite::Statement* statement = nullptr;

    std::string_view Blob(int index) const {
        const SQLite::Column column = statement->getColumn(index);
        const void* data = column.getBlob();
        if (data == nullptr) {
            return {};
        }
        return {static_cast<const char*>(data), static_cast<std::size_t>(column.getBytes())};
    }
    std::int64_t Int(int index) const { return statement->getColumn(index).getInt64(); }
    std::string_view Text(int index) const {
        const SQLite::Column column = statement->getColumn(index);
        const char* text = column.getText(nullptr);
        if (text == nullptr) {
            return {};
        }
        return {text, static_cast<std::size_t>(column.getBytes())};
    }
};

// ---------------------------------------------------------------- JSON

// Deal fields are stored as a JSON object of strings (readable with SQLite's JSON functions),
// written only by this file and read a million times per sweep: both directions are hand-rolled,
// as going through nlohmann::json costs microseconds per deal.
void AppendJsonString(std::string& out, std::string_view text) {
    out.push_back('"');
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
                    out += escaped;
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

void AppendUtf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
        out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (code >> 6)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (code >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (code >> 18)));
        out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
}

// A reader for the flat JSON objects of strings that deal fields are. Strings without escapes come
// back as views into the text, so the common case copies nothing. Every method skips leading
// whitespace and returns false on anything unexpected.
class JsonReader {
public:
    explicit JsonReader(std::string_view text) : text_(text) {}

    bool AtEnd() {
        SkipSpace();
        return pos_ == text_.size();
    }
    bool Take(char c) {
        if (pos_ < text_.size() && text_[pos_] == c) {  // what this file writes has no spaces
            ++pos_;
            return true;
        }
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool String(std::string_view& out) {
        if (!Take('"')) {
            return false;
        }
        std::size_t end = RunEnd();
        if (end < text_.size() && text_[end] == '"') {  // no escapes: a view
            out = text_.substr(pos_, end - pos_);
            pos_ = end + 1;
            return true;
        }
        std::string& scratch = scratch_[next_scratch_];
        next_scratch_ = (next_scratch_ + 1) % 2;  // a key and its value may both be escaped
        scratch.clear();
        while (end < text_.size()) {
            scratch.append(text_.data() + pos_, end - pos_);
            pos_ = end + 1;
            if (text_[end] == '"') {
                out = scratch;
                return true;
            }
            if (pos_ >= text_.size() || !Unescape(scratch)) {
                return false;
            }
            end = RunEnd();
        }
        return false;
    }

private:
    void SkipSpace() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                       text_[pos_] == '\r' || text_[pos_] == '\t')) {
            ++pos_;
        }
    }
    // The end of the run of plain characters from pos_: a quote, a backslash or the end (found
    // with memchr, which scans a long note many bytes at a time).
    std::size_t RunEnd() const {
        const char* begin = text_.data() + pos_;
        const std::size_t size = text_.size() - pos_;
        const void* quote = std::memchr(begin, '"', size);
        const std::size_t until =
            quote ? static_cast<std::size_t>(static_cast<const char*>(quote) - begin) : size;
        const void* backslash = std::memchr(begin, '\\', until);
        return pos_ + (backslash
                           ? static_cast<std::size_t>(static_cast<const char*>(backslash) - begin)
                           : until);
    }
    bool Hex4(std::uint32_t& code) {
        if (pos_ + 4 > text_.size()) {
            return false;
        }
        code = 0;
        for (int i = 0; i < 4; ++i) {
            const int digit = HexDigitValue(text_[pos_++]);
            if (digit < 0) {
                return false;
            }
            code = (code << 4) | static_cast<std::uint32_t>(digit);
        }
        return true;
    }
    bool Unescape(std::string& out) {
        const char escape = text_[pos_++];
        switch (escape) {
            case '"':
            case '\\':
            case '/':
                out.push_back(escape);
                return true;
            case 'n':
                out.push_back('\n');
                return true;
            case 'r':
                out.push_back('\r');
                return true;
            case 't':
                out.push_back('\t');
                return true;
            case 'b':
                out.push_back('\b');
                return true;
            case 'f':
                out.push_back('\f');
                return true;
            case 'u': {
                std::uint32_t code = 0;
                if (!Hex4(code)) {
                    return false;
                }
                if (code >= 0xD800 && code < 0xDC00) {
                    std::uint32_t low = 0;
                    if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') {
                        return false;
                    }
                    pos_ += 2;
                    if (!Hex4(low) || low < 0xDC00 || low >= 0xE000) {
                        return false;
                    }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                }
                AppendUtf8(out, code);
                return true;
            }
            default:
                return false;
        }
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    std::string scratch_[2]{};
    int next_scratch_ = 0;
};

// ---------------------------------------------------------------- deal fields

std::string EncodeFields(const std::map<std::string, std::string>& fields) {
    std::string out = "{";
    for (const auto& [key, value] : fields) {
        if (out.size() > 1) {
            out.push_back(',');
        }
        AppendJsonString(out, key);
        out.push_back(':');
        AppendJsonString(out, value);
    }
    out.push_back('}');
    return out;
}

// Fills `out` from the fields JSON. Deals mostly share their field names, so when the keys match
// the map's current ones the values are assigned in place: no node or string is reallocated.
void DecodeFields(std::string_view text, std::map<std::string, std::string>& out) {
    JsonReader reader(text);
    auto next = out.begin();
    bool parsed = reader.Take('{');
    if (parsed && !reader.Take('}')) {
        do {
            std::string_view key;
            std::string_view value;
            if (!reader.String(key) || !reader.Take(':') || !reader.String(value)) {
                parsed = false;
                break;
            }
            if (next != out.end() && next->first == key) {
                next->second.assign(value);
                ++next;
            } else {
                next = out.erase(next, out.end());
                out.insert_or_assign(std::string(key), std::string(value));
                next = out.end();
            }
        } while (reader.Take(','));
        parsed = parsed && reader.Take('}');
    }
    if (parsed && reader.AtEnd()) {
        out.erase(next, out.end());
        return;
    }
    // Not the flat shape (written by hand, say): through the full parser; non-string values keep
    // their JSON text.
    out.clear();
    const nlohmann::json json = nlohmann::json::parse(text);
    for (const auto& [key, value] : json.items()) {
        out.emplace(key, value.is_string() ? value.get<std::string>() : value.dump());
    }
}

// ---------------------------------------------------------------- the deal document

// A deal's stage history, tasks and notes live in its row, as one compact binary document
// (deals.doc), so that a sweep reads one row per deal and decodes it with little more than
// memcpy: SQLite spends about as much per column as per row, and a merge-join of four tables read
// ~70 columns a deal (measured: 4x slower); JSON took twice the decoding time of this format.
// The layout is documented in 0001_init.sql. History in CRM time order (arrival order within a
// second), tasks by id, notes by (at, id). An empty document is an empty blob.
struct DealDoc {
    std::vector<domain::StageChange> history{};
    std::vector<domain::Task> tasks{};
    std::vector<domain::Note> notes{};

    bool Empty() const { return history.empty() && tasks.empty() && notes.empty(); }
};

constexpr std::uint8_t kDocVersion = 1;
enum TaskFlags : std::uint8_t {
    kDone = 1,
    kDeleted = 2,
    kOwn = 4,
    kHasDue = 8,
    kHasClosed = 16,
};

class DocWriter {
public:
    void Byte(std::uint8_t value) { out_.push_back(static_cast<char>(value)); }
    void Unsigned(std::uint64_t value) {
        while (value >= 0x80) {
            out_.push_back(static_cast<char>((value & 0x7F) | 0x80));
            value >>= 7;
        }
        out_.push_back(static_cast<char>(value));
    }
    void Signed(std::int64_t value) {  // zigzag
        Unsigned((static_cast<std::uint64_t>(value) << 1) ^
                 static_cast<std::uint64_t>(value >> 63));
    }
    void Time(Timestamp at) { Signed(ToEpoch(at)); }
    void Text(std::string_view text) {
        Unsigned(text.size());
        out_.append(text);
    }
    std::string Take() { return std::move(out_); }

private:
    std::string out_{};
};

std::string EncodeDoc(const DealDoc& doc) {
    if (doc.Empty()) {
        return {};
    }
    DocWriter out;
    out.Byte(kDocVersion);
    out.Unsigned(doc.history.size());
    for (const domain::StageChange& change : doc.history) {
        out.Time(change.at);
        out.Byte(change.own ? 1 : 0);
        out.Text(change.pipeline);
        out.Text(change.stage);
    }
    out.Unsigned(doc.tasks.size());
    for (const domain::Task& task : doc.tasks) {
        out.Text(task.id);
        out.Byte(static_cast<std::uint8_t>((task.done ? kDone : 0) | (task.deleted ? kDeleted : 0) |
                                           (task.own ? kOwn : 0) | (task.due ? kHasDue : 0) |
                                           (task.closed_at ? kHasClosed : 0)));
        if (task.due) {
            out.Time(*task.due);
        }
        out.Time(task.created_at);
        out.Time(task.updated_at);
        if (task.closed_at) {
            out.Time(*task.closed_at);
        }
        out.Unsigned(static_cast<std::uint64_t>(std::max(task.reschedules, 0)));
        out.Text(task.responsible);
        out.Text(task.text);
    }
    out.Unsigned(doc.notes.size());
    for (const domain::Note& note : doc.notes) {
        out.Text(note.id);
        out.Time(note.at);
        out.Byte(note.own ? 1 : 0);
        out.Text(note.text);
    }
    return out.Take();
}

// Reads what DocWriter wrote; a read past the end or an impossible value marks it failed (the
// values read after that are zeros), checked once at the end.
class DocReader {
public:
    explicit DocReader(std::string_view data) : data_(data) {}

    bool Ok() const { return ok_ && pos_ == data_.size(); }
    std::uint8_t Byte() {
        if (pos_ >= data_.size()) {
            ok_ = false;
            return 0;
        }
        return static_cast<std::uint8_t>(data_[pos_++]);
    }
    std::uint64_t Unsigned() {
        std::uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            const std::uint8_t byte = Byte();
            value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
            if ((byte & 0x80) == 0) {
                return value;
            }
        }
        ok_ = false;
        return 0;
    }
    std::int64_t Signed() {
        const std::uint64_t value = Unsigned();
        return static_cast<std::int64_t>(value >> 1) ^ -static_cast<std::int64_t>(value & 1);
    }
    Timestamp Time() { return FromEpoch(Signed()); }
    void Text(std::string& out) {
        const std::uint64_t size = Unsigned();
        if (size > data_.size() - pos_) {
            ok_ = false;
            out.clear();
            return;
        }
        out.assign(data_.data() + pos_, static_cast<std::size_t>(size));
        pos_ += static_cast<std::size_t>(size);
    }
    // A count of items, each at least one byte: more than the bytes left is corruption.
    std::size_t Count() {
        const std::uint64_t count = Unsigned();
        if (count > data_.size() - pos_) {
            ok_ = false;
            return 0;
        }
        return static_cast<std::size_t>(count);
    }

private:
    std::string_view data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

void DecodeDoc(std::string_view data, const std::string& tenant, const std::string& deal_id,
               std::vector<domain::StageChange>& history, std::vector<domain::Task>& tasks,
               std::vector<domain::Note>& notes) {
    if (data.empty()) {
        history.clear();
        tasks.clear();
        notes.clear();
        return;
    }
    // resize() keeps the elements already there, and their strings' capacity: a streamed
    // snapshot decodes deal after deal into the same vectors without allocating.
    DocReader in(data);
    const std::uint8_t version = in.Byte();
    history.resize(version == kDocVersion ? in.Count() : 0);
    for (domain::StageChange& change : history) {
        change.at = in.Time();
        change.own = in.Byte() != 0;
        in.Text(change.pipeline);
        in.Text(change.stage);
    }
    tasks.resize(in.Count());
    for (domain::Task& task : tasks) {
        task.deal_id.assign(deal_id);
        in.Text(task.id);
        const std::uint8_t flags = in.Byte();
        task.done = (flags & kDone) != 0;
        task.deleted = (flags & kDeleted) != 0;
        task.own = (flags & kOwn) != 0;
        task.due = (flags & kHasDue) != 0 ? std::optional<Timestamp>(in.Time()) : std::nullopt;
        task.created_at = in.Time();
        task.updated_at = in.Time();
        task.closed_at =
            (flags & kHasClosed) != 0 ? std::optional<Timestamp>(in.Time()) : std::nullopt;
        task.reschedules = static_cast<int>(in.Unsigned());
        in.Text(task.responsible);
        in.Text(task.text);
    }
    notes.resize(in.Count());
    for (domain::Note& note : notes) {
        note.deal_id.assign(deal_id);
        in.Text(note.id);
        note.at = in.Time();
        note.own = in.Byte() != 0;
        in.Text(note.text);
    }
    if (version != kDocVersion || !in.Ok()) {
        throw SQLite::Exception(fmt::format(
            "deal {}/{}: the mirror document (deals.doc) is malformed or of an unknown version",
            tenant, deal_id));
    }
}

// Columns of a whole deal, as LoadSnapshot and ForEachSnapshot select them.
#define FG_DEAL_COLUMNS                                                               \
    "tenant, id, deleted, COALESCE(created_at, updated_at, deleted_at), "             \
    "COALESCE(updated_at, deleted_at), pipeline, stage, responsible, title, fields, " \
    "doc"

template <typename Row>
void ReadSnapshot(const Row& row, domain::DealSnapshot& snapshot) {
    domain::Deal& deal = snapshot.deal;
    deal.tenant.assign(row.Text(0));
    deal.id.assign(row.Text(1));
    deal.deleted = row.Int(2) != 0;
    deal.created_at = FromEpoch(row.Int(3));
    deal.updated_at = FromEpoch(row.Int(4));
    deal.pipeline.assign(row.Text(5));
    deal.stage.assign(row.Text(6));
    deal.responsible.assign(row.Text(7));
    deal.title.assign(row.Text(8));
    DecodeFields(row.Text(9), deal.fields);
    DecodeDoc(row.Blob(10), deal.tenant, deal.id, snapshot.history, snapshot.tasks, snapshot.notes);
}

// ---------------------------------------------------------------- own writes

const char* OwnWriteKindName(OwnWriteKind kind) {
    switch (kind) {
        case OwnWriteKind::kRevert:
            return "revert";
        case OwnWriteKind::kTask:
            return "task";
        case OwnWriteKind::kNote:
            return "note";
    }
    return "revert";
}

constexpr const char* kConsumeOwnWrite = R"sql(
    DELETE FROM own_writes WHERE rowid = (
        SELECT rowid FROM own_writes
        WHERE tenant = ?1 AND deal_id = ?2 AND kind = ?3 AND fingerprint = ?4 AND expires_at >= ?5
        ORDER BY expires_at LIMIT 1)
)sql";

// Whether an event at `at` echoes a recorded own write; the record is consumed.
bool ConsumeOwnWrite(Db& db, const std::string& tenant, const std::string& deal_id,
                     OwnWriteKind kind, const std::string& fingerprint, Timestamp at) {
    Query query(db, kConsumeOwnWrite);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    query->bindNoCopy(3, OwnWriteKindName(kind));
    BindText(*query, 4, fingerprint);
    BindTime(*query, 5, at);
    return query->exec() == 1;
}

// ---------------------------------------------------------------- deal rows

// A deal's row as the events of a batch read and change it. A row may exist before the deal's
// card: a task or note seen first (no card, not deleted: invisible) or a deletion seen first (a
// tombstone). Changes stay in memory until BatchDeals::Flush writes the row once.
struct DealRow {
    std::string tenant{};
    std::string id{};
    bool exists = false;
    bool deleted = false;
    std::optional<std::int64_t> created_at{};  // the earliest deal event
    std::optional<std::int64_t> updated_at{};  // the card's time; none without a card
    std::optional<std::int64_t> deleted_at{};  // the latest deletion
    std::string pipeline{};
    std::string stage{};
    // Own-write records for the deal may match: read with a stored row; for a row the batch
    // creates, asked on first use (see MaybeOwn).
    std::optional<bool> maybe_own{};
    std::string doc_bytes{};
    std::optional<DealDoc> doc{};  // decoded when needed

    bool changed = false;                // to be written
    std::optional<domain::Deal> card{};  // a newer card to be written with the row
    bool stage_changed = false;          // pipeline and stage to be written (no new card)
    // The first history entry that differs from the stage_history table (npos: none).
    std::size_t history_changed_from = std::string::npos;

    DealDoc& Doc() {
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
    row.deleted = query->getColumn(0).getInt() != 0;
    row.created_at = OptionalInt(query->getColumn(1));
    row.updated_at = OptionalInt(query->getColumn(2));
    row.deleted_at = OptionalInt(query->getColumn(3));
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
    statement.bind(3, row.deleted ? 1 : 0);
    BindOptionalInt(statement, 4, row.created_at);
    BindOptionalInt(statement, 5, row.updated_at);
    BindOptionalInt(statement, 6, row.deleted_at);
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

std::int64_t Earliest(const std::optional<std::int64_t>& known, std::int64_t at) {
    return known ? std::min(*known, at) : at;
}

// Places an observation of the deal's stage in its history: nothing when the deal was already
// there (the entry before it in time says so); otherwise it is inserted after every entry of the
// same second or earlier, and the entry after it goes if it only repeats it.
void ObserveStage(Db& db, DealRow& row, const domain::Deal& deal, Timestamp at) {
    std::vector<domain::StageChange>& history = row.Doc().history;
    auto same = [&](const domain::StageChange& change) {
        return change.pipeline == deal.pipeline && change.stage == deal.stage;
    };
    auto next = std::upper_bound(
        history.begin(), history.end(), at,
        [](Timestamp value, const domain::StageChange& change) { return value < change.at; });
    if (next != history.begin() && same(*std::prev(next))) {
        return;
    }
    const bool own = MaybeOwn(db, row) && ConsumeOwnWrite(db, row.tenant, deal.id,
                                                          OwnWriteKind::kRevert, deal.stage, at);
    const auto position = static_cast<std::size_t>(next - history.begin());
    next = history.insert(next, domain::StageChange{at, deal.pipeline, deal.stage, own});
    ++next;
    if (next != history.end() && same(*next)) {
        history.erase(next);
    }
    row.history_changed_from = std::min(row.history_changed_from, position);
    row.Changed();
}

std::vector<std::string> ApplyDealUpserted(BatchDeals& deals, const std::string& tenant,
                                           const domain::Deal& deal, Timestamp at) {
    const std::int64_t epoch = ToEpoch(at);
    DealRow& row = deals.Load(tenant, deal.id);
    const bool newer_card = !row.updated_at || epoch >= *row.updated_at;
    // The card held is the newest observation, so a newer one that repeats it changes nothing in
    // the history (the document need not even be read); anything else goes through ObserveStage.
    if (!(row.updated_at && newer_card && row.pipeline == deal.pipeline &&
          row.stage == deal.stage)) {
        ObserveStage(deals.db(), row, deal, at);
    }
    row.created_at = Earliest(row.created_at, epoch);
    row.Changed();
    if (!newer_card) {
        return {deal.id};
    }
    row.updated_at = epoch;
    row.deleted = row.deleted_at && *row.deleted_at >= epoch;  // a deletion wins a tie
    row.SetCard(deal);
    return {deal.id};
}

std::vector<std::string> ApplyStageObserved(BatchDeals& deals, const std::string& tenant,
                                            const domain::StageObserved& seen, Timestamp at) {
    DealRow& row = deals.Load(tenant, seen.deal_id);
    domain::Deal deal;
    deal.id = seen.deal_id;
    deal.pipeline = seen.pipeline;
    deal.stage = seen.stage;
    ObserveStage(deals.db(), row, deal, at);
    row.created_at = Earliest(row.created_at, ToEpoch(at));
    // The card's fields stay as they are. Its stage follows an observation newer than the card
    // (a Digital Pipeline move, or a move the CRM's log reports after the last card): that is
    // where the deal is now. updated_at stays the card's, so a card of a time between the two
    // still replaces the fields.
    if (row.updated_at && ToEpoch(at) >= *row.updated_at &&
        (row.pipeline != seen.pipeline || row.stage != seen.stage)) {
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
    const std::int64_t epoch = ToEpoch(at);
    DealRow& row = deals.Load(tenant, deal_id);
    const bool existed = row.exists;
    const bool was_deleted = row.deleted;
    const std::optional<std::int64_t> created_at = Earliest(row.created_at, epoch);
    const std::optional<std::int64_t> deleted_at =
        row.deleted_at ? std::max(*row.deleted_at, epoch) : epoch;
    const bool deleted = !row.updated_at || *deleted_at >= *row.updated_at;
    if (existed && created_at == row.created_at && deleted_at == row.deleted_at &&
        deleted == row.deleted) {
        return {};  // an older or repeated deletion
    }
    row.created_at = created_at;
    row.deleted_at = deleted_at;
    row.deleted = deleted;
    // A deletion seen first is remembered, so that an older upsert does not bring the deal to life.
    row.Changed();
    if (deleted == was_deleted || !existed) {
        return {};
    }
    return {deal_id};
}

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
    std::optional<std::int64_t> deleted_at{};
};

std::optional<TaskHome> FindTaskHome(Db& db, const std::string& tenant, const std::string& id) {
    Query query(db, kFindTask);
    BindText(*query, 1, tenant);
    BindText(*query, 2, id);
    if (!query->executeStep()) {
        return std::nullopt;
    }
    return TaskHome{query->getColumn(0).getString(), OptionalInt(query->getColumn(1))};
}

void SetTaskHome(Db& db, const std::string& tenant, const std::string& id,
                 const std::string& deal_id) {
    Query query(db, kMoveTask);
    BindText(*query, 1, tenant);
    BindText(*query, 2, id);
    BindText(*query, 3, deal_id);
    query->exec();
}

std::vector<domain::Task>::iterator FindTaskIn(std::vector<domain::Task>& tasks,
                                               const std::string& id) {
    auto it = std::lower_bound(
        tasks.begin(), tasks.end(), id,
        [](const domain::Task& task, const std::string& value) { return task.id < value; });
    return it != tasks.end() && it->id == id ? it : tasks.end();
}

void InsertTaskIn(std::vector<domain::Task>& tasks, domain::Task task) {
    auto it = std::lower_bound(
        tasks.begin(), tasks.end(), task.id,
        [](const domain::Task& existing, const std::string& value) { return existing.id < value; });
    tasks.insert(it, std::move(task));
}

enum class TaskChange { kNone, kCreatedAt, kApplied };

// Applies an upsert to the stored task: ignored when older (a deletion wins a tie), except that
// it may show the task existed earlier.
TaskChange ApplyTaskUpsert(domain::Task& stored, const domain::Task& update, Timestamp at) {
    if (at < stored.updated_at || (at == stored.updated_at && stored.deleted)) {
        if (at < stored.created_at) {
            stored.created_at = at;
            return TaskChange::kCreatedAt;
        }
        return TaskChange::kNone;
    }
    if (update.due && stored.due && *update.due > *stored.due) {
        ++stored.reschedules;
    }
    if (update.done) {
        if (!stored.done || !stored.closed_at) {
            stored.closed_at = at;
        }
    } else {
        stored.closed_at.reset();
    }
    stored.due = update.due;
    stored.done = update.done;
    stored.deleted = false;
    stored.responsible = update.responsible;
    stored.text = update.text;
    stored.updated_at = at;
    return TaskChange::kApplied;
}

std::vector<std::string> ApplyTaskUpserted(BatchDeals& deals, const std::string& tenant,
                                           const domain::Task& task, Timestamp at) {
    Db& db = deals.db();
    DealRow& row = deals.Load(tenant, task.deal_id);
    std::vector<domain::Task>& tasks = row.Doc().tasks;
    if (auto stored = FindTaskIn(tasks, task.id); stored != tasks.end()) {
        if (ApplyTaskUpsert(*stored, task, at) == TaskChange::kNone) {
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
        std::vector<domain::Task>& from_tasks = from.Doc().tasks;
        if (auto moving = FindTaskIn(from_tasks, task.id); moving != from_tasks.end()) {
            domain::Task moved = *moving;
            const TaskChange change = ApplyTaskUpsert(moved, task, at);
            if (change != TaskChange::kApplied) {  // older: it stays where it is
                if (change == TaskChange::kNone) {
                    return {};
                }
                *moving = moved;
                from.Changed();
                return {from.id};
            }
            from_tasks.erase(moving);
            from.Changed();
            moved.deal_id = task.deal_id;
            InsertTaskIn(tasks, std::move(moved));
            row.Changed();
            SetTaskHome(db, tenant, task.id, task.deal_id);
            return {task.deal_id, from.id};
        }
    }

    domain::Task created = task;
    created.created_at = at;
    created.updated_at = at;
    created.closed_at = task.done ? std::optional<Timestamp>(at) : std::nullopt;
    created.deleted = false;
    created.reschedules = 0;
    created.own = MaybeOwn(db, row) &&
                  ConsumeOwnWrite(db, tenant, task.deal_id, OwnWriteKind::kTask, task.text, at);
    if (home && home->deal_id != task.deal_id) {
        // Its deletion came first; if that is newer, the task arrives deleted.
        if (home->deleted_at && *home->deleted_at >= ToEpoch(at)) {
            created.deleted = true;
            created.updated_at = FromEpoch(*home->deleted_at);
            if (!created.closed_at) {
                created.closed_at = created.updated_at;
            }
        }
        SetTaskHome(db, tenant, task.id, task.deal_id);
    }
    InsertTaskIn(tasks, std::move(created));
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
    const auto task = FindTaskIn(tasks, task_id);
    if (task == tasks.end() || at < task->updated_at || (task->deleted && at == task->updated_at)) {
        return {};  // older than what the mirror holds, or repeated
    }
    if (!task->deleted && !task->closed_at) {
        task->closed_at = at;
    }
    task->deleted = true;
    task->updated_at = at;
    row.Changed();
    return {row.id};
}

std::vector<std::string> ApplyNoteAdded(BatchDeals& deals, const std::string& tenant,
                                        const domain::Note& note, Timestamp at) {
    DealRow& row = deals.Load(tenant, note.deal_id);
    std::vector<domain::Note>& notes = row.Doc().notes;
    if (std::any_of(notes.begin(), notes.end(),
                    [&](const domain::Note& stored) { return stored.id == note.id; })) {
        return {};
    }
    domain::Note added = note;
    added.at = at;
    added.own = MaybeOwn(deals.db(), row) && ConsumeOwnWrite(deals.db(), tenant, note.deal_id,
                                                             OwnWriteKind::kNote, note.text, at);
    auto position = std::upper_bound(notes.begin(), notes.end(), added,
                                     [](const domain::Note& a, const domain::Note& b) {
                                         return a.at != b.at ? a.at < b.at : a.id < b.id;
                                     });
    notes.insert(position, std::move(added));
    row.Changed();
    return {note.deal_id};
}

struct FinalizeStatement {
    void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};

// ---------------------------------------------------------------- violations and outbox rows

#define FG_VIOLATION_COLUMNS                                                                \
    "v.id, v.tenant, v.deal_id, v.rule, v.key, v.responsible, v.opened_at, v.resolved_at, " \
    "v.resolution, v.details, v.message, v.escalated_at, COALESCE(d.title, '')"
#define FG_VIOLATION_FROM \
    " FROM violations v LEFT JOIN deals d ON d.tenant = v.tenant AND d.id = v.deal_id "

Violation ReadViolation(SQLite::Statement& statement) {
    Violation violation;
    violation.id = statement.getColumn(0).getInt64();
    violation.tenant = statement.getColumn(1).getString();
    violation.deal_id = statement.getColumn(2).getString();
    violation.rule = statement.getColumn(3).getString();
    violation.key = statement.getColumn(4).getString();
    violation.responsible = statement.getColumn(5).getString();
    violation.opened_at = FromEpoch(statement.getColumn(6).getInt64());
    violation.resolved_at = OptionalTime(statement.getColumn(7));
    violation.resolution = statement.getColumn(8).getString();  // NULL reads as ""
    violation.details = nlohmann::json::parse(statement.getColumn(9).getString());
    violation.message = statement.getColumn(10).getString();
    violation.escalated_at = OptionalTime(statement.getColumn(11));
    violation.deal_title = statement.getColumn(12).getString();
    return violation;
}

std::string DumpJson(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

OutboxStatus ParseOutboxStatus(std::string_view name) {
    if (name == "done") {
        return OutboxStatus::kDone;
    }
    if (name == "dead") {
        return OutboxStatus::kDead;
    }
    if (name == "cancelled") {
        return OutboxStatus::kCancelled;
    }
    return OutboxStatus::kPending;
}

#define FG_OUTBOX_COLUMNS                                                          \
    "id, tenant, kind, idempotency_key, payload, violation_id, status, attempts, " \
    "next_attempt_at, created_at, last_error"

OutboxItem ReadOutbox(SQLite::Statement& statement) {
    OutboxItem item;
    item.id = statement.getColumn(0).getInt64();
    item.tenant = statement.getColumn(1).getString();
    item.kind = statement.getColumn(2).getString();
    item.idempotency_key = statement.getColumn(3).getString();
    item.payload = statement.getColumn(4).getString();
    item.violation_id = OptionalInt(statement.getColumn(5));
    item.status = ParseOutboxStatus(statement.getColumn(6).getText());
    item.attempts = statement.getColumn(7).getInt();
    item.next_attempt_at = FromEpoch(statement.getColumn(8).getInt64());
    item.created_at = FromEpoch(statement.getColumn(9).getInt64());
    item.last_error = statement.getColumn(10).getString();
    return item;
}

// ---------------------------------------------------------------- opening

bool IsMemoryPath(const std::string& path) {
    return path.empty() || path == ":memory:" || path.rfind("file::memory:", 0) == 0;
}

// SQLite would create the database 0644 less the umask, and it gives the -wal and -shm files the
// database's mode: created here first, 0600 whatever the umask, the customer data in all three is
// the owner's only. An existing file keeps the mode its operator gave it.
Result<void> CreatePrivately(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) {
            return Ok{};
        }
        return MakeError(ErrorCode::kUnavailable, "database {}: cannot create it: {}", path,
                         std::strerror(errno));
    }
    // open() applies the umask, which may even take the owner's write bit away.
    const bool private_mode = ::fchmod(fd, 0600) == 0;
    const int error = errno;
    ::close(fd);
    if (!private_mode) {
        ::unlink(path.c_str());
        return MakeError(ErrorCode::kUnavailable, "database {}: cannot make it mode 0600: {}", path,
                         std::strerror(error));
    }
    return Ok{};
}

void ApplyMigrations(Db& db) {
    for (;;) {
        // Re-read under the write lock: another process may have migrated meanwhile.
        WriteTransaction transaction(db);
        const int version = db.sql().execAndGet("PRAGMA user_version").getInt();
        if (version >= detail::kMigrationCount) {
            transaction.Commit();
            return;
        }
        db.sql().exec(detail::kMigrations[version].sql);
        db.sql().exec(fmt::format("PRAGMA user_version = {}", version + 1));
        transaction.Commit();
    }
}

}  // namespace

// ---------------------------------------------------------------- Db

Db::Db(std::unique_ptr<SQLite::Database> sql) : sql_(std::move(sql)) {}

Db::~Db() = default;

void Db::NoteFailure(int extended_code) {
    Failure failure = ClassifyFailure(extended_code, sqlite3_system_errno(sql_->getHandle()));
    if (failure.kind == FailureKind::kDiskFull) {
        disk_full_ = true;
    } else if (failure.kind != FailureKind::kNone && failed_.kind == FailureKind::kNone) {
        failed_ = std::move(failure);  // the first cause is the one to report
    }
}

bool Db::TakeDiskFull() { return std::exchange(disk_full_, false); }

SQLite::Statement& Db::Prepared(const char* sql_text) {
    std::unique_ptr<SQLite::Statement>& statement = statements_[sql_text];
    if (!statement) {
        statement = std::make_unique<SQLite::Statement>(*sql_, sql_text);
    } else {
        statement->tryReset();  // the previous use's error, if any, was reported to it
        statement->clearBindings();
    }
    return *statement;
}

namespace {
constexpr const char* kBegin = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
}  // namespace

WriteTransaction::WriteTransaction(Db& db) : db_(db) {
    // After an fsync failed, the kernel may have dropped pages it could not write and a later
    // fsync would still succeed: nothing this connection commits from then on can be trusted.
    if (db_.failed_.kind != FailureKind::kNone) {
        throw SQLite::Exception(db_.failed_.reason, SQLITE_IOERR);
    }
    try {
        db_.Prepared(kBegin).exec();
    } catch (const SQLite::Exception& error) {
        db_.NoteFailure(error.getExtendedErrorCode());
        throw;
    }
    changes_at_begin_ = sqlite3_total_changes64(db_.sql().getHandle());
}

WriteTransaction::~WriteTransaction() {
    if (!open_) {
        return;
    }
    sqlite3* handle = db_.sql().getHandle();
    // Unwinding from a failed statement: the connection's last error is still that statement's
    // (its Query has only reset it since, which reports the same code).
    db_.NoteFailure(sqlite3_extended_errcode(handle));
    // SQLite may already have rolled back (e.g. after SQLITE_FULL); then there is nothing to undo.
    // Otherwise the ROLLBACK also takes the pager out of its error state, so that the next
    // transaction (once there is space again) starts clean.
    if (sqlite3_get_autocommit(handle) == 0) {
        db_.sql().tryExec("ROLLBACK");
    }
}

void WriteTransaction::Commit() {
    try {
        db_.Prepared(kCommit).exec();
    } catch (const SQLite::Exception& error) {
        db_.NoteFailure(error.getExtendedErrorCode());
        throw;
    }
    open_ = false;
    if (sqlite3_total_changes64(db_.sql().getHandle()) != changes_at_begin_) {
        ++db_.writes_committed_;
    }
}

int SchemaVersion() { return detail::kMigrationCount; }

Result<std::unique_ptr<Db>> OpenDatabase(const std::string& path, bool read_only) {
    if (!read_only && !IsMemoryPath(path)) {
        if (auto created = CreatePrivately(path); !created) {
            return created.error();
        }
    }
    try {
        const int flags =
            (read_only ? SQLite::OPEN_READONLY : SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE) |
            SQLite::OPEN_NOMUTEX;  // one Db per thread
        auto db = std::make_unique<Db>(std::make_unique<SQLite::Database>(path, flags, 5000));
        SQLite::Database& sql = db->sql();
        if (!read_only) {
            // Deal rows run to about a kilobyte: 8 KiB pages hold them with less slack and fewer
            // overflow pages than the default 4 KiB, and a full sweep reads measurably faster.
            // Takes effect only when the database is created (before WAL mode writes a header).
            sql.exec("PRAGMA page_size = 8192");
            const std::string mode = sql.execAndGet("PRAGMA journal_mode = WAL").getString();
            if (mode != "wal" && !IsMemoryPath(path)) {
                return MakeError(ErrorCode::kUnavailable,
                                 "database {}: cannot use WAL (journal_mode is {})", path, mode);
            }
        }
        sql.exec("PRAGMA synchronous = FULL");
        sql.exec("PRAGMA foreign_keys = ON");
        sql.exec("PRAGMA temp_store = MEMORY");
        sql.exec("PRAGMA cache_size = -32768");  // 32 MiB per connection
        if (!read_only) {
            sql.exec("PRAGMA journal_size_limit = 67108864");  // truncate the WAL back to 64 MiB
            ApplyMigrations(*db);
        }
        const int version = sql.execAndGet("PRAGMA user_version").getInt();
        if (version > SchemaVersion()) {
            return MakeError(ErrorCode::kInternal,
                             "database {} has schema version {}, newer than this build's {}", path,
                             version, SchemaVersion());
        }
        if (version < SchemaVersion()) {
            return MakeError(ErrorCode::kUnavailable,
                             "database {} has schema version {}, expected {}: open it read-write "
                             "(e.g. funnelguard serve) once to migrate",
                             path, version, SchemaVersion());
        }
        return db;
    } catch (const SQLite::Exception& error) {
        return MakeError(ErrorCode::kUnavailable, "database {}: {}", path, error.what());
    }
}

// ---------------------------------------------------------------- mirror

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

void RecordOwnWrite(Db& db, const std::string& tenant, const std::string& deal_id,
                    OwnWriteKind kind, const std::string& fingerprint, Timestamp expires_at) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO own_writes (tenant, deal_id, kind, fingerprint, expires_at)
        VALUES (?1, ?2, ?3, ?4, ?5)
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    query->bindNoCopy(3, OwnWriteKindName(kind));
    BindText(*query, 4, fingerprint);
    BindTime(*query, 5, expires_at);
    query->exec();
}

int PruneOwnWrites(Db& db, Timestamp now) {
    static constexpr const char* kSql = "DELETE FROM own_writes WHERE expires_at < ?1";
    Query query(db, kSql);
    BindTime(*query, 1, now);
    return query->exec();
}

bool OwnWritePending(Db& db, const std::string& tenant, const std::string& deal_id,
                     OwnWriteKind kind, Timestamp now) {
    static constexpr const char* kSql = R"sql(
        SELECT EXISTS (SELECT 1 FROM own_writes
                       WHERE tenant = ?1 AND deal_id = ?2 AND kind = ?3 AND expires_at >= ?4)
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    query->bindNoCopy(3, OwnWriteKindName(kind));
    BindTime(*query, 4, now);
    return query->executeStep() && query->getColumn(0).getInt() != 0;
}

void ForgetOwnWrite(Db& db, const std::string& tenant, const std::string& deal_id,
                    OwnWriteKind kind, const std::string& fingerprint) {
    static constexpr const char* kSql = R"sql(
        DELETE FROM own_writes WHERE rowid = (
            SELECT rowid FROM own_writes
            WHERE tenant = ?1 AND deal_id = ?2 AND kind = ?3 AND fingerprint = ?4
            ORDER BY expires_at DESC LIMIT 1)
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    query->bindNoCopy(3, OwnWriteKindName(kind));
    BindText(*query, 4, fingerprint);
    query->exec();
}

std::optional<domain::DealSnapshot> LoadSnapshot(Db& db, const std::string& tenant,
                                                 const std::string& deal_id) {
    // A row with neither card nor deletion only holds tasks or notes that came before the deal.
    static constexpr const char* kSql = "SELECT " FG_DEAL_COLUMNS
                                        " FROM deals WHERE tenant = ?1 AND id = ?2 AND "
                                        "(updated_at IS NOT NULL OR deleted_at IS NOT NULL)";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    if (!query->executeStep()) {
        return std::nullopt;
    }
    domain::DealSnapshot snapshot;
    ReadSnapshot(StatementRow{&*query}, snapshot);
    return snapshot;
}

namespace {

// The ordered pass of ForEachSnapshot and ForEachDealRows: one row per deal, prepared per call (a
// sweep, not a hot path) and read through the raw API.
std::unique_ptr<sqlite3_stmt, FinalizeStatement> PrepareSweep(Db& db, const std::string& tenant) {
    static constexpr const char* kAll =
        "SELECT " FG_DEAL_COLUMNS
        " FROM deals WHERE deleted = 0 AND updated_at IS NOT NULL ORDER BY tenant, id";
    static constexpr const char* kTenant =
        "SELECT " FG_DEAL_COLUMNS
        " FROM deals WHERE tenant = ?1 AND deleted = 0 AND updated_at IS NOT NULL "
        "ORDER BY tenant, id";
    sqlite3* handle = db.sql().getHandle();
    sqlite3_stmt* raw = nullptr;
    const int prepared =
        sqlite3_prepare_v3(handle, tenant.empty() ? kAll : kTenant, -1, 0, &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, FinalizeStatement> statement(raw);
    if (prepared != SQLITE_OK) {
        throw SQLite::Exception(handle, prepared);
    }
    if (!tenant.empty()) {
        const int bound = sqlite3_bind_text(statement.get(), 1, tenant.data(),
                                            static_cast<int>(tenant.size()), SQLITE_STATIC);
        if (bound != SQLITE_OK) {
            throw SQLite::Exception(handle, bound);
        }
    }
    return statement;
}

// Steps the sweep: true with a row, false at the end.
bool StepSweep(Db& db, sqlite3_stmt* statement) {
    const int stepped = sqlite3_step(statement);
    if (stepped == SQLITE_DONE) {
        return false;
    }
    if (stepped != SQLITE_ROW) {
        throw SQLite::Exception(db.sql().getHandle(), stepped);
    }
    return true;
}

// Where DealRows keeps each column of FG_DEAL_COLUMNS: a text slot, or (negative) -1 - number slot.
constexpr int kStoredColumn[11] = {0, 1, -1, -2, -3, 2, 3, 4, 5, 6, 7};

}  // namespace

void ForEachSnapshot(Db& db, const std::string& tenant,
                     const std::function<void(const domain::DealSnapshot&)>& visit) {
    const auto statement = PrepareSweep(db, tenant);
    domain::DealSnapshot snapshot;  // reused: its strings and vectors keep their capacity
    while (StepSweep(db, statement.get())) {
        ReadSnapshot(RawRow{statement.get()}, snapshot);
        visit(snapshot);
    }
}

void DealRows::clear() {
    bytes_.clear();
    rows_.clear();
}

void DealRows::Decode(std::size_t index, domain::DealSnapshot& snapshot) const {
    // The same ReadSnapshot as ForEachSnapshot's, over the copied columns.
    struct StoredRow {
        const std::string& bytes;
        const Row& row;

        std::string_view Text(int index) const {
            const std::size_t* text = row.texts[kStoredColumn[index]];
            return std::string_view(bytes).substr(text[0], text[1]);
        }
        std::string_view Blob(int index) const { return Text(index); }
        std::int64_t Int(int index) const { return row.numbers[-1 - kStoredColumn[index]]; }
    };
    ReadSnapshot(StoredRow{bytes_, rows_.at(index)}, snapshot);
}

void ForEachDealRows(Db& db, const std::string& tenant, std::size_t batch_size,
                     const std::function<void(DealRows&)>& take) {
    const auto statement = PrepareSweep(db, tenant);
    const RawRow raw{statement.get()};
    DealRows rows;
    while (StepSweep(db, statement.get())) {
        DealRows::Row& row = rows.rows_.emplace_back();
        for (int column = 0; column < 11; ++column) {
            const int slot = kStoredColumn[column];
            if (slot < 0) {
                row.numbers[-1 - slot] = raw.Int(column);
                continue;
            }
            const std::string_view text = column == 10 ? raw.Blob(column) : raw.Text(column);
            row.texts[slot][0] = rows.bytes_.size();
            row.texts[slot][1] = text.size();
            rows.bytes_.append(text);
        }
        if (rows.size() >= batch_size) {
            take(rows);
            rows.clear();
        }
    }
    if (!rows.empty()) {
        take(rows);
    }
}

void SetWakeAt(Db& db, const std::string& tenant, const std::string& deal_id,
               std::optional<Timestamp> wake_at) {
    static constexpr const char* kSql = R"sql(
        UPDATE deals SET wake_at = ?3 WHERE tenant = ?1 AND id = ?2
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    BindOptionalTime(*query, 3, wake_at);
    query->exec();
}

std::vector<DealRef> DealsToWake(Db& db, Timestamp now, int limit) {
    static constexpr const char* kSql = R"sql(
        SELECT tenant, id FROM deals WHERE wake_at IS NOT NULL AND wake_at <= ?1
        ORDER BY wake_at LIMIT ?2
    )sql";
    Query query(db, kSql);
    BindTime(*query, 1, now);
    query->bind(2, limit);
    std::vector<DealRef> deals;
    while (query->executeStep()) {
        deals.push_back(DealRef{query->getColumn(0).getString(), query->getColumn(1).getString()});
    }
    return deals;
}

std::vector<DealRef> AllDeals(Db& db, const std::string& tenant) {
    static constexpr const char* kAll =
        "SELECT tenant, id FROM deals WHERE deleted = 0 AND updated_at IS NOT NULL "
        "ORDER BY tenant, id";
    static constexpr const char* kTenant =
        "SELECT tenant, id FROM deals WHERE tenant = ?1 AND deleted = 0 AND updated_at IS NOT NULL "
        "ORDER BY tenant, id";
    Query query(db, tenant.empty() ? kAll : kTenant);
    if (!tenant.empty()) {
        BindText(*query, 1, tenant);
    }
    std::vector<DealRef> deals;
    while (query->executeStep()) {
        deals.push_back(DealRef{query->getColumn(0).getString(), query->getColumn(1).getString()});
    }
    return deals;
}

// ---------------------------------------------------------------- violations

std::vector<Violation> ViolationsForDeal(Db& db, const std::string& tenant,
                                         const std::string& deal_id) {
    static constexpr const char* kSql = "SELECT " FG_VIOLATION_COLUMNS FG_VIOLATION_FROM
                                        "WHERE v.tenant = ?1 AND v.deal_id = ?2 ORDER BY v.id";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    std::vector<Violation> violations;
    while (query->executeStep()) {
        violations.push_back(ReadViolation(*query));
    }
    return violations;
}

std::int64_t InsertViolation(Db& db, const Violation& violation) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO violations (tenant, deal_id, rule, key, responsible, opened_at, escalated_at,
                                details, message)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
    )sql";
    const std::string details = DumpJson(violation.details);
    Query query(db, kSql);
    BindText(*query, 1, violation.tenant);
    BindText(*query, 2, violation.deal_id);
    BindText(*query, 3, violation.rule);
    BindText(*query, 4, violation.key);
    BindText(*query, 5, violation.responsible);
    BindTime(*query, 6, violation.opened_at);
    BindOptionalTime(*query, 7, violation.escalated_at);
    BindText(*query, 8, details);
    BindText(*query, 9, violation.message);
    query->exec();
    return db.sql().getLastInsertRowid();
}

void UpdateViolation(Db& db, std::int64_t id, const nlohmann::json& details,
                     const std::string& message, const std::string& responsible) {
    static constexpr const char* kSql = R"sql(
        UPDATE violations SET details = ?2, message = ?3, responsible = ?4
        WHERE id = ?1 AND resolved_at IS NULL
    )sql";
    const std::string text = DumpJson(details);
    Query query(db, kSql);
    query->bind(1, id);
    BindText(*query, 2, text);
    BindText(*query, 3, message);
    BindText(*query, 4, responsible);
    query->exec();
}

bool ResolveViolation(Db& db, std::int64_t id, Timestamp at, const std::string& resolution) {
    static constexpr const char* kSql = R"sql(
        UPDATE violations SET resolved_at = ?2, resolution = ?3 WHERE id = ?1 AND resolved_at IS NULL
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, at);
    BindText(*query, 3, resolution);
    return query->exec() == 1;
}

std::optional<Violation> GetViolation(Db& db, std::int64_t id) {
    static constexpr const char* kSql =
        "SELECT " FG_VIOLATION_COLUMNS FG_VIOLATION_FROM "WHERE v.id = ?1";
    Query query(db, kSql);
    query->bind(1, id);
    if (!query->executeStep()) {
        return std::nullopt;
    }
    return ReadViolation(*query);
}

std::vector<Violation> ListViolations(Db& db, const ViolationFilter& filter) {
    // Assembled from fixed fragments (values are bound), so that the planner sees the filters that
    // are really there and uses the partial index of open violations. An API call, not a hot path:
    // prepared per call.
    std::string sql = "SELECT " FG_VIOLATION_COLUMNS FG_VIOLATION_FROM "WHERE 1";
    switch (filter.state) {
        case ViolationFilter::State::kOpen:
            sql += " AND v.resolved_at IS NULL";
            break;
        case ViolationFilter::State::kResolved:
            sql += " AND v.resolved_at IS NOT NULL";
            break;
        case ViolationFilter::State::kAll:
            break;
    }
    if (!filter.tenant.empty()) {
        sql += " AND v.tenant = :tenant";
    }
    if (!filter.rule.empty()) {
        sql += " AND v.rule = :rule";
    }
    if (!filter.deal_id.empty()) {
        sql += " AND v.deal_id = :deal";
    }
    sql += " ORDER BY v.id DESC LIMIT :limit";
    SQLite::Statement query(db.sql(), sql);
    if (!filter.tenant.empty()) {
        query.bindNoCopy(":tenant", filter.tenant);
    }
    if (!filter.rule.empty()) {
        query.bindNoCopy(":rule", filter.rule);
    }
    if (!filter.deal_id.empty()) {
        query.bindNoCopy(":deal", filter.deal_id);
    }
    query.bind(":limit", filter.limit);
    std::vector<Violation> violations;
    while (query.executeStep()) {
        violations.push_back(ReadViolation(query));
    }
    return violations;
}

std::vector<Violation> OpenNotEscalated(Db& db, const std::string& tenant) {
    static constexpr const char* kSql =
        "SELECT " FG_VIOLATION_COLUMNS FG_VIOLATION_FROM
        "WHERE v.resolved_at IS NULL AND v.escalated_at IS NULL AND (?1 = '' OR v.tenant = ?1) "
        "ORDER BY v.id";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    std::vector<Violation> violations;
    while (query->executeStep()) {
        violations.push_back(ReadViolation(*query));
    }
    return violations;
}

std::vector<std::string> AcknowledgedKeys(Db& db, const std::string& tenant) {
    static constexpr const char* kSql =
        "SELECT tenant, deal_id, rule, key FROM violations "
        "WHERE resolution = 'acknowledged' AND (?1 = '' OR tenant = ?1)";
    SQLite::Statement& query = db.Prepared(kSql);
    BindText(query, 1, tenant);
    std::vector<std::string> keys;
    while (query.executeStep()) {
        keys.push_back(fmt::format("{}\x1f{}\x1f{}\x1f{}", query.getColumn(0).getString(),
                                   query.getColumn(1).getString(), query.getColumn(2).getString(),
                                   query.getColumn(3).getString()));
    }
    return keys;
}

void MarkEscalated(Db& db, std::int64_t id, Timestamp at) {
    static constexpr const char* kSql =
        "UPDATE violations SET escalated_at = ?2 WHERE id = ?1 AND escalated_at IS NULL";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, at);
    query->exec();
}

std::vector<std::tuple<std::string, std::string, std::int64_t>> OpenViolationCounts(Db& db) {
    static constexpr const char* kSql = R"sql(
        SELECT tenant, rule, COUNT(*) FROM violations WHERE resolved_at IS NULL
        GROUP BY tenant, rule ORDER BY tenant, rule
    )sql";
    Query query(db, kSql);
    std::vector<std::tuple<std::string, std::string, std::int64_t>> counts;
    while (query->executeStep()) {
        counts.emplace_back(query->getColumn(0).getString(), query->getColumn(1).getString(),
                            query->getColumn(2).getInt64());
    }
    return counts;
}

// ---------------------------------------------------------------- outbox

bool EnqueueOutbox(Db& db, const OutboxItem& item) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO outbox (tenant, kind, idempotency_key, violation_id, status, attempts,
                            next_attempt_at, created_at, payload)
        VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6, ?7)
        ON CONFLICT (idempotency_key) DO NOTHING
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, item.tenant);
    BindText(*query, 2, item.kind);
    BindText(*query, 3, item.idempotency_key);
    BindOptionalInt(*query, 4, item.violation_id);
    BindTime(*query, 5, item.next_attempt_at);
    BindTime(*query, 6, item.created_at);
    BindText(*query, 7, item.payload);
    return query->exec() == 1;
}

std::vector<OutboxItem> DueOutbox(Db& db, Timestamp now, int limit) {
    static constexpr const char* kSql =
        "SELECT " FG_OUTBOX_COLUMNS
        " FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1 "
        "ORDER BY next_attempt_at, id LIMIT ?2";
    Query query(db, kSql);
    BindTime(*query, 1, now);
    query->bind(2, limit);
    std::vector<OutboxItem> items;
    while (query->executeStep()) {
        items.push_back(ReadOutbox(*query));
    }
    return items;
}

std::optional<Timestamp> NextOutboxAttempt(Db& db) {
    static constexpr const char* kSql =
        "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'";
    Query query(db, kSql);
    query->executeStep();
    return OptionalTime(query->getColumn(0));
}

bool MarkOutboxAttempt(Db& db, std::int64_t id) {
    static constexpr const char* kSql = R"sql(
        UPDATE outbox SET attempts = attempts + 1, last_error = ''
        WHERE id = ?1 AND status = 'pending'
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    return query->exec() == 1;
}

void MarkOutboxDone(Db& db, std::int64_t id, Timestamp at) {
    // A cancelled item reaches here only when it was in flight as it was cancelled (the worker
    // sends nothing it could not count an attempt for): the receiver has it, so it is done.
    static constexpr const char* kSql = R"sql(
        UPDATE outbox SET status = 'done', done_at = ?2,
            last_error = CASE WHEN status = 'cancelled'
                              THEN 'delivered while being cancelled (' || last_error || ')'
                              ELSE last_error END
        WHERE id = ?1 AND status IN ('pending', 'cancelled')
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, at);
    query->exec();
}

void MarkOutboxRetry(Db& db, std::int64_t id, Timestamp next_attempt_at, const std::string& error) {
    static constexpr const char* kSql = R"sql(
        UPDATE outbox SET next_attempt_at = ?2, last_error = ?3
        WHERE id = ?1 AND status = 'pending'
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, next_attempt_at);
    BindText(*query, 3, error);
    query->exec();
}

void MarkOutboxDead(Db& db, std::int64_t id, Timestamp at, const std::string& error) {
    static constexpr const char* kSql = R"sql(
        UPDATE outbox SET status = 'dead', done_at = ?2, last_error = ?3
        WHERE id = ?1 AND status = 'pending'
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, at);
    BindText(*query, 3, error);
    query->exec();
}

std::vector<OutboxItem> OutboxForViolation(Db& db, std::int64_t violation_id) {
    static constexpr const char* kSql =
        "SELECT " FG_OUTBOX_COLUMNS " FROM outbox WHERE violation_id = ?1 ORDER BY id";
    Query query(db, kSql);
    query->bind(1, violation_id);
    std::vector<OutboxItem> items;
    while (query->executeStep()) {
        items.push_back(ReadOutbox(*query));
    }
    return items;
}

std::vector<OutboxItem> CancelOutboxForViolation(Db& db, std::int64_t violation_id, Timestamp at,
                                                 const std::string& reason) {
    static constexpr const char* kSelect =
        "SELECT " FG_OUTBOX_COLUMNS
        " FROM outbox WHERE violation_id = ?1 AND status = 'pending' ORDER BY id";
    static constexpr const char* kCancel = R"sql(
        UPDATE outbox SET status = 'cancelled', done_at = ?2, last_error = ?3
        WHERE violation_id = ?1 AND status = 'pending'
    )sql";
    std::vector<OutboxItem> items;
    {
        Query query(db, kSelect);
        query->bind(1, violation_id);
        while (query->executeStep()) {
            items.push_back(ReadOutbox(*query));
        }
    }
    if (!items.empty()) {
        Query query(db, kCancel);
        query->bind(1, violation_id);
        BindTime(*query, 2, at);
        BindText(*query, 3, reason);
        query->exec();
    }
    return items;
}

OutboxStats GetOutboxStats(Db& db) {
    static constexpr const char* kSql = "SELECT status, COUNT(*) FROM outbox GROUP BY status";
    Query query(db, kSql);
    OutboxStats stats;
    while (query->executeStep()) {
        const std::int64_t count = query->getColumn(1).getInt64();
        switch (ParseOutboxStatus(query->getColumn(0).getText())) {
            case OutboxStatus::kPending:
                stats.pending = count;
                break;
            case OutboxStatus::kDone:
                stats.done = count;
                break;
            case OutboxStatus::kDead:
                stats.dead = count;
                break;
            case OutboxStatus::kCancelled:
                stats.cancelled = count;
                break;
        }
    }
    return stats;
}

// ---------------------------------------------------------------- small state

std::optional<std::string> GetMeta(Db& db, const std::string& tenant, const std::string& key) {
    static constexpr const char* kSql = "SELECT value FROM meta WHERE tenant = ?1 AND key = ?2";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, key);
    if (!query->executeStep()) {
        return std::nullopt;
    }
    return query->getColumn(0).getString();
}

void SetMeta(Db& db, const std::string& tenant, const std::string& key, const std::string& value) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO meta (tenant, key, value) VALUES (?1, ?2, ?3)
        ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, key);
    BindText(*query, 3, value);
    query->exec();
}

void DeleteMeta(Db& db, const std::string& tenant, const std::string& key) {
    static constexpr const char* kSql = "DELETE FROM meta WHERE tenant = ?1 AND key = ?2";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, key);
    query->exec();
}

std::int64_t CountStageChanges(Db& db, const std::string& tenant) {
    static constexpr const char* kSql = "SELECT count(*) FROM stage_history WHERE tenant = ?1";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    query->executeStep();
    return query->getColumn(0).getInt64();
}

}  // namespace fg::storage
