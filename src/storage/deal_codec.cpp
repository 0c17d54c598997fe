#include "src/storage/deal_codec.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "src/common/time.hpp"

namespace fg::storage::detail {
namespace {

// ---------------------------------------------------------------- deal fields

// The fast path of DecodeFields: a SAX handler for the flat object of strings that EncodeFields
// writes. It fills the map as the parser goes (no DOM: a check sweep decodes every deal's fields),
// and gives up (returns false) on anything else, which the DOM parse then reads.
class FieldsReader {
public:
    explicit FieldsReader(std::map<std::string, std::string>& out)
        : out_(out), next_(out.begin()), current_(out.end()) {}

    // After a successful parse: drops the keys the text did not have.
    void Finish() { out_.erase(next_, out_.end()); }

    bool start_object(std::size_t /*size*/) { return depth_++ == 0; }
    bool end_object() {
        --depth_;
        return true;
    }
    bool key(std::string& key) {
        if (next_ != out_.end() && next_->first == key) {
            current_ = next_++;
        } else {
            next_ = out_.erase(next_, out_.end());
            current_ = out_.insert_or_assign(key, std::string()).first;
        }
        return true;
    }
    bool string(std::string& value) {
        if (depth_ != 1 || current_ == out_.end()) {
            return false;  // a string that is not an object's value
        }
        current_->second.assign(value);
        current_ = out_.end();
        return true;
    }

    // Not the flat shape: left to the DOM parse.
    bool null() { return false; }
    bool boolean(bool /*value*/) { return false; }
    bool number_integer(nlohmann::json::number_integer_t /*value*/) { return false; }
    bool number_unsigned(nlohmann::json::number_unsigned_t /*value*/) { return false; }
    bool number_float(nlohmann::json::number_float_t /*value*/, const std::string& /*text*/) {
        return false;
    }
    bool binary(nlohmann::json::binary_t& /*value*/) { return false; }
    bool start_array(std::size_t /*size*/) { return false; }
    bool end_array() { return false; }
    bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                     const nlohmann::json::exception& /*error*/) {
        return false;
    }

private:
    std::map<std::string, std::string>& out_;
    std::map<std::string, std::string>::iterator next_;     // the next key expected, if the same
    std::map<std::string, std::string>::iterator current_;  // the key whose value comes next
    int depth_ = 0;
};

// ---------------------------------------------------------------- the deal document

// A deal's stage history, tasks and notes live in its row, as one compact binary document
// (deals.doc), so that a sweep reads one row per deal and decodes it with little more than
// memcpy: SQLite spends about as much per column as per row, and a merge-join of four tables read
// ~70 columns a deal (measured: 4x slower); JSON took twice the decoding time of this format.

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

}  // namespace

std::string EncodeFields(const std::map<std::string, std::string>& fields) {
    return nlohmann::json(fields).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void DecodeFields(std::string_view text, std::map<std::string, std::string>& out) {
    FieldsReader reader(out);
    if (nlohmann::json::sax_parse(text.data(), text.data() + text.size(), &reader)) {
        reader.Finish();
        return;
    }
    // Not the flat shape (written by hand, say): through the full parser; non-string values keep
    // their JSON text.
    out.clear();
    nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
        // Not JSON, or not UTF-8: builds before this one wrote the fields' bytes as they came.
        // Read with every invalid sequence replaced by U+FFFD, as EncodeFields writes it now (the
        // text, dumped as a JSON string with the replacing error handler, and read back).
        const std::string utf8 =
            nlohmann::json::parse(
                nlohmann::json(std::string(text))
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
                .get<std::string>();
        json = nlohmann::json::parse(utf8);  // throws on what is not JSON at all
    }
    for (const auto& [key, value] : json.items()) {
        out.emplace(key, value.is_string() ? value.get<std::string>() : value.dump());
    }
}

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

}  // namespace fg::storage::detail
