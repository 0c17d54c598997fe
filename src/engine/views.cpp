#include "src/engine/views.hpp"

#include "src/common/json_text.hpp"

namespace fg::engine {
namespace {

std::string Time(Timestamp t, const std::string& time_zone) {
    return time_zone.empty() ? FormatIso8601(t) : FormatIso8601(t, time_zone);
}

nlohmann::json OptionalTime(const std::optional<Timestamp>& t, const std::string& time_zone) {
    return t ? nlohmann::json(Time(*t, time_zone)) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json ViolationToJson(const storage::Violation& v, const std::string& time_zone) {
    return {
        {"id", v.id},
        {"tenant", v.tenant},
        {"deal", v.deal_id},
        {"deal_title", v.deal_title},
        {"rule", v.rule},
        {"responsible", v.responsible},
        {"state", v.resolved_at ? "resolved" : "open"},
        {"opened_at", Time(v.opened_at, time_zone)},
        {"resolved_at", OptionalTime(v.resolved_at, time_zone)},
        {"resolution",
         v.resolution.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.resolution)},
        {"escalated_at", OptionalTime(v.escalated_at, time_zone)},
        {"details", v.details},
        {"message", v.message},
    };
}

nlohmann::json SnapshotToJson(const domain::DealSnapshot& snapshot, const std::string& time_zone) {
    const domain::Deal& deal = snapshot.deal;
    nlohmann::json out = {
        {"tenant", deal.tenant},
        {"id", deal.id},
        {"title", deal.title},
        {"pipeline", deal.pipeline},
        {"stage", deal.stage},
        {"responsible", deal.responsible},
        {"fields", deal.fields},
        {"created_at", Time(deal.created_at, time_zone)},
        {"updated_at", Time(deal.updated_at, time_zone)},
        {"deleted", deal.deleted},
    };
    nlohmann::json history = nlohmann::json::array();
    for (const domain::StageChange& change : snapshot.history) {
        history.push_back({{"at", Time(change.at, time_zone)},
                           {"pipeline", change.pipeline},
                           {"stage", change.stage},
                           {"by_funnelguard", change.own}});
    }
    out["stage_history"] = std::move(history);
    nlohmann::json tasks = nlohmann::json::array();
    for (const domain::Task& task : snapshot.tasks) {
        tasks.push_back({{"id", task.id},
                         {"text", task.text},
                         {"responsible", task.responsible},
                         {"due", OptionalTime(task.due, time_zone)},
                         {"done", task.done},
                         {"deleted", task.deleted},
                         {"closed_at", OptionalTime(task.closed_at, time_zone)},
                         {"reschedules", task.reschedules},
                         {"by_funnelguard", task.own}});
    }
    out["tasks"] = std::move(tasks);
    nlohmann::json notes = nlohmann::json::array();
    for (const domain::Note& note : snapshot.notes) {
        notes.push_back({{"id", note.id},
                         {"at", Time(note.at, time_zone)},
                         {"text", note.text},
                         {"by_funnelguard", note.own}});
    }
    out["notes"] = std::move(notes);
    return out;
}

void LocalizeDetailTimes(nlohmann::json& details, const std::string& time_zone) {
    if (!details.is_object()) {
        return;
    }
    for (const char* key : {"at", "due", "left_at", "entered_at", "without_task_since"}) {
        const auto found = details.find(key);
        if (found == details.end() || !found->is_string()) {
            continue;
        }
        if (const std::optional<Timestamp> at = ParseIso8601(found->get<std::string>())) {
            *found = Time(*at, time_zone);
        }
    }
}

void AppendCheckItem(std::string& out, const CheckItem& item) {
    // The keys in nlohmann's (sorted) order.
    out += "{\"acknowledged\":";
    out += item.acknowledged ? "true" : "false";
    out += ",\"deal\":";
    AppendJsonString(out, item.deal.id);
    out += ",\"deal_title\":";
    AppendJsonString(out, item.deal.title);
    out += ",\"details\":";
    AppendJson(out, item.finding.details);
    out += ",\"message\":";
    AppendJsonString(out, item.message);
    out += ",\"opened_at\":";
    AppendJsonString(out, FormatIso8601(item.opened_at, item.time_zone));
    out += ",\"responsible\":";
    AppendJsonString(out, item.finding.responsible);
    out += ",\"responsible_name\":";
    if (item.responsible_name != nullptr) {
        AppendJsonString(out, *item.responsible_name);
    } else {
        out += "null";
    }
    out += ",\"rule\":";
    AppendJsonString(out, item.finding.rule);
    out += ",\"tenant\":";
    AppendJsonString(out, item.tenant);
    out += '}';
}

nlohmann::json InboxEntryToJson(const storage::InboxEntry& entry, const std::string& time_zone) {
    nlohmann::json item = {
        {"seq", entry.seq},
        {"tenant", entry.tenant},
        {"crm", entry.crm},
        {"state", storage::InboxStateName(entry.state)},
        {"reason", entry.reason},
        {"error", entry.error},
        {"received_at", Time(entry.received_at, time_zone)},
        {"processed_at", OptionalTime(entry.processed_at, time_zone)},
        {"attempts", entry.attempts},
    };
    if (entry.waiting_since) {
        item["waiting_since"] = Time(*entry.waiting_since, time_zone);
    }
    if (entry.next_attempt_at) {
        item["next_attempt_at"] = Time(*entry.next_attempt_at, time_zone);
    }
    if (!entry.fetch_error.empty()) {
        item["last_attempt_error"] = entry.fetch_error;
    }
    if (entry.fetched_at) {
        item["fetched_at"] = Time(*entry.fetched_at, time_zone);
    }
    return item;
}

nlohmann::json InboxCountsToJson(const std::map<storage::InboxState, std::int64_t>& counts) {
    nlohmann::json out = nlohmann::json::object();
    for (const storage::InboxState state : storage::kInboxStates) {
        const auto found = counts.find(state);
        out[std::string(storage::InboxStateName(state))] =
            found == counts.end() ? 0 : found->second;
    }
    return out;
}

}  // namespace fg::engine
