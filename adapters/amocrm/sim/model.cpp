#include "adapters/amocrm/sim/model.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace fg::adapters::amocrm::sim {
namespace {

const std::vector<std::int64_t> kNoIds;

std::string Str(std::int64_t value) { return std::to_string(value); }

}  // namespace

const SimStatus* SimPipeline::Find(std::int64_t status_id) const {
    for (const SimStatus& status : statuses) {
        if (status.id == status_id) {
            return &status;
        }
    }
    return nullptr;
}

std::vector<std::int64_t> SimPipeline::OpenStages() const {
    std::vector<std::int64_t> open;
    for (const SimStatus& status : statuses) {
        if (status.type == 0 && status.id != kWon && status.id != kLost) {
            open.push_back(status.id);
        }
    }
    return open;
}

const LeadField* SimLead::Field(std::int64_t field_id) const {
    for (const LeadField& field : fields) {
        if (field.field_id == field_id) {
            return &field;
        }
    }
    return nullptr;
}

std::string_view EventTypeName(EventType type) {
    switch (type) {
        case EventType::kLeadAdded:
            return "lead_added";
        case EventType::kLeadStatusChanged:
            return "lead_status_changed";
        case EventType::kResponsibleChanged:
            return "entity_responsible_changed";
        case EventType::kLeadDeleted:
            return "lead_deleted";
        case EventType::kLeadRestored:
            return "lead_restored";
        case EventType::kTaskAdded:
            return "task_added";
        case EventType::kTaskCompleted:
            return "task_completed";
        case EventType::kTaskDeleted:
            return "task_deleted";
        case EventType::kTaskDeadlineChanged:
            return "task_deadline_changed";
        case EventType::kTaskTextChanged:
            return "task_text_changed";
        case EventType::kNoteAdded:
            return "common_note_added";
    }
    return "unknown";
}

std::string SimEvent::Id() const {
    // ULID-like: 26 lowercase characters, ordered like the log.
    return fmt::format("01h{:023x}", seq);
}

const SimPipeline* Model::Pipeline(std::int64_t id) const {
    for (const SimPipeline& pipeline : pipelines) {
        if (pipeline.id == id) {
            return &pipeline;
        }
    }
    return nullptr;
}

const SimPipeline& Model::MainPipeline() const {
    for (const SimPipeline& pipeline : pipelines) {
        if (pipeline.is_main) {
            return pipeline;
        }
    }
    return pipelines.front();
}

const SimField* Model::Field(std::int64_t id) const {
    for (const SimField& field : fields) {
        if (field.id == id) {
            return &field;
        }
    }
    return nullptr;
}

const SimUser* Model::User(std::int64_t id) const {
    for (const SimUser& user : users) {
        if (user.id == id) {
            return &user;
        }
    }
    return nullptr;
}

std::int64_t Model::AdminUserId() const {
    for (const SimUser& user : users) {
        if (user.is_admin) {
            return user.id;
        }
    }
    return users.empty() ? 0 : users.front().id;
}

SimLead* Model::Lead(std::int64_t id) {
    const std::int64_t index = id - kLeadBase - 1;
    if (index < 0 || index >= static_cast<std::int64_t>(leads_.size())) {
        return nullptr;
    }
    return &leads_[static_cast<std::size_t>(index)];
}
const SimLead* Model::Lead(std::int64_t id) const { return const_cast<Model*>(this)->Lead(id); }

SimTask* Model::Task(std::int64_t id) {
    const std::int64_t index = id - kTaskBase - 1;
    if (index < 0 || index >= static_cast<std::int64_t>(tasks_.size())) {
        return nullptr;
    }
    return &tasks_[static_cast<std::size_t>(index)];
}
const SimTask* Model::Task(std::int64_t id) const { return const_cast<Model*>(this)->Task(id); }

SimNote* Model::Note(std::int64_t id) {
    const std::int64_t index = id - kNoteBase - 1;
    if (index < 0 || index >= static_cast<std::int64_t>(notes_.size())) {
        return nullptr;
    }
    return &notes_[static_cast<std::size_t>(index)];
}
const SimNote* Model::Note(std::int64_t id) const { return const_cast<Model*>(this)->Note(id); }

