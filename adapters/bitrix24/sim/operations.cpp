#include <fmt/format.h>

#include "adapters/bitrix24/sim/simulator.hpp"
#include "adapters/bitrix24/sim/simulator_impl.hpp"

// The Simulator's inspection (copies under the lock) and manager operations (validated by the
// model like the API, their events sent).

namespace fg::adapters::bitrix24::sim {

namespace {

Result<void> Checked(const std::string& error) {
    if (error.empty()) {
        return Ok{};
    }
    return MakeError(error == "Not found" ? ErrorCode::kNotFound : ErrorCode::kInvalidInput, "{}",
                     error);
}

Result<std::int64_t> CheckedId(const std::string& error, std::int64_t id) {
    if (error.empty()) {
        return id;
    }
    return MakeError(error == "Not found" ? ErrorCode::kNotFound : ErrorCode::kInvalidInput, "{}",
                     error);
}

template <typename Map>
auto Copy(const Map& map, std::int64_t id) -> std::optional<typename Map::mapped_type> {
    const auto it = map.find(id);
    if (it == map.end()) {
        return std::nullopt;
    }
    return it->second;
}

}  // namespace

std::optional<SimDeal> Simulator::GetDeal(std::int64_t id) const {
    std::lock_guard lock(impl_->mutex);
    return Copy(impl_->model.deals, id);
}
std::optional<SimActivity> Simulator::GetActivity(std::int64_t id) const {
    std::lock_guard lock(impl_->mutex);
    return Copy(impl_->model.activities, id);
}
std::optional<SimTask> Simulator::GetTask(std::int64_t id) const {
    std::lock_guard lock(impl_->mutex);
    return Copy(impl_->model.tasks, id);
}

std::vector<SimActivity> Simulator::DealActivities(std::int64_t deal_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimActivity> out;
    for (const auto& [id, activity] : impl_->model.activities) {
        if (activity.owner_id == deal_id && !activity.deleted) {
            out.push_back(activity);
        }
    }
    return out;
}

std::vector<SimTask> Simulator::DealTasks(std::int64_t deal_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimTask> out;
    const std::string binding = DealBinding(deal_id);
    for (const auto& [id, task] : impl_->model.tasks) {
        if (!task.deleted &&
            std::find(task.crm.begin(), task.crm.end(), binding) != task.crm.end()) {
            out.push_back(task);
        }
    }
    return out;
}

std::vector<SimComment> Simulator::DealComments(std::int64_t deal_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimComment> out;
    for (const auto& [id, comment] : impl_->model.comments) {
        if (comment.entity_id == deal_id) {
            out.push_back(comment);
        }
    }
    return out;
}

std::vector<SimStageHistory> Simulator::DealHistory(std::int64_t deal_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimStageHistory> out;
    for (const SimStageHistory& row : impl_->model.history) {
        if (row.owner_id == deal_id) {
            out.push_back(row);
        }
    }
    return out;
}

std::vector<SimNotification> Simulator::Notifications() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.notifications;
}
std::vector<SimHandler> Simulator::Handlers() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.handlers;
}
std::vector<SimCategory> Simulator::Categories() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.categories;
}
std::vector<SimUser> Simulator::Users() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.users;
}
std::vector<SimUserField> Simulator::UserFields() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.user_fields;
}

std::size_t Simulator::DealCount() const {
    std::lock_guard lock(impl_->mutex);
    return static_cast<std::size_t>(
        std::count_if(impl_->model.deals.begin(), impl_->model.deals.end(),
                      [](const auto& entry) { return !entry.second.deleted; }));
}

std::vector<std::int64_t> Simulator::OpenDealIds(std::int64_t responsible,
                                                 std::size_t limit) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<std::int64_t> out;
    for (const auto& [id, deal] : impl_->model.deals) {
        if (out.size() >= limit) {
            break;
        }
        if (deal.assigned_by == responsible && impl_->model.DealOpen(deal)) {
            out.push_back(id);
        }
    }
    return out;
}

std::vector<SimActivity> Simulator::AllActivities() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimActivity> out;
    for (const auto& [id, activity] : impl_->model.activities) {
        out.push_back(activity);
    }
    return out;
}

std::vector<SimTask> Simulator::AllTasks() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimTask> out;
    for (const auto& [id, task] : impl_->model.tasks) {
        out.push_back(task);
    }
    return out;
}

Result<std::int64_t> Simulator::CreateDeal(const DealDraft& draft, std::int64_t actor) {
    return impl_->Mutate([&](Model& model, Timestamp now) {
        std::int64_t id = 0;
        const std::string error =
            model.AddDeal(draft, actor != 0 ? actor : model.AdminId(), now, &id);
        return CheckedId(error, id);
    });
}

