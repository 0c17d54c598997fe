#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "src/domain/model.hpp"

/// How a deal row stores what is not a plain column: its custom fields (deals.fields, a JSON object
/// of strings) and its stage history, tasks and notes (deals.doc, a binary document). Internal to
/// storage; pure functions, safe to call concurrently.
namespace fg::storage::detail {

/// The fields as a compact JSON object of strings, keys in map order, readable with SQLite's JSON
/// functions: `{"key":"value",...}` (UTF-8 as is; quotes, backslashes and control characters
/// escaped as nlohmann's dump() does; invalid UTF-8 replaced by U+FFFD).
std::string EncodeFields(const std::map<std::string, std::string>& fields);
/// Fills `out` from deals.fields. Deals mostly share their field names, so when the keys match the
/// map's current ones the values are assigned in place: no node or string is reallocated. A JSON
/// object whose values are not all strings (written by hand, say) is read too: non-string values
/// keep their JSON text, and bytes that are not UTF-8 (older builds stored them as they came) read
/// as U+FFFD. Throws nlohmann::json::exception on text that is not JSON.
void DecodeFields(std::string_view text, std::map<std::string, std::string>& out);

/// A deal's stage history, tasks and notes as deals.doc holds them: history in CRM time order
/// (arrival order within a second), tasks by id, notes by (at, id).
struct DealDoc {
    std::vector<domain::StageChange> history{};
    std::vector<domain::Task> tasks{};
    std::vector<domain::Note> notes{};

    bool Empty() const { return history.empty() && tasks.empty() && notes.empty(); }
};

/// The document's bytes (the layout is documented in migrations/0001_init.sql); an empty document
/// is an empty blob.
std::string EncodeDoc(const DealDoc& doc);
/// Reads what EncodeDoc wrote into the vectors, reusing their elements (a streamed snapshot
/// decodes deal after deal into the same vectors without allocating); tasks and notes get
/// `deal_id`. Throws SQLite::Exception (naming the deal) on a malformed document or one of an
/// unknown version.
void DecodeDoc(std::string_view data, const std::string& tenant, const std::string& deal_id,
               std::vector<domain::StageChange>& history, std::vector<domain::Task>& tasks,
               std::vector<domain::Note>& notes);

}  // namespace fg::storage::detail