const std::vector<std::int64_t>& Model::LeadTaskIds(std::int64_t lead_id) const {
    const std::int64_t index = lead_id - kLeadBase - 1;
    if (index < 0 || index >= static_cast<std::int64_t>(lead_tasks_.size())) {
        return kNoIds;
    }
    return lead_tasks_[static_cast<std::size_t>(index)];
}

const std::vector<std::int64_t>& Model::LeadNoteIds(std::int64_t lead_id) const {
    const std::int64_t index = lead_id - kLeadBase - 1;
    if (index < 0 || index >= static_cast<std::int64_t>(lead_notes_.size())) {
        return kNoIds;
    }
    return lead_notes_[static_cast<std::size_t>(index)];
}

std::optional<Timestamp> Model::ClosestTask(std::int64_t lead_id) const {
    std::optional<Timestamp> closest;
    for (const std::int64_t task_id : LeadTaskIds(lead_id)) {
        const SimTask* task = Task(task_id);
        if (task == nullptr || task->is_completed || task->is_deleted) {
            continue;
        }
        if (!closest || task->complete_till < *closest) {
            closest = task->complete_till;
        }
    }
    return closest;
}

void Model::Reserve(std::size_t leads, std::size_t tasks, std::size_t notes, std::size_t events) {
    leads_.reserve(leads);
    lead_tasks_.reserve(leads);
    lead_notes_.reserve(leads);
    tasks_.reserve(tasks);
    notes_.reserve(notes);
    events_.reserve(events);
}

std::int64_t Model::InsertLead(SimLead lead) {
    lead.id = kLeadBase + static_cast<std::int64_t>(leads_.size()) + 1;
    leads_.push_back(std::move(lead));
    lead_tasks_.emplace_back();
    lead_notes_.emplace_back();
    return leads_.back().id;
}

std::int64_t Model::InsertTask(SimTask task) {
    task.id = kTaskBase + static_cast<std::int64_t>(tasks_.size()) + 1;
    const std::int64_t index = task.lead_id - kLeadBase - 1;
    if (index >= 0 && index < static_cast<std::int64_t>(lead_tasks_.size())) {
        lead_tasks_[static_cast<std::size_t>(index)].push_back(task.id);
    }
    tasks_.push_back(std::move(task));
    return tasks_.back().id;
}

std::int64_t Model::InsertNote(SimNote note) {
    note.id = kNoteBase + static_cast<std::int64_t>(notes_.size()) + 1;
    const std::int64_t index = note.lead_id - kLeadBase - 1;
    if (index >= 0 && index < static_cast<std::int64_t>(lead_notes_.size())) {
        lead_notes_[static_cast<std::size_t>(index)].push_back(note.id);
    }
    notes_.push_back(std::move(note));
    return notes_.back().id;
}

void Model::InsertEvent(SimEvent event) {
    event.seq = next_event_seq_++;
    events_.push_back(event);
}

void Model::SortEvents() {
    std::stable_sort(events_.begin(), events_.end(), [](const SimEvent& a, const SimEvent& b) {
        return a.created_at < b.created_at;
    });
    std::uint64_t seq = 1;
    for (SimEvent& event : events_) {
        event.seq = seq++;
    }
    next_event_seq_ = seq;
}

void Model::AddEvent(EventType type, std::int64_t lead_id, std::int64_t actor, Timestamp now,
                     std::int64_t before_a, std::int64_t before_b, std::int64_t after_a,
                     std::int64_t after_b) {
    InsertEvent(SimEvent{.type = type,
                         .lead_id = lead_id,
                         .created_by = actor,
                         .created_at = now,
                         .before_a = before_a,
                         .before_b = before_b,
                         .after_a = after_a,
                         .after_b = after_b});
}

std::string Model::HookDateTime(Timestamp t) const {
    const Timestamp local = t + webhook_utc_offset;
    const auto day = std::chrono::floor<std::chrono::days>(local);
    const std::chrono::year_month_day date{day};
    const std::chrono::hh_mm_ss time{local - day};
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", static_cast<int>(date.year()),
                       static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                       time.hours().count(), time.minutes().count(), time.seconds().count());
}

