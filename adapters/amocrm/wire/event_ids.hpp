#pragma once

#include <cstdint>
#include <string>

namespace fg::adapters::amocrm {

/// Event ids of amoCRM entities: the dedupe key within a tenant (domain::Event::id). The webhook
/// decoder and the API reader build them here, so one version of a card reaches the mirror once
/// whichever way it came. Times are unix seconds of the entity's last change (`updated_at`, in
/// webhooks also `last_modified`, else the time of receipt); ids are the CRM's decimal ids, or for
/// a webhook element that came without one, "x" and 16 hex digits derived from its content.

/// A version of a lead: "lead:{id}@{updated_at}:{status_id}". The status is part of it because a
/// robot can move a lead twice within one second.
inline std::string LeadVersionEventId(std::int64_t lead_id, std::int64_t updated_at,
                                      std::int64_t status_id) {
    return "lead:" + std::to_string(lead_id) + "@" + std::to_string(updated_at) + ":" +
           std::to_string(status_id);
}

/// The stage a lead left, as a `leads[status]` webhook's old_status_id reports it:
/// "lead:{id}@{updated_at}:{status_id}:from:{old_status_id}". Webhook-only.
inline std::string LeadPriorStageEventId(std::int64_t lead_id, std::int64_t updated_at,
                                         std::int64_t status_id, std::int64_t old_status_id) {
    return LeadVersionEventId(lead_id, updated_at, status_id) +
           ":from:" + std::to_string(old_status_id);
}

/// "lead:{id}:deleted".
inline std::string LeadDeletedEventId(std::int64_t lead_id) {
    return "lead:" + std::to_string(lead_id) + ":deleted";
}

/// "task:{id}@{updated_at}".
inline std::string TaskVersionEventId(const std::string& task_id, std::int64_t updated_at) {
    return "task:" + task_id + "@" + std::to_string(updated_at);
}
inline std::string TaskVersionEventId(std::int64_t task_id, std::int64_t updated_at) {
    return TaskVersionEventId(std::to_string(task_id), updated_at);
}

/// "task:{id}:deleted".
inline std::string TaskDeletedEventId(std::int64_t task_id) {
    return "task:" + std::to_string(task_id) + ":deleted";
}

/// "note:{id}": a note is added once; later edits are not events.
inline std::string NoteEventId(const std::string& note_id) { return "note:" + note_id; }
inline std::string NoteEventId(std::int64_t note_id) {
    return NoteEventId(std::to_string(note_id));
}

}  // namespace fg::adapters::amocrm
