#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/common/time.hpp"

namespace fg::adapters::amocrm::sim {

// The simulated account's data, as amoCRM holds it. Ids are dense per entity kind (id = base +
// index), so 100,000 leads and 300,000 tasks stay cheap to hold and to look up.

inline constexpr std::int64_t kWon = 142;
inline constexpr std::int64_t kLost = 143;

struct SimStatus {
    std::int64_t id = 0;
    std::string name{};
    int sort = 0;
    int type = 0;  // 1 = "Неразобранное" (unsorted), 0 = normal
    std::string color{};
    bool is_editable = true;
};

struct SimPipeline {
    std::int64_t id = 0;
    std::string name{};
    int sort = 0;
    bool is_main = false;
    std::vector<SimStatus> statuses{};  // sort order: unsorted, open stages, 142, 143

    const SimStatus* Find(std::int64_t status_id) const;
    /// The open (type 0, not 142/143) stages in order.
    std::vector<std::int64_t> OpenStages() const;
};

struct SimEnum {
    std::int64_t id = 0;
    std::string value{};
    int sort = 0;
};

struct SimField {
    std::int64_t id = 0;
    std::string name{};
    std::string type{};  // "text", "numeric", "date", "select"
    int sort = 0;
    std::vector<SimEnum> enums{};
};

struct SimUser {
    std::int64_t id = 0;
    std::string name{};
    std::string email{};
    bool is_admin = false;
};

/// One value of a custom field. Dates hold unix seconds in decimal; selects hold the enum's text
/// and id.
struct FieldValue {
    std::string value{};
    std::int64_t enum_id = 0;
};

struct LeadField {
    std::int64_t field_id = 0;
    std::vector<FieldValue> values{};
};

struct SimLead {
    std::int64_t id = 0;
    std::string name{};
    std::int64_t price = 0;
    std::int64_t responsible_user_id = 0;
    std::int64_t status_id = 0;
    std::int64_t pipeline_id = 0;
    std::int64_t created_by = 0;
    std::int64_t updated_by = 0;
    Timestamp created_at{};
    Timestamp updated_at{};
    std::optional<Timestamp> closed_at{};
    bool is_deleted = false;
    std::vector<LeadField> fields{};

    const LeadField* Field(std::int64_t field_id) const;
};

struct SimTask {
    std::int64_t id = 0;
    std::int64_t lead_id = 0;  // entity_type is always "leads"
    std::int64_t responsible_user_id = 0;
    std::int64_t created_by = 0;
    std::int64_t updated_by = 0;
    Timestamp created_at{};
    Timestamp updated_at{};
    Timestamp complete_till{};
    std::int64_t duration = 0;
    int task_type_id = 1;  // 1 Звонок (follow-up), 2 Встреча (meeting)
    std::string text{};
    bool is_completed = false;
    std::string result_text{};
    bool is_deleted = false;
};

struct SimNote {
    std::int64_t id = 0;
    std::int64_t lead_id = 0;
    std::string note_type{};  // "common" or "service_message"
    std::string text{};
    std::string service{};  // service_message only
    std::int64_t created_by = 0;
    std::int64_t updated_by = 0;
    std::int64_t responsible_user_id = 0;
    Timestamp created_at{};
    Timestamp updated_at{};
};

enum class EventType : std::uint8_t {
    kLeadAdded,
    kLeadStatusChanged,
    kResponsibleChanged,
    kLeadDeleted,
    kLeadRestored,
    kTaskAdded,
    kTaskCompleted,
    kTaskDeleted,
    kTaskDeadlineChanged,
    kTaskTextChanged,
    kNoteAdded,
};
/// The amoCRM event type code ("lead_status_changed", ...).
std::string_view EventTypeName(EventType type);

/// An entry of the account's event log (GET /api/v4/events). The meaning of the before/after
/// values depends on the type: status changes hold (status_id, pipeline_id), responsible
/// changes a user id in `a`, task and note events the task or note id in `a`, deadline changes
/// unix seconds in `a`.
struct SimEvent {
    std::uint64_t seq = 0;  // the string id is derived from it; grows with created_at
    EventType type = EventType::kLeadAdded;
    std::int64_t lead_id = 0;
    std::int64_t created_by = 0;
    Timestamp created_at{};
    std::int64_t before_a = 0;
    std::int64_t before_b = 0;
    std::int64_t after_a = 0;
    std::int64_t after_b = 0;

    std::string Id() const;
};

struct SimWebhook {
    std::int64_t id = 0;
    std::string destination{};
    std::vector<std::string> settings{};
    int sort = 0;
    std::int64_t created_by = 0;
    Timestamp created_at{};
    Timestamp updated_at{};
};

/// One entity of a webhook body before encoding: `group` is the bracket prefix
/// ("leads[status]", "task[add]"), `setting` the subscription code that selects it
/// ("status_lead"), `fields` the keys under `<group>[i]` in order ("id", "custom_fields[0][id]").
struct HookItem {
    std::string setting{};
    std::string group{};
    std::vector<std::pair<std::string, std::string>> fields{};
};

/// Changes to a lead; unset members stay as they are.
struct LeadPatch {
    std::optional<std::string> name{};
    std::optional<std::int64_t> price{};
    std::optional<std::int64_t> status_id{};
    std::optional<std::int64_t> pipeline_id{};
    std::optional<std::int64_t> responsible_user_id{};
    std::vector<LeadField> fields{};  // replaces these fields; a field with no values is cleared
};

struct TaskPatch {
    std::optional<std::string> text{};
    std::optional<Timestamp> complete_till{};
    std::optional<bool> is_completed{};
    std::optional<std::string> result_text{};
    std::optional<std::int64_t> responsible_user_id{};
    std::optional<int> task_type_id{};
};

/// The account model. Not thread-safe: the Simulator guards it with one mutex. Every mutation
/// appends the webhook items it causes to `hooks` and records its events, so API writes, test
/// hooks and simulated managers all produce the same traces.
class Model {
public:
    static constexpr std::int64_t kLeadBase = 20000000;
    static constexpr std::int64_t kTaskBase = 40000000;
    static constexpr std::int64_t kNoteBase = 50000000;

