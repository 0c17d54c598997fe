#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fg::adapters::bitrix24 {

/// What a thin event names, as the decoder hands it to the fetch stage (crm::Decoded::fetch) and
/// the fetcher reads it back: "deal:410", "activity:77", "task:5", "comment:12".
struct Reference {
    enum class Kind { kDeal, kActivity, kTask, kComment };
    Kind kind = Kind::kDeal;
    std::string id{};  // decimal

    std::string ToString() const;
    /// nullopt for anything else (a reference of another build, a typo).
    static std::optional<Reference> Parse(std::string_view text);
};

/// The ids Bitrix24 entities have in the mirror: a deal is its ID; a to-do (crm.activity) and a
/// task (tasks.task) are both the deal's tasks, so they are kept apart by prefix; a timeline
/// comment is a note.
inline std::string TodoTaskId(std::string_view activity) { return "todo:" + std::string(activity); }
inline std::string TaskTaskId(std::string_view task) { return "task:" + std::string(task); }
inline std::string CommentNoteId(std::string_view comment) {
    return "comment:" + std::string(comment);
}

/// A positive decimal id as Bitrix24 sends them ("410", or 410 from the newer APIs).
bool IsId(std::string_view text);

}  // namespace fg::adapters::bitrix24