std::vector<std::pair<std::string, std::string>> Model::LeadHookFields(const SimLead& lead) const {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(16 + lead.fields.size() * 4);
    out.emplace_back("id", Str(lead.id));
    out.emplace_back("name", lead.name);
    out.emplace_back("status_id", Str(lead.status_id));
    out.emplace_back("price", Str(lead.price));
    out.emplace_back("responsible_user_id", Str(lead.responsible_user_id));
    out.emplace_back("last_modified", Str(ToEpoch(lead.updated_at)));
    out.emplace_back("modified_user_id", Str(lead.updated_by));
    out.emplace_back("created_user_id", Str(lead.created_by));
    out.emplace_back("date_create", Str(ToEpoch(lead.created_at)));
    out.emplace_back("pipeline_id", Str(lead.pipeline_id));
    out.emplace_back("account_id", Str(account_id));
    std::size_t index = 0;
    for (const LeadField& value : lead.fields) {
        const SimField* field = Field(value.field_id);
        if (field == nullptr || value.values.empty()) {
            continue;
        }
        const std::string prefix = fmt::format("custom_fields[{}]", index++);
        out.emplace_back(prefix + "[id]", Str(field->id));
        out.emplace_back(prefix + "[name]", field->name);
        for (std::size_t k = 0; k < value.values.size(); ++k) {
            const FieldValue& item = value.values[k];
            if (field->type == "date") {
                // Date fields omit the [value] level (amocrm.md §1.1, sample C).
                out.emplace_back(fmt::format("{}[values][{}]", prefix, k), item.value);
                continue;
            }
            out.emplace_back(fmt::format("{}[values][{}][value]", prefix, k), item.value);
            if (field->type == "select") {
                out.emplace_back(fmt::format("{}[values][{}][enum]", prefix, k), Str(item.enum_id));
            }
        }
    }
    out.emplace_back("created_at", Str(ToEpoch(lead.created_at)));
    out.emplace_back("updated_at", Str(ToEpoch(lead.updated_at)));
    return out;
}

std::vector<std::pair<std::string, std::string>> Model::TaskHookFields(const SimTask& task) const {
    return {
        {"id", Str(task.id)},
        {"element_id", Str(task.lead_id)},
        {"element_type", "2"},
        {"task_type", Str(task.task_type_id)},
        {"date_create", HookDateTime(task.created_at)},
        {"text", task.text},
        {"status", task.is_completed ? "1" : "0"},
        {"account_id", Str(account_id)},
        {"created_user_id", Str(task.created_by)},
        {"last_modified", HookDateTime(task.updated_at)},
        {"responsible_user_id", Str(task.responsible_user_id)},
        {"complete_till", HookDateTime(task.complete_till)},
        {"created_at", Str(ToEpoch(task.created_at))},
        {"updated_at", Str(ToEpoch(task.updated_at))},
        {"complete_before", Str(ToEpoch(task.complete_till))},
    };
}

std::vector<std::pair<std::string, std::string>> Model::NoteHookFields(const SimNote& note) const {
    const SimUser* author = User(note.created_by);
    const std::string metadata =
        fmt::format(R"({{"event_source":{{"id":{},"author_name":"{}","type":1}}}})",
                    note.created_by, author != nullptr ? author->name : "Robot");
    return {
        {"note[text]", note.text},
        {"note[attachement]", ""},
        {"note[date_create]", HookDateTime(note.created_at)},
        {"note[note_type]", note.note_type == "service_message" ? "25" : "4"},
        {"note[element_type]", "2"},
        {"note[element_id]", Str(note.lead_id)},
        {"note[catalog_id]", "0"},
        {"note[group_id]", "0"},
        {"note[timestamp_x]", HookDateTime(note.updated_at)},
        {"note[account_id]", Str(account_id)},
        {"note[metadata]", metadata},
        {"note[created_by]", Str(note.created_by)},
        {"note[modified_by]", Str(note.updated_by)},
        {"note[main_user_id]", Str(note.responsible_user_id)},
        {"note[id]", Str(note.id)},
        {"note[created_at]", Str(ToEpoch(note.created_at))},
        {"note[updated_at]", Str(ToEpoch(note.updated_at))},
    };
}

