#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapters/bitrix24/sim/index.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::bitrix24::sim {

/// A deal stage (crm.status.list, ENTITY_ID DEAL_STAGE or DEAL_STAGE_<category>).
struct SimStage {
    std::int64_t row_id = 0;  // the status row's ID
    std::string status_id{};  // "NEW"; "C1:NEW" in category 1
    std::string name{};
    int sort = 0;
    char semantics = 'P';  // 'P' in progress, 'S' success, 'F' failure
};

/// A deal pipeline (crm.category.list entityTypeId 2; id 0 is the default one).
struct SimCategory {
    int id = 0;
    std::string name{};
    int sort = 0;
    std::vector<SimStage> stages{};  // in SORT order: in progress, success, failures
};

struct SimUser {
    std::int64_t id = 0;
    std::string name{};
    std::string last_name{};
    std::string email{};
    bool admin = false;
};

/// A deal user field (crm.deal.userfield.list, crm.deal.fields).
struct SimUserField {
    std::int64_t id = 0;
    std::string field_name{};  // "UF_CRM_1700000000001"
    std::string type{};        // "string" | "double" | "date"
    std::string label{};       // as users see it
};

struct SimDeal {
    std::int64_t id = 0;
    std::string title{};
    int category_id = 0;
    std::string stage_id{};
    std::int64_t assigned_by = 0;
    std::int64_t created_by = 0;
    std::int64_t modified_by = 0;
    std::int64_t moved_by = 0;
    Timestamp created{};
    Timestamp modified{};
    Timestamp moved{};
    double opportunity = 0;
    std::string comments{};
    std::map<std::string, std::string> fields{};  // UF_CRM_* -> value ("" = empty)
    bool deleted = false;
};

/// A CRM activity: the universal to-do (PROVIDER_ID CRM_TODO) bound to a deal.
struct SimActivity {
    std::int64_t id = 0;
    std::int64_t owner_id = 0;  // the deal
    int owner_type_id = 2;
    std::string subject{};
    std::string description{};
    Timestamp created{};
    Timestamp updated{};
    Timestamp deadline{};
    bool completed = false;
    std::int64_t responsible = 0;
    std::int64_t author = 0;
    std::optional<Timestamp> closed_at{};  // completed or deleted
    bool deleted = false;
    std::vector<std::pair<Timestamp, Timestamp>> deadlines{};  // (since, deadline), oldest first
};

/// A task (tasks.task.*), bound to deals through UF_CRM_TASK ["D_<id>"].
struct SimTask {
    std::int64_t id = 0;
    std::string title{};
    std::string description{};
    std::int64_t responsible = 0;
    std::int64_t created_by = 0;
    std::optional<Timestamp> deadline{};
    int status = 2;  // 2 pending, 3 in progress, 5 completed, 6 deferred
    Timestamp created{};
    Timestamp changed{};
    std::optional<Timestamp> closed_at{};  // completed or deleted
    std::vector<std::string> crm{};        // UF_CRM_TASK
    bool deleted = false;
    std::vector<std::pair<Timestamp, std::optional<Timestamp>>> deadlines{};
};

struct SimComment {
    std::int64_t id = 0;
    std::int64_t entity_id = 0;
    std::string entity_type = "deal";
    std::string comment{};
    std::int64_t author = 0;
    Timestamp created{};
};

/// One crm.stagehistory.list row. type_id: 1 created, 2 intermediate stage, 3 final stage,
/// 5 pipeline changed.
struct SimStageHistory {
    std::int64_t id = 0;
    int type_id = 1;
    std::int64_t owner_id = 0;
    Timestamp created{};
    int category_id = 0;
    char semantics = 'P';
    std::string stage_id{};
};

struct SimNotification {
    std::int64_t id = 0;
    std::int64_t user_id = 0;
    std::string message{};
    std::string tag{};
    bool personal = false;
    Timestamp at{};
};

/// An event handler: bound by an app with event.bind, or an outbound webhook's.
struct SimHandler {
    std::int64_t id = 0;
    std::string event{};  // upper case
    std::string url{};
    bool app = true;  // app handlers get OAuth tokens in auth[...]; outbound webhooks do not
};

/// An event as Bitrix24 queues it: the name and its data[...] pairs, form keys without the
/// "data" prefix (e.g. {"[FIELDS][ID]", "7"}).
struct SimEvent {
    std::string name{};
    std::vector<std::pair<std::string, std::string>> data{};
    Timestamp at{};
};

