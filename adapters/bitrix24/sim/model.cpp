#include "adapters/bitrix24/sim/model.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace fg::adapters::bitrix24::sim {

std::string DealBinding(std::int64_t deal_id) { return fmt::format("D_{}", deal_id); }

const SimCategory* Model::Category(int id) const {
    for (const SimCategory& category : categories) {
        if (category.id == id) {
            return &category;
        }
    }
    return nullptr;
}

const SimStage* Model::Stage(const std::string& stage_id, int* category_id) const {
    for (const SimCategory& category : categories) {
        for (const SimStage& stage : category.stages) {
            if (stage.status_id == stage_id) {
                if (category_id != nullptr) {
                    *category_id = category.id;
                }
                return &stage;
            }
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

const SimUserField* Model::UserField(const std::string& field_name) const {
    for (const SimUserField& field : user_fields) {
        if (field.field_name == field_name) {
            return &field;
        }
    }
    return nullptr;
}

std::int64_t Model::AdminId() const {
    for (const SimUser& user : users) {
        if (user.admin) {
            return user.id;
        }
    }
    return users.empty() ? 1 : users.front().id;
}

bool Model::DealOpen(const SimDeal& deal) const {
    const SimStage* stage = Stage(deal.stage_id);
    return !deal.deleted && stage != nullptr && stage->semantics == 'P';
}

void Model::Raise(std::string name, std::vector<std::pair<std::string, std::string>> data,
                  Timestamp now) {
    events.push_back(SimEvent{.name = std::move(name), .data = std::move(data), .at = now});
}

void Model::RaiseId(const std::string& name, std::int64_t id, Timestamp now) {
    Raise(name, {{"[FIELDS][ID]", std::to_string(id)}}, now);
}

void Model::RaiseTask(const std::string& name, std::int64_t id, Timestamp now) {
    // tasks restservice.php onEventFilter: "undefined" stands in for a missing object.
    const std::string text = std::to_string(id);
    if (name == "ONTASKADD") {
        Raise(name,
              {{"[FIELDS_BEFORE]", "undefined"},
               {"[FIELDS_AFTER][ID]", text},
               {"[IS_ACCESSIBLE_BEFORE]", "N"},
               {"[IS_ACCESSIBLE_AFTER]", "undefined"}},
              now);
    } else if (name == "ONTASKUPDATE") {
        Raise(name,
              {{"[FIELDS_BEFORE][ID]", text},
               {"[FIELDS_AFTER][ID]", text},
               {"[IS_ACCESSIBLE_BEFORE]", "undefined"},
               {"[IS_ACCESSIBLE_AFTER]", "undefined"}},
              now);
    } else {
        Raise(name,
              {{"[FIELDS_BEFORE][ID]", text},
               {"[FIELDS_AFTER]", "undefined"},
               {"[IS_ACCESSIBLE_BEFORE]", "undefined"},
               {"[IS_ACCESSIBLE_AFTER]", "N"}},
              now);
    }
}

void Model::RecordStage(const SimDeal& deal, int type_id, Timestamp now) {
    const SimStage* stage = Stage(deal.stage_id);
    history.push_back(SimStageHistory{.id = next_history++,
                                      .type_id = type_id,
                                      .owner_id = deal.id,
                                      .created = now,
                                      .category_id = deal.category_id,
                                      .semantics = stage != nullptr ? stage->semantics : 'P',
                                      .stage_id = deal.stage_id});
}

std::string Model::AddDeal(const DealDraft& draft, std::int64_t actor, Timestamp now,
                           std::int64_t* id) {
    const SimCategory* category = Category(draft.category_id);
    if (category == nullptr) {
        return fmt::format("Category with ID {} not found", draft.category_id);
    }
    std::string stage_id =
        draft.stage_id.empty() ? category->stages.front().status_id : draft.stage_id;
    int stage_category = -1;
    if (Stage(stage_id, &stage_category) == nullptr || stage_category != category->id) {
        return fmt::format("Stage {} does not belong to category {}", stage_id, category->id);
    }
    const std::int64_t assigned = draft.assigned_by != 0 ? draft.assigned_by : actor;
    if (User(assigned) == nullptr) {
        return fmt::format("User with ID {} not found", assigned);
    }
    for (const auto& [name, value] : draft.fields) {
        if (UserField(name) == nullptr) {
            continue;  // unknown fields are ignored, as crm.deal.add does
        }
    }
    SimDeal deal{
        .id = next_deal++,
        .title = draft.title.empty() ? fmt::format("Сделка #{}", next_deal - 1) : draft.title,
        .category_id = category->id,
        .stage_id = stage_id,
        .assigned_by = assigned,
        .created_by = actor,
        .modified_by = actor,
        .moved_by = actor,
        .created = now,
        .modified = now,
        .moved = now,
        .opportunity = draft.opportunity};
    for (const SimUserField& field : user_fields) {
        const auto it = draft.fields.find(field.field_name);
        deal.fields[field.field_name] = it != draft.fields.end() ? it->second : "";
    }
    RecordStage(deal, 1, now);
    RaiseId("ONCRMDEALADD", deal.id, now);
    *id = deal.id;
    deals.emplace(deal.id, std::move(deal));
    return "";
}

std::string Model::UpdateDeal(std::int64_t id, const std::map<std::string, std::string>& fields,
                              std::int64_t actor, Timestamp now) {
    const auto it = deals.find(id);
    if (it == deals.end() || it->second.deleted) {
        return "Not found";
    }
    SimDeal updated = it->second;
    bool stage_changed = false;
    for (const auto& [name, value] : fields) {
        if (name == "STAGE_ID") {
            int stage_category = -1;
            if (Stage(value, &stage_category) == nullptr) {
                return fmt::format("Stage {} not found", value);
            }
            if (stage_category != updated.category_id) {
                // crm.deal.update does not change the pipeline (bitrix24.md §2.3).
                return fmt::format("Stage {} does not belong to category {}", value,
                                   updated.category_id);
            }
            stage_changed = value != updated.stage_id;
            updated.stage_id = value;
        } else if (name == "TITLE") {
            updated.title = value;
        } else if (name == "OPPORTUNITY") {
            char* end = nullptr;
            const double amount = std::strtod(value.c_str(), &end);
            if (value.empty() || end == nullptr || *end != '\0') {
                return fmt::format("Field OPPORTUNITY: invalid value \"{}\"", value);
            }
            updated.opportunity = amount;
        } else if (name == "ASSIGNED_BY_ID") {
            const std::int64_t user = std::atoll(value.c_str());
            if (User(user) == nullptr) {
                return fmt::format("User with ID {} not found", value);
            }
            updated.assigned_by = user;
        } else if (name == "COMMENTS") {
            updated.comments = value;
        } else if (const SimUserField* field = UserField(name); field != nullptr) {
            if (field->type == "double" && !value.empty()) {
                char* end = nullptr;
                (void)std::strtod(value.c_str(), &end);
                if (end == nullptr || *end != '\0') {
                    return fmt::format("Field {}: invalid value \"{}\"", field->label, value);
                }
            }
            updated.fields[name] = value;
        }
        // Anything else (CATEGORY_ID included) is ignored, as the portal does.
    }
    updated.modified = now;
    updated.modified_by = actor;
    if (stage_changed) {
        updated.moved = now;
        updated.moved_by = actor;
        const SimStage* stage = Stage(updated.stage_id);
        RecordStage(updated, stage->semantics == 'P' ? 2 : 3, now);
    }
    it->second = std::move(updated);
    RaiseId("ONCRMDEALUPDATE", id, now);
    return "";
}

std::string Model::MoveDealToCategory(std::int64_t id, int category_id, const std::string& stage_id,
                                      std::int64_t actor, Timestamp now) {
    const auto it = deals.find(id);
    if (it == deals.end() || it->second.deleted) {
        return "Not found";
    }
    const SimCategory* category = Category(category_id);
    if (category == nullptr) {
        return fmt::format("Category with ID {} not found", category_id);
    }
    const std::string target = stage_id.empty() ? category->stages.front().status_id : stage_id;
    int stage_category = -1;
    if (Stage(target, &stage_category) == nullptr || stage_category != category_id) {
        return fmt::format("Stage {} does not belong to category {}", target, category_id);
    }
    SimDeal& deal = it->second;
    deal.category_id = category_id;
    deal.stage_id = target;
    deal.modified = now;
    deal.modified_by = actor;
    deal.moved = now;
    deal.moved_by = actor;
    RecordStage(deal, 5, now);
    Raise("ONCRMDEALMOVETOCATEGORY",
          {{"[FIELDS][ID]", std::to_string(id)},
           {"[FIELDS][CATEGORY_ID]", std::to_string(category_id)},
           {"[FIELDS][STAGE_ID]", target}},
          now);
    return "";
}

std::string Model::DeleteDeal(std::int64_t id, Timestamp now) {
    const auto it = deals.find(id);
    if (it == deals.end() || it->second.deleted) {
        return "Not found";
    }
    it->second.deleted = true;
    it->second.modified = now;
    RaiseId("ONCRMDEALDELETE", id, now);
    return "";
}

std::string Model::AddActivity(const SimActivity& draft, Timestamp now, std::int64_t* id) {
    if (draft.owner_type_id != 2) {
        return fmt::format("OWNER_TYPE_ID {} is not supported here (deals only)",
                           draft.owner_type_id);
    }
    const auto deal = deals.find(draft.owner_id);
    if (deal == deals.end() || deal->second.deleted) {
        return fmt::format("Owner with ID {} not found", draft.owner_id);
    }
    if (User(draft.responsible) == nullptr) {
        return fmt::format("Responsible user with ID {} not found", draft.responsible);
    }
    SimActivity activity = draft;
    activity.id = next_activity++;
    activity.created = now;
    activity.updated = now;
    activity.deadlines = {{now, draft.deadline}};
    if (activity.completed) {
        activity.closed_at = now;
    }
    *id = activity.id;
    activities.emplace(activity.id, std::move(activity));
    RaiseId("ONCRMACTIVITYADD", *id, now);
    return "";
}

std::string Model::UpdateActivity(std::int64_t id, std::optional<bool> completed,
                                  std::optional<Timestamp> deadline,
                                  std::optional<std::string> subject, Timestamp now) {
    const auto it = activities.find(id);
    if (it == activities.end() || it->second.deleted) {
        return "Not found";
    }
    SimActivity& activity = it->second;
    if (completed && *completed != activity.completed) {
        activity.completed = *completed;
        activity.closed_at = *completed ? std::optional<Timestamp>{now} : std::nullopt;
    }
    if (deadline && *deadline != activity.deadline) {
        activity.deadline = *deadline;
        activity.deadlines.emplace_back(now, *deadline);
    }
    if (subject) {
        activity.subject = *subject;
    }
    activity.updated = now;
    RaiseId("ONCRMACTIVITYUPDATE", id, now);
    return "";
}

std::string Model::DeleteActivity(std::int64_t id, Timestamp now) {
    const auto it = activities.find(id);
    if (it == activities.end() || it->second.deleted) {
        return "Not found";
    }
    it->second.deleted = true;
    if (!it->second.closed_at) {
        it->second.closed_at = now;
    }
    RaiseId("ONCRMACTIVITYDELETE", id, now);
    return "";
}

std::string Model::AddTask(const SimTask& draft, Timestamp now, std::int64_t* id) {
    if (draft.title.empty()) {
        return "TITLE";
    }
    if (User(draft.responsible) == nullptr) {
        return "RESPONSIBLE_ID";
    }
    SimTask task = draft;
    task.id = next_task++;
    task.created = now;
    task.changed = now;
    task.deadlines = {{now, draft.deadline}};
    *id = task.id;
    tasks.emplace(task.id, std::move(task));
    RaiseTask("ONTASKADD", *id, now);
    return "";
}

std::string Model::UpdateTask(std::int64_t id, std::optional<int> status,
                              std::optional<std::optional<Timestamp>> deadline,
                              std::optional<std::string> title, Timestamp now) {
    const auto it = tasks.find(id);
    if (it == tasks.end() || it->second.deleted) {
        return "Not found";
    }
    SimTask& task = it->second;
    if (status && *status != task.status) {
        task.status = *status;
        task.closed_at = *status == 5 ? std::optional<Timestamp>{now} : std::nullopt;
    }
    if (deadline && *deadline != task.deadline) {
        task.deadline = *deadline;
        task.deadlines.emplace_back(now, *deadline);
    }
    if (title) {
        task.title = *title;
    }
    task.changed = now;
    RaiseTask("ONTASKUPDATE", id, now);
    return "";
}

std::string Model::DeleteTask(std::int64_t id, Timestamp now) {
    const auto it = tasks.find(id);
    if (it == tasks.end() || it->second.deleted) {
        return "Not found";
    }
    it->second.deleted = true;
    if (!it->second.closed_at) {
        it->second.closed_at = now;
    }
    RaiseTask("ONTASKDELETE", id, now);
    return "";
}

std::string Model::AddComment(std::int64_t deal_id, const std::string& text, std::int64_t author,
                              Timestamp now, std::int64_t* id) {
    const auto deal = deals.find(deal_id);
    if (deal == deals.end() || deal->second.deleted) {
        return fmt::format("Entity with ID {} not found", deal_id);
    }
    if (text.empty()) {
        return "COMMENT is empty";
    }
    SimComment comment{.id = next_comment++,
                       .entity_id = deal_id,
                       .comment = text,
                       .author = author,
                       .created = now};
    *id = comment.id;
    comments.emplace(comment.id, std::move(comment));
    bool flat = comment_id_shape == CommentIdShape::kFlat;
    if (comment_id_shape == CommentIdShape::kAlternate) {
        flat = comment_events % 2 == 1;
    }
    ++comment_events;
    Raise("ONCRMTIMELINECOMMENTADD", {{flat ? "[ID]" : "[FIELDS][ID]", std::to_string(*id)}}, now);
    return "";
}

std::int64_t Model::RaiseOther(const std::string& name, Timestamp now) {
    const std::int64_t id = next_other++;
    RaiseId(name, id, now);
    return id;
}

}  // namespace fg::adapters::bitrix24::sim