Result<void> Simulator::UpdateDeal(std::int64_t id,
                                   const std::map<std::string, std::string>& fields,
                                   std::int64_t actor) {
    return impl_->Mutate([&](Model& model, Timestamp now) {
        return Checked(model.UpdateDeal(id, fields, actor != 0 ? actor : model.AdminId(), now));
    });
}

Result<void> Simulator::MoveDeal(std::int64_t id, const std::string& stage_id, std::int64_t actor) {
    return UpdateDeal(id, {{"STAGE_ID", stage_id}}, actor);
}

Result<void> Simulator::MoveDealToCategory(std::int64_t id, int category_id,
                                           const std::string& stage_id, std::int64_t actor) {
    return impl_->Mutate([&](Model& model, Timestamp now) {
        return Checked(model.MoveDealToCategory(id, category_id, stage_id,
                                                actor != 0 ? actor : model.AdminId(), now));
    });
}

Result<void> Simulator::DeleteDeal(std::int64_t id) {
    return impl_->Mutate(
        [&](Model& model, Timestamp now) { return Checked(model.DeleteDeal(id, now)); });
}

Result<std::int64_t> Simulator::AddTodo(std::int64_t deal_id, const std::string& subject,
                                        Timestamp deadline, std::int64_t responsible) {
    return impl_->Mutate([&](Model& model, Timestamp now) {
        SimActivity draft{.owner_id = deal_id,
                          .subject = subject,
                          .deadline = deadline,
                          .responsible = responsible,
                          .author = responsible};
        std::int64_t id = 0;
        const std::string error = model.AddActivity(draft, now, &id);
        return CheckedId(error, id);
    });
}

Result<void> Simulator::CompleteTodo(std::int64_t id) {
    return impl_->Mutate([&](Model& model, Timestamp now) {
        return Checked(model.UpdateActivity(id, true, std::nullopt, std::nullopt, now));
    });
}

Result<void> Simulator::RescheduleTodo(std::int64_t id, Timestamp deadline) {
    return impl_->Mutate([&](Model& model, Timestamp now) {
        return Checked(model.UpdateActivity(id, std::nullopt, deadline, std::nullopt, now));
    });
}

Result<void> Simulator::DeleteTodo(std::int64_t id) {
    return impl_->Mutate(
        [&](Model& model, Timestamp now) { return Checked(model.DeleteActivity(id, now)); });
}

Result<std::int64_t> Simulator::AddTask(std::int64_t deal_id, const std::string& title,
                                        std::optional<Timestamp> deadline,
                                        std::int64_t responsible) {
    return impl_->Mutate([&](Model& model, Timestamp now) -> Result<std::int64_t> {
        const auto deal = model.deals.find(deal_id);
        if (deal == model.deals.end() || deal->second.deleted) {
            return MakeError(ErrorCode::kNotFound, "deal {} not found", deal_id);
        }
        SimTask draft{.title = title,
                      .responsible = responsible,
                      .created_by = responsible,
                      .deadline = deadline,
                      .crm = {DealBinding(deal_id)}};
        std::int64_t id = 0;
        const std::string error = model.AddTask(draft, now, &id);
        return CheckedId(error, id);
    });
}

Result<void> Simulator::CompleteTask(std::int64_t id) {
    return impl_->Mutate([&](Model& model, Timestamp now) {
        return Checked(model.UpdateTask(id, 5, std::nullopt, std::nullopt, now));
    });
}

Result<void> Simulator::RescheduleTask(std::int64_t id, Timestamp deadline) {
    return impl_->Mutate([&](Model& model, Timestamp now) {
        return Checked(model.UpdateTask(id, std::nullopt, std::optional<Timestamp>{deadline},
                                        std::nullopt, now));
    });
}

Result<void> Simulator::DeleteTask(std::int64_t id) {
    return impl_->Mutate(
        [&](Model& model, Timestamp now) { return Checked(model.DeleteTask(id, now)); });
}

Result<std::int64_t> Simulator::AddComment(std::int64_t deal_id, const std::string& text,
                                           std::int64_t author) {
    return impl_->Mutate([&](Model& model, Timestamp now) {
        std::int64_t id = 0;
        const std::string error =
            model.AddComment(deal_id, text, author != 0 ? author : model.AdminId(), now, &id);
        return CheckedId(error, id);
    });
}

std::int64_t Simulator::RaiseOtherEvent(const std::string& name) {
    return impl_->Mutate([&](Model& model, Timestamp now) { return model.RaiseOther(name, now); });
}

}  // namespace fg::adapters::bitrix24::sim