/// Where ONCRMTIMELINECOMMENTADD carries the comment id: data[FIELDS][ID] as the server code
/// sends it, data[ID] as the docs show it, or the two in turn (bitrix24.md §1.2 G).
enum class CommentIdShape { kFields, kFlat, kAlternate };

/// A deal as a manager or a test creates it; zero/empty take the defaults (category 0, its
/// first stage, the admin).
struct DealDraft {
    std::string title{};
    int category_id = 0;
    std::string stage_id{};
    std::int64_t assigned_by = 0;
    double opportunity = 0;
    std::map<std::string, std::string> fields{};
};

/// The portal's state and every mutation, each of which records its events in `events` (the
/// simulator sends them) and its stage history. No locking: the simulator holds its mutex.
class Model {
public:
    std::vector<SimCategory> categories{};
    std::vector<SimUser> users{};
    std::vector<SimUserField> user_fields{};
    std::map<std::int64_t, SimDeal> deals{};
    std::map<std::int64_t, SimActivity> activities{};
    std::map<std::int64_t, SimTask> tasks{};
    std::map<std::int64_t, SimComment> comments{};
    std::vector<SimStageHistory> history{};
    std::vector<SimNotification> notifications{};
    std::vector<SimHandler> handlers{};
    std::vector<SimEvent> events{};  // produced, not yet sent
    CommentIdShape comment_id_shape = CommentIdShape::kFields;
    std::uint64_t comment_events = 0;
    std::int64_t next_deal = 1, next_activity = 1, next_task = 1, next_comment = 1;
    std::int64_t next_history = 1, next_notification = 1, next_handler = 1, next_other = 1;
    /// The list methods' shortcuts (ListPlan, the owner indexes); off = the general path of
    /// rendering, matching and sorting every row, which answers the same.
    bool fast_lists = true;
    ListIndex index{};  // caught up by the list methods

    const SimCategory* Category(int id) const;
    /// The stage `stage_id` and its category, or nullptr.
    const SimStage* Stage(const std::string& stage_id, int* category_id = nullptr) const;
    const SimUser* User(std::int64_t id) const;
    const SimUserField* UserField(const std::string& field_name) const;
    std::int64_t AdminId() const;
    bool DealOpen(const SimDeal& deal) const;

    /// Everything here validates what the API validates and returns an error text ("" = ok).
    std::string AddDeal(const DealDraft& draft, std::int64_t actor, Timestamp now,
                        std::int64_t* id);
    /// Sets STAGE_ID (same category), TITLE, OPPORTUNITY, ASSIGNED_BY_ID, COMMENTS, UF_CRM_*.
    std::string UpdateDeal(std::int64_t id, const std::map<std::string, std::string>& fields,
                           std::int64_t actor, Timestamp now);
    /// Moves to another pipeline: CATEGORY_ID and STAGE_ID change, stage history records it,
    /// and only ONCRMDEALMOVETOCATEGORY is raised (never ONCRMDEALUPDATE).
    std::string MoveDealToCategory(std::int64_t id, int category_id, const std::string& stage_id,
                                   std::int64_t actor, Timestamp now);
    std::string DeleteDeal(std::int64_t id, Timestamp now);

    std::string AddActivity(const SimActivity& draft, Timestamp now, std::int64_t* id);
    std::string UpdateActivity(std::int64_t id, std::optional<bool> completed,
                               std::optional<Timestamp> deadline,
                               std::optional<std::string> subject, Timestamp now);
    std::string DeleteActivity(std::int64_t id, Timestamp now);

    std::string AddTask(const SimTask& draft, Timestamp now, std::int64_t* id);
    std::string UpdateTask(std::int64_t id, std::optional<int> status,
                           std::optional<std::optional<Timestamp>> deadline,
                           std::optional<std::string> title, Timestamp now);
    std::string DeleteTask(std::int64_t id, Timestamp now);

    std::string AddComment(std::int64_t deal_id, const std::string& text, std::int64_t author,
                           Timestamp now, std::int64_t* id);

    /// An event about an entity the simulator does not keep (a lead, a contact): `name` with
    /// data[FIELDS][ID] = a fresh id.
    std::int64_t RaiseOther(const std::string& name, Timestamp now);

private:
    void Raise(std::string name, std::vector<std::pair<std::string, std::string>> data,
               Timestamp now);
    void RaiseId(const std::string& name, std::int64_t id, Timestamp now);
    void RaiseTask(const std::string& name, std::int64_t id, Timestamp now);
    void RecordStage(const SimDeal& deal, int type_id, Timestamp now);
};

/// "D_<id>" in a task's UF_CRM_TASK.
std::string DealBinding(std::int64_t deal_id);

}  // namespace fg::adapters::bitrix24::sim
