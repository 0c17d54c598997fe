#include "adapters/bitrix24/sim/render.hpp"

#include <fmt/format.h>

namespace fg::adapters::bitrix24::sim {

using nlohmann::json;

std::string PortalTime(Timestamp t) { return FormatIso8601(t, kPortalZone); }

namespace {

std::string Id(std::int64_t id) { return std::to_string(id); }
std::string Yn(bool flag) { return flag ? "Y" : "N"; }

std::string Semantic(char semantics) { return std::string(1, semantics); }

}  // namespace

json RenderDeal(const Model& model, const SimDeal& deal) {
    const SimStage* stage = model.Stage(deal.stage_id);
    const char semantics = stage != nullptr ? stage->semantics : 'P';
    json out = {
        {"ID", Id(deal.id)},
        {"TITLE", deal.title},
        {"TYPE_ID", "SALE"},
        {"CATEGORY_ID", std::to_string(deal.category_id)},
        {"STAGE_ID", deal.stage_id},
        {"STAGE_SEMANTIC_ID", Semantic(semantics)},
        {"IS_NEW", Yn(model.Category(deal.category_id) != nullptr &&
                      model.Category(deal.category_id)->stages.front().status_id == deal.stage_id)},
        {"CURRENCY_ID", "RUB"},
        {"OPPORTUNITY", fmt::format("{:.2f}", deal.opportunity)},
        {"IS_MANUAL_OPPORTUNITY", "N"},
        {"ASSIGNED_BY_ID", Id(deal.assigned_by)},
        {"CREATED_BY_ID", Id(deal.created_by)},
        {"MODIFY_BY_ID", Id(deal.modified_by)},
        {"MOVED_BY_ID", Id(deal.moved_by)},
        {"DATE_CREATE", PortalTime(deal.created)},
        {"DATE_MODIFY", PortalTime(deal.modified)},
        {"MOVED_TIME", PortalTime(deal.moved)},
        {"OPENED", "Y"},
        {"CLOSED", Yn(semantics != 'P')},
        {"COMMENTS", deal.comments.empty() ? json(nullptr) : json(deal.comments)},
        {"CONTACT_ID", nullptr},
        {"COMPANY_ID", "0"}};
    for (const auto& [name, value] : deal.fields) {
        out[name] = value.empty() ? json(nullptr) : json(value);
    }
    return out;
}

json RenderActivity(const SimActivity& activity) {
    return {{"ID", Id(activity.id)},
            {"OWNER_ID", Id(activity.owner_id)},
            {"OWNER_TYPE_ID", std::to_string(activity.owner_type_id)},
            {"TYPE_ID", "6"},
            {"PROVIDER_ID", "CRM_TODO"},
            {"PROVIDER_TYPE_ID", "TODO"},
            {"SUBJECT", activity.subject},
            {"DESCRIPTION", activity.description},
            {"DESCRIPTION_TYPE", "1"},
            {"CREATED", PortalTime(activity.created)},
            {"LAST_UPDATED", PortalTime(activity.updated)},
            {"START_TIME", PortalTime(activity.deadline)},
            {"END_TIME", PortalTime(activity.deadline)},
            {"DEADLINE", PortalTime(activity.deadline)},
            {"COMPLETED", Yn(activity.completed)},
            {"STATUS", activity.completed ? "2" : "1"},
            {"RESPONSIBLE_ID", Id(activity.responsible)},
            {"AUTHOR_ID", Id(activity.author)},
            {"EDITOR_ID", Id(activity.author)},
            {"PRIORITY", "2"},
            {"DIRECTION", "0"}};
}

json RenderTask(const SimTask& task) {
    json out = {{"id", Id(task.id)},
                {"title", task.title},
                {"description", task.description},
                {"status", std::to_string(task.status)},
                {"realStatus", std::to_string(task.status)},
                {"priority", "1"},
                {"responsibleId", Id(task.responsible)},
                {"createdBy", Id(task.created_by)},
                {"createdDate", PortalTime(task.created)},
                {"changedDate", PortalTime(task.changed)},
                {"closedDate", task.closed_at && !task.deleted ? json(PortalTime(*task.closed_at))
                                                               : json(nullptr)},
                {"deadline", task.deadline ? json(PortalTime(*task.deadline)) : json(nullptr)},
                {"ufCrmTask", task.crm}};
    return out;
}

json RenderComment(const SimComment& comment) {
    return {{"ID", Id(comment.id)},
            {"ENTITY_ID", Id(comment.entity_id)},
            {"ENTITY_TYPE", comment.entity_type},
            {"CREATED", PortalTime(comment.created)},
            {"COMMENT", comment.comment},
            {"AUTHOR_ID", Id(comment.author)},
            {"FILES", json::array()}};
}

json RenderHistory(const SimStageHistory& row) {
    return {{"ID", row.id},
            {"TYPE_ID", row.type_id},
            {"OWNER_ID", row.owner_id},
            {"CREATED_TIME", PortalTime(row.created)},
            {"CATEGORY_ID", row.category_id},
            {"STAGE_SEMANTIC_ID", Semantic(row.semantics)},
            {"STAGE_ID", row.stage_id}};
}

json RenderUser(const SimUser& user) {
    return {{"ID", Id(user.id)},
            {"XML_ID", fmt::format("{}", 1000 + user.id)},
            {"ACTIVE", true},
            {"NAME", user.name},
            {"LAST_NAME", user.last_name},
            {"SECOND_NAME", ""},
            {"EMAIL", user.email},
            {"WORK_POSITION", user.admin ? "Руководитель отдела продаж" : "Менеджер"},
            {"UF_DEPARTMENT", json::array({1})},
            {"IS_ONLINE", "N"},
            {"TIME_ZONE", kPortalZone},
            {"USER_TYPE", "employee"}};
}

json RenderStage(const SimCategory& category, const SimStage& stage) {
    const std::string entity =
        category.id == 0 ? "DEAL_STAGE" : fmt::format("DEAL_STAGE_{}", category.id);
    const char* extra = stage.semantics == 'S'   ? "success"
                        : stage.semantics == 'F' ? "failure"
                                                 : "process";
    const json semantics = stage.semantics == 'P' ? json(nullptr) : json(Semantic(stage.semantics));
    return {{"ID", Id(stage.row_id)},
            {"ENTITY_ID", entity},
            {"STATUS_ID", stage.status_id},
            {"NAME", stage.name},
            {"NAME_INIT", stage.name},
            {"SORT", std::to_string(stage.sort)},
            {"SYSTEM", "N"},
            {"CATEGORY_ID", category.id == 0 ? json(nullptr) : json(std::to_string(category.id))},
            {"COLOR", "#39A8EF"},
            {"SEMANTICS", semantics},
            {"EXTRA", {{"SEMANTICS", extra}, {"COLOR", "#39A8EF"}}}};
}

json RenderCategory(const SimCategory& category) {
    return {{"id", category.id},
            {"name", category.name},
            {"sort", category.sort},
            {"entityTypeId", 2},
            {"isDefault", category.id == 0 ? "Y" : "N"}};
}

json RenderUserField(const SimUserField& field, bool with_lang) {
    const json label = with_lang ? json(field.label) : json({{"ru", field.label}, {"en", ""}});
    return {{"ID", Id(field.id)},
            {"ENTITY_ID", "CRM_DEAL"},
            {"FIELD_NAME", field.field_name},
            {"USER_TYPE_ID", field.type},
            {"XML_ID", nullptr},
            {"SORT", "100"},
            {"MULTIPLE", "N"},
            {"MANDATORY", "N"},
            {"SHOW_FILTER", "E"},
            {"SHOW_IN_LIST", "Y"},
            {"EDIT_IN_LIST", "Y"},
            {"IS_SEARCHABLE", "N"},
            {"EDIT_FORM_LABEL", label},
            {"LIST_COLUMN_LABEL", label},
            {"LIST_FILTER_LABEL", label}};
}

json RenderDealFields(const Model& model) {
    auto field = [](const char* type, const char* title, bool read_only = false) {
        return json{{"type", type},         {"isRequired", false}, {"isReadOnly", read_only},
                    {"isImmutable", false}, {"isMultiple", false}, {"isDynamic", false},
                    {"title", title}};
    };
    json out = {{"ID", field("integer", "ID", true)},
                {"TITLE", field("string", "Название")},
                {"TYPE_ID", field("crm_status", "Тип")},
                {"CATEGORY_ID", field("crm_category", "Воронка")},
                {"STAGE_ID", field("crm_status", "Стадия сделки")},
                {"STAGE_SEMANTIC_ID", field("string", "Группа стадии", true)},
                {"CURRENCY_ID", field("crm_currency", "Валюта")},
                {"OPPORTUNITY", field("double", "Сумма")},
                {"ASSIGNED_BY_ID", field("user", "Ответственный")},
                {"CREATED_BY_ID", field("user", "Кем создана", true)},
                {"MODIFY_BY_ID", field("user", "Кем изменена", true)},
                {"MOVED_BY_ID", field("user", "Кем перемещена", true)},
                {"DATE_CREATE", field("datetime", "Дата создания", true)},
                {"DATE_MODIFY", field("datetime", "Дата изменения", true)},
                {"MOVED_TIME", field("datetime", "Дата перемещения", true)},
                {"CLOSED", field("char", "Сделка закрыта")},
                {"COMMENTS", field("string", "Комментарий")}};
    for (const SimUserField& uf : model.user_fields) {
        json item = field(uf.type.c_str(), uf.field_name.c_str());
        item["isDynamic"] = true;
        item["listLabel"] = uf.label;
        item["formLabel"] = uf.label;
        item["filterLabel"] = uf.label;
        out[uf.field_name] = std::move(item);
    }
    return out;
}

}  // namespace fg::adapters::bitrix24::sim
