#include "adapters/amocrm/sim/catalog.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/render.hpp"
#include "adapters/amocrm/sim/respond.hpp"

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;

constexpr int kMaxPage = 250;

// Every simulated user sits in the group amoCRM creates with the account: id 0, "Отдел продаж"
// (the users-api docs: a user added with group_id null lands there; rights.group_id stays null).
constexpr std::int64_t kDefaultGroupId = 0;
constexpr const char* kDefaultGroupName = "Отдел продаж";

const SimPipeline* PipelineOf(const Model& model, const httplib::Request& req) {
    const auto id = ParseInt(req.matches[1].str());
    return id ? model.Pipeline(*id) : nullptr;
}

// The user model of GET /api/v4/users and /users/{id} with the `with` additions. Shapes from
// https://www.amocrm.ru/developers/content/crm_platform/users-api ("Список пользователей",
// "Получение пользователя по ID"): with=role and with=group add _embedded.roles / .groups,
// uuid and amojo_id "may be null".
json UserWithJson(const Model& model, const SimUser& user, const httplib::Request& req) {
    json out = UserJson(model, user);
    if (HasWith(req, "uuid")) {
        out["uuid"] = nullptr;
    }
    if (HasWith(req, "amojo_id")) {
        out["amojo_id"] = nullptr;
    }
    if (HasWith(req, "role")) {
        out["_embedded"]["roles"] = json::array();  // admins and managers, no custom roles
    }
    if (HasWith(req, "group")) {
        out["_embedded"]["groups"] =
            json::array({{{"id", kDefaultGroupId}, {"name", kDefaultGroupName}}});
    }
    return out;
}

}  // namespace

// Shape from https://www.amocrm.ru/developers/content/crm/platform/account-info (the "Пример
// ответа"): datetime_settings, task_types and users_groups live under _embedded; a users group
// is {id, name, uuid}, the default group's uuid being null.
void ServeAccount(const Model& model, Timestamp now, const httplib::Request& req,
                  httplib::Response& res) {
    const Timestamp created = now - Duration{3 * 365 * 86400};
    json body = {
        {"id", model.account_id},
        {"name", "ООО «Симулятор продаж»"},
        {"subdomain", model.subdomain},
        {"created_at", ToEpoch(created)},
        {"created_by", model.AdminUserId()},
        {"updated_at", ToEpoch(created)},
        {"updated_by", model.AdminUserId()},
        {"current_user_id", model.AdminUserId()},
        {"country", "RU"},
        {"currency", "RUB"},
        {"currency_symbol", "₽"},
        {"customers_mode", "disabled"},
        {"is_unsorted_on", true},
        {"mobile_feature_version", 0},
        {"is_loss_reason_enabled", false},
        {"is_helpbot_enabled", false},
        {"is_technical_account", false},
        {"contact_name_display_order", 1},
        {"_links", Link(model.base_url + "/api/v4/account")},
    };
    if (HasWith(req, "amojo_id")) {
        body["amojo_id"] = "sim-amojo-" + std::to_string(model.account_id);
    }
    if (HasWith(req, "uuid")) {
        body["uuid"] = fmt::format("00000000-0000-4000-8000-{:012}", model.account_id);
    }
    if (HasWith(req, "version")) {
        body["version"] = 25;
    }
    if (HasWith(req, "is_api_filter_enabled")) {
        body["is_api_filter_enabled"] = true;
    }
    if (HasWith(req, "datetime_settings")) {
        body["_embedded"]["datetime_settings"] = {
            {"date_pattern", "d.m.Y H:i"}, {"short_date_pattern", "d.m.Y"},
            {"short_time_pattern", "H:i"}, {"date_format", "d.m.Y"},
            {"time_format", "H:i:s"},      {"timezone", "Europe/Moscow"},
            {"timezone_offset", "+03:00"}};
    }
    if (HasWith(req, "users_groups")) {
        body["_embedded"]["users_groups"] = json::array(
            {{{"id", kDefaultGroupId}, {"name", kDefaultGroupName}, {"uuid", nullptr}}});
    }
    if (HasWith(req, "task_types")) {
        body["_embedded"]["task_types"] = json::array({
            {{"id", 1},
             {"name", "Связаться"},
             {"color", nullptr},
             {"icon_id", nullptr},
             {"code", "FOLLOW_UP"}},
            {{"id", 2},
             {"name", "Встреча"},
             {"color", nullptr},
             {"icon_id", nullptr},
             {"code", "MEETING"}},
        });
    }
    Hal(res, body);
}