std::int64_t Model::CreateLead(SimLead lead, Timestamp now, std::vector<HookItem>& hooks) {
    lead.created_at = now;
    lead.updated_at = now;
    lead.updated_by = lead.created_by;
    lead.closed_at = IsClosedStatus(lead.status_id) ? std::optional<Timestamp>(now) : std::nullopt;
    const std::int64_t id = InsertLead(std::move(lead));
    const SimLead& stored = *Lead(id);
    AddEvent(EventType::kLeadAdded, id, stored.created_by, now, 0, 0, stored.status_id,
             stored.pipeline_id);
    hooks.push_back({"add_lead", "leads[add]", LeadHookFields(stored)});
    return id;
}

void Model::UpdateLead(std::int64_t id, const LeadPatch& patch, std::int64_t actor, Timestamp now,
                       std::vector<HookItem>& hooks) {
    SimLead* lead = Lead(id);
    if (lead == nullptr) {
        return;
    }
    const std::int64_t old_status = lead->status_id;
    const std::int64_t old_pipeline = lead->pipeline_id;
    const std::int64_t old_responsible = lead->responsible_user_id;
    if (patch.name) {
        lead->name = *patch.name;
    }
    if (patch.price) {
        lead->price = *patch.price;
    }
    if (patch.pipeline_id) {
        lead->pipeline_id = *patch.pipeline_id;
    }
    if (patch.status_id) {
        lead->status_id = *patch.status_id;
    }
    if (patch.responsible_user_id) {
        lead->responsible_user_id = *patch.responsible_user_id;
    }
    for (const LeadField& field : patch.fields) {
        auto existing =
            std::find_if(lead->fields.begin(), lead->fields.end(),
                         [&](const LeadField& f) { return f.field_id == field.field_id; });
        if (field.values.empty()) {
            if (existing != lead->fields.end()) {
                lead->fields.erase(existing);
            }
        } else if (existing != lead->fields.end()) {
            existing->values = field.values;
        } else {
            lead->fields.push_back(field);
        }
    }
    lead->updated_at = now;
    lead->updated_by = actor;
    const bool status_changed = lead->status_id != old_status || lead->pipeline_id != old_pipeline;
    if (status_changed) {
        const bool closed = IsClosedStatus(lead->status_id);
        if (closed && !IsClosedStatus(old_status)) {
            lead->closed_at = now;
        } else if (!closed) {
            lead->closed_at.reset();
        }
        AddEvent(EventType::kLeadStatusChanged, id, actor, now, old_status, old_pipeline,
                 lead->status_id, lead->pipeline_id);
    }
    const bool responsible_changed = lead->responsible_user_id != old_responsible;
    if (responsible_changed) {
        AddEvent(EventType::kResponsibleChanged, id, actor, now, old_responsible, 0,
                 lead->responsible_user_id, 0);
    }
    HookItem update{"update_lead", "leads[update]", LeadHookFields(*lead)};
    if (status_changed) {
        update.fields.emplace_back("old_status_id", Str(old_status));
    }
    hooks.push_back(std::move(update));
    if (status_changed) {
        HookItem status{"status_lead", "leads[status]", LeadHookFields(*lead)};
        status.fields.emplace_back("old_status_id", Str(old_status));
        hooks.push_back(std::move(status));
    }
    if (responsible_changed) {
        HookItem responsible{"responsible_lead", "leads[responsible]", LeadHookFields(*lead)};
        responsible.fields.emplace_back("old_responsible_user_id", Str(old_responsible));
        hooks.push_back(std::move(responsible));
    }
}

void Model::DeleteLead(std::int64_t id, std::int64_t actor, Timestamp now,
                       std::vector<HookItem>& hooks) {
    SimLead* lead = Lead(id);
    if (lead == nullptr || lead->is_deleted) {
        return;
    }
    lead->is_deleted = true;
    lead->updated_at = now;
    lead->updated_by = actor;
    AddEvent(EventType::kLeadDeleted, id, actor, now, 0, 0, 0, 0);
    hooks.push_back({"delete_lead",
                     "leads[delete]",
                     {{"id", Str(id)},
                      {"status_id", Str(lead->status_id)},
                      {"pipeline_id", Str(lead->pipeline_id)}}});
}