    std::int64_t account_id = 31000001;
    std::string subdomain = "sim";
    std::string base_url{};          // "http://127.0.0.1:port", for _links
    Duration webhook_utc_offset{0};  // the zone of "YYYY-MM-DD HH:MM:SS" strings in task hooks

    std::vector<SimPipeline> pipelines{};
    std::vector<SimField> fields{};
    std::vector<SimUser> users{};
    std::vector<SimWebhook> webhooks{};

    // Lookups.
    const SimPipeline* Pipeline(std::int64_t id) const;
    const SimPipeline& MainPipeline() const;
    const SimField* Field(std::int64_t id) const;
    const SimUser* User(std::int64_t id) const;
    std::int64_t AdminUserId() const;
    SimLead* Lead(std::int64_t id);
    const SimLead* Lead(std::int64_t id) const;
    SimTask* Task(std::int64_t id);
    const SimTask* Task(std::int64_t id) const;
    SimNote* Note(std::int64_t id);
    const SimNote* Note(std::int64_t id) const;
    const std::vector<SimLead>& Leads() const { return leads_; }
    const std::vector<SimTask>& Tasks() const { return tasks_; }
    const std::vector<SimNote>& Notes() const { return notes_; }
    const std::vector<SimEvent>& Events() const { return events_; }
    /// Task / note ids of a lead, oldest first (deleted tasks included).
    const std::vector<std::int64_t>& LeadTaskIds(std::int64_t lead_id) const;
    const std::vector<std::int64_t>& LeadNoteIds(std::int64_t lead_id) const;
    /// The earliest due time of the lead's open tasks (closest_task_at).
    std::optional<Timestamp> ClosestTask(std::int64_t lead_id) const;
    bool IsClosedStatus(std::int64_t status_id) const {
        return status_id == kWon || status_id == kLost;
    }

    // Mutations (inputs already validated by the caller). `actor` 0 = robot.
    std::int64_t CreateLead(SimLead lead, Timestamp now, std::vector<HookItem>& hooks);
    void UpdateLead(std::int64_t id, const LeadPatch& patch, std::int64_t actor, Timestamp now,
                    std::vector<HookItem>& hooks);
    void DeleteLead(std::int64_t id, std::int64_t actor, Timestamp now,
                    std::vector<HookItem>& hooks);
    void RestoreLead(std::int64_t id, std::int64_t actor, Timestamp now,
                     std::vector<HookItem>& hooks);
    std::int64_t AddTask(SimTask task, Timestamp now, std::vector<HookItem>& hooks);
    void UpdateTask(std::int64_t id, const TaskPatch& patch, std::int64_t actor, Timestamp now,
                    std::vector<HookItem>& hooks);
    void DeleteTask(std::int64_t id, std::int64_t actor, Timestamp now,
                    std::vector<HookItem>& hooks);
    std::int64_t AddNote(SimNote note, Timestamp now, std::vector<HookItem>& hooks);

    // History building for the generator: no webhooks, explicit times.
    std::int64_t InsertLead(SimLead lead);
    std::int64_t InsertTask(SimTask task);
    std::int64_t InsertNote(SimNote note);
    void InsertEvent(SimEvent event);
    /// Sorts the event log by time and renumbers it (after bulk generation).
    void SortEvents();
    void Reserve(std::size_t leads, std::size_t tasks, std::size_t notes, std::size_t events);

    // Webhook field sets (legacy v2 shape), public for tests.
    std::vector<std::pair<std::string, std::string>> LeadHookFields(const SimLead& lead) const;
    std::vector<std::pair<std::string, std::string>> TaskHookFields(const SimTask& task) const;
    std::vector<std::pair<std::string, std::string>> NoteHookFields(const SimNote& note) const;
    /// "YYYY-MM-DD HH:MM:SS" in the webhook zone.
    std::string HookDateTime(Timestamp t) const;

private:
    void AddEvent(EventType type, std::int64_t lead_id, std::int64_t actor, Timestamp now,
                  std::int64_t before_a, std::int64_t before_b, std::int64_t after_a,
                  std::int64_t after_b);

    std::vector<SimLead> leads_{};
    std::vector<SimTask> tasks_{};
    std::vector<SimNote> notes_{};
    std::vector<SimEvent> events_{};
    std::vector<std::vector<std::int64_t>> lead_tasks_{};  // by lead index
    std::vector<std::vector<std::int64_t>> lead_notes_{};
    std::uint64_t next_event_seq_ = 1;
};

}  // namespace fg::adapters::amocrm::sim