void ServeUsers(const Model& model, const httplib::Request& req, httplib::Response& res) {
    const auto paging = ReadPaging(req, res, kMaxPage, 50);
    if (!paging) {
        return;
    }
    json items = json::array();
    for (std::size_t i = paging->Offset();
         i < model.users.size() && items.size() < static_cast<std::size_t>(paging->limit); ++i) {
        items.push_back(UserWithJson(model, model.users[i], req));
    }
    RespondPage(model.base_url, req, res, *paging, "users", std::move(items), model.users.size());
}

void ServeUserById(const Model& model, const httplib::Request& req, httplib::Response& res) {
    const auto id = ParseInt(req.matches[1].str());
    const SimUser* user = id ? model.User(*id) : nullptr;
    if (user == nullptr) {
        res.status = 204;
        return;
    }
    Hal(res, UserWithJson(model, *user, req));
}

void ServePipelines(const Model& model, const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    for (const SimPipeline& pipeline : model.pipelines) {
        list.push_back(PipelineJson(model, pipeline));
    }
    Hal(res, {{"_total_items", list.size()},
              {"_links", Link(model.base_url + "/api/v4/leads/pipelines")},
              {"_embedded", {{"pipelines", std::move(list)}}}});
}

void ServePipelineById(const Model& model, const httplib::Request& req, httplib::Response& res) {
    const SimPipeline* pipeline = PipelineOf(model, req);
    if (pipeline == nullptr) {
        res.status = 204;
        return;
    }
    Hal(res, PipelineJson(model, *pipeline));
}

// Shapes from https://www.amocrm.ru/developers/content/crm_platform/leads_pipelines ("Список
// статусов воронки сделок": {_total_items, _embedded.statuses}, no top-level _links;
// "Получение статуса воронки сделок по ID": the bare status model). with=descriptions adds
// `descriptions` to each status.
void ServeStatuses(const Model& model, const httplib::Request& req, httplib::Response& res) {
    const SimPipeline* pipeline = PipelineOf(model, req);
    if (pipeline == nullptr) {
        res.status = 204;
        return;
    }
    const bool descriptions = HasWith(req, "descriptions");
    json list = json::array();
    for (const SimStatus& status : pipeline->statuses) {
        list.push_back(StatusJson(model, *pipeline, status, descriptions));
    }
    Hal(res, {{"_total_items", list.size()}, {"_embedded", {{"statuses", std::move(list)}}}});
}

void ServeStatusById(const Model& model, const httplib::Request& req, httplib::Response& res) {
    const SimPipeline* pipeline = PipelineOf(model, req);
    const auto id = ParseInt(req.matches[2].str());
    const SimStatus* status = pipeline != nullptr && id ? pipeline->Find(*id) : nullptr;
    if (status == nullptr) {
        res.status = 204;
        return;
    }
    Hal(res, StatusJson(model, *pipeline, *status, HasWith(req, "descriptions")));
}

void ServeCustomFields(const Model& model, const httplib::Request& req, httplib::Response& res) {
    const auto paging = ReadPaging(req, res, kMaxPage, 50);
    if (!paging) {
        return;
    }
    json items = json::array();
    for (std::size_t i = paging->Offset();
         i < model.fields.size() && items.size() < static_cast<std::size_t>(paging->limit); ++i) {
        items.push_back(FieldJson(model, model.fields[i]));
    }
    RespondPage(model.base_url, req, res, *paging, "custom_fields", std::move(items),
                model.fields.size());
}

}  // namespace fg::adapters::amocrm::sim