void Model::RestoreLead(std::int64_t id, std::int64_t actor, Timestamp now,
                        std::vector<HookItem>& hooks) {
    SimLead* lead = Lead(id);
    if (lead == nullptr || !lead->is_deleted) {
        return;
    }
    lead->is_deleted = false;
    lead->updated_at = now;
    lead->updated_by = actor;
    AddEvent(EventType::kLeadRestored, id, actor, now, 0, 0, 0, 0);
    hooks.push_back({"restore_lead", "leads[restore]", LeadHookFields(*lead)});
}

std::int64_t Model::AddTask(SimTask task, Timestamp now, std::vector<HookItem>& hooks) {
    task.created_at = now;
    task.updated_at = now;
    task.updated_by = task.created_by;
    const std::int64_t id = InsertTask(std::move(task));
    const SimTask& stored = *Task(id);
    AddEvent(EventType::kTaskAdded, stored.lead_id, stored.created_by, now, 0, 0, id, 0);
    hooks.push_back({"add_task", "task[add]", TaskHookFields(stored)});
    return id;
}

void Model::UpdateTask(std::int64_t id, const TaskPatch& patch, std::int64_t actor, Timestamp now,
                       std::vector<HookItem>& hooks) {
    SimTask* task = Task(id);
    if (task == nullptr || task->is_deleted) {
        return;
    }
    const std::string old_text = task->text;
    const Timestamp old_till = task->complete_till;
    const bool was_completed = task->is_completed;
    const std::int64_t old_responsible = task->responsible_user_id;
    if (patch.text) {
        task->text = *patch.text;
    }
    if (patch.complete_till) {
        task->complete_till = *patch.complete_till;
    }
    if (patch.is_completed) {
        task->is_completed = *patch.is_completed;
    }
    if (patch.result_text) {
        task->result_text = *patch.result_text;
    }
    if (patch.responsible_user_id) {
        task->responsible_user_id = *patch.responsible_user_id;
    }
    if (patch.task_type_id) {
        task->task_type_id = *patch.task_type_id;
    }
    task->updated_at = now;
    task->updated_by = actor;
    if (task->is_completed && !was_completed) {
        AddEvent(EventType::kTaskCompleted, task->lead_id, actor, now, 0, 0, id, 0);
    }
    if (task->complete_till != old_till) {
        AddEvent(EventType::kTaskDeadlineChanged, task->lead_id, actor, now, ToEpoch(old_till), id,
                 ToEpoch(task->complete_till), id);
    }
    if (task->text != old_text) {
        AddEvent(EventType::kTaskTextChanged, task->lead_id, actor, now, 0, 0, id, 0);
    }
    HookItem item{"update_task", "task[update]", TaskHookFields(*task)};
    if (task->is_completed && !was_completed) {
        item.fields.emplace_back("action_close", "1");
    }
    item.fields.emplace_back("old_text", old_text);
    if (!task->result_text.empty()) {
        item.fields.emplace_back("result[text]", task->result_text);
    }
    if (task->responsible_user_id != old_responsible) {
        item.fields.emplace_back("old_responsible_user_id", Str(old_responsible));
    }
    item.fields.emplace_back("modified_by", Str(actor));
    hooks.push_back(std::move(item));
}

void Model::DeleteTask(std::int64_t id, std::int64_t actor, Timestamp now,
                       std::vector<HookItem>& hooks) {
    SimTask* task = Task(id);
    if (task == nullptr || task->is_deleted) {
        return;
    }
    task->is_deleted = true;
    task->updated_at = now;
    task->updated_by = actor;
    AddEvent(EventType::kTaskDeleted, task->lead_id, actor, now, id, 0, 0, 0);
    hooks.push_back({"delete_task", "task[delete]", {{"id", Str(id)}}});
}

std::int64_t Model::AddNote(SimNote note, Timestamp now, std::vector<HookItem>& hooks) {
    note.created_at = now;
    note.updated_at = now;
    note.updated_by = note.created_by;
    const std::int64_t id = InsertNote(std::move(note));
    const SimNote& stored = *Note(id);
    if (stored.note_type == "common") {
        AddEvent(EventType::kNoteAdded, stored.lead_id, stored.created_by, now, 0, 0, id, 0);
    }
    hooks.push_back({"note_lead", "leads[note]", NoteHookFields(stored)});
    return id;
}

}  // namespace fg::adapters::amocrm::sim
