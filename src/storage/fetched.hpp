#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/domain/model.hpp"

/// What the fetch stage stores with an inbox item it completed (inbox.fetched), so that the
/// writer applies it, after a restart too, without calling the CRM again. Pure; safe to call
/// concurrently.
namespace fg::storage {

struct FetchedDoc {
    /// The item's events: those its body held whole, then those fetched for its references.
    std::vector<domain::Event> events{};
    /// Elements that could not be understood or fetched, each "element: reason" (the rest is
    /// applied), and the inbox reason code they fail the item with.
    std::vector<std::string> failed{};
    std::string failed_reason{};
    /// Elements about entities the rules do not judge, by entity (crm::Decoded::ignored).
    std::map<std::string, int> ignored{};
    /// References whose entity the CRM no longer has.
    int gone = 0;
};

/// A JSON document: {"events": [...], "failed": [...], "failed_reason": "...", "ignored": {...},
/// "gone": N}, each event {"id", "at" (epoch seconds), "type" and its body}. Text that is not
/// UTF-8 is stored with U+FFFD in its place.
std::string EncodeFetched(const FetchedDoc& doc);
/// What EncodeFetched wrote; nullopt for a document it cannot read (then the item's body is
/// decoded again, as for an item without one).
std::optional<FetchedDoc> DecodeFetched(std::string_view text);

}  // namespace fg::storage
