#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/bitrix24/sim/index.hpp"
#include "adapters/bitrix24/sim/listing.hpp"
#include "adapters/bitrix24/sim/params.hpp"
#include "adapters/bitrix24/sim/render.hpp"
#include "adapters/bitrix24/sim/simulator_impl.hpp"

// crm.deal.*, pipelines and stages, user fields, stage history, users.

namespace fg::adapters::bitrix24::sim {

using nlohmann::json;

namespace {

Reply ListReply(json result, const Page& page) {
    Reply reply;
    reply.result = std::move(result);
    reply.total = page.total;
    reply.next = page.next;
    return reply;
}

json Rows(std::vector<json> rows) {
    json out = json::array();
    for (json& row : rows) {
        out.push_back(std::move(row));
    }
    return out;
}

// FIELDS of crm.deal.add/update as text values; an error text when it is not an object.
std::optional<std::map<std::string, std::string>> DealFields(const json& params) {
    const json* fields = Find(params, "fields");
    if (fields == nullptr || !(fields->is_object() || (fields->is_array() && fields->empty()))) {
        return std::nullopt;
    }
    std::map<std::string, std::string> out;
    if (fields->is_object()) {
        for (const auto& [key, value] : fields->items()) {
            std::string name = key;
            for (char& c : name) {
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
            out[name] = Text(value);
        }
    }
    return out;
}

Reply DealList(Simulator::Impl& s, const json& params, const Caller&) {
    const json filter = ObjectOr(Find(params, "filter"));
    const json order = ObjectOr(Find(params, "order"));
    const ListPlan plan =
        s.model.fast_lists ? PlanList(filter, order, "ID", "", IndexValues::kIds) : ListPlan{};
    const auto render = [&s](std::int64_t id) -> std::optional<json> {
        const SimDeal& deal = s.model.deals.at(id);
        return deal.deleted ? std::nullopt : std::optional<json>{RenderDeal(s.model, deal)};
    };
    Page page = CollectPage(plan, AllIds(s.model.deals), render, filter, order,
                            Find(params, "start"), "ID");
    const json* select = Find(params, "select");
    const json chosen = select != nullptr && select->is_array() && !select->empty()
                            ? *select
                            : json::array({"*", "UF_*"});
    for (json& row : page.rows) {
        row = Select(row, chosen);
    }
    return ListReply(Rows(std::move(page.rows)), page);
}

Reply DealGet(Simulator::Impl& s, const json& params, const Caller&) {
    const auto id = Int(Find(params, "id"));
    if (!id || *id <= 0) {
        return Reply::Invalid("ID is not defined or invalid.");
    }
    const auto it = s.model.deals.find(*id);
    if (it == s.model.deals.end() || it->second.deleted) {
        return Reply::NotFound();
    }
    Reply reply;
    reply.result = RenderDeal(s.model, it->second);
    return reply;
}

Reply DealAdd(Simulator::Impl& s, const json& params, const Caller& caller) {
    const auto fields = DealFields(params);
    if (!fields) {
        return Reply::Invalid("Parameter 'fields' must be array.");
    }
    DealDraft draft;
    for (const auto& [name, value] : *fields) {
        if (name == "TITLE") {
            draft.title = value;
        } else if (name == "CATEGORY_ID") {
            draft.category_id = std::atoi(value.c_str());
        } else if (name == "STAGE_ID") {
            draft.stage_id = value;
        } else if (name == "ASSIGNED_BY_ID") {
            draft.assigned_by = std::atoll(value.c_str());
        } else if (name == "OPPORTUNITY") {
            draft.opportunity = std::atof(value.c_str());
        } else if (name.rfind("UF_CRM_", 0) == 0) {
            draft.fields[name] = value;
        }
    }
    std::int64_t id = 0;
    if (std::string error = s.model.AddDeal(draft, caller.user, s.clock->Now(), &id);
        !error.empty()) {
        return Reply::Invalid(std::move(error));
    }
    Reply reply;
    reply.result = id;
    return reply;
}

Reply DealUpdate(Simulator::Impl& s, const json& params, const Caller& caller) {
    const auto id = Int(Find(params, "id"));
    if (!id || *id <= 0) {
        return Reply::Invalid("ID is not defined or invalid.");
    }
    const auto fields = DealFields(params);
    if (!fields) {
        return Reply::Invalid("The parameter 'fields' must be array.");
    }
    if (std::string error = s.model.UpdateDeal(*id, *fields, caller.user, s.clock->Now());
        !error.empty()) {
        return error == "Not found" ? Reply::NotFound() : Reply::Invalid(std::move(error));
    }
    Reply reply;
    reply.result = true;
    return reply;
}

Reply DealDelete(Simulator::Impl& s, const json& params, const Caller&) {
    const auto id = Int(Find(params, "id"));
    if (!id || *id <= 0) {
        return Reply::Invalid("ID is not defined or invalid.");
    }
    if (!s.model.DeleteDeal(*id, s.clock->Now()).empty()) {
        return Reply::NotFound();
    }
    Reply reply;
    reply.result = true;
    return reply;
}

Reply UserFieldList(Simulator::Impl& s, const json& params, const Caller&) {
    const json filter = ObjectOr(Find(params, "filter"));
    const bool with_lang = Find(filter, "LANG") != nullptr;
    json rows = json::array();
    for (const SimUserField& field : s.model.user_fields) {
        json row = RenderUserField(field, with_lang);
        json conditions = filter;
        conditions.erase("LANG");
        if (Matches(row, conditions)) {
            rows.push_back(std::move(row));
        }
    }
    Reply reply;
    reply.total = static_cast<long>(rows.size());
    reply.result = std::move(rows);
    return reply;
}

std::optional<Reply> CheckDealEntityType(const json& params) {
    const auto type = Int(Find(params, "entityTypeId"));
    if (!type) {
        return Reply::Fail(400, "INVALID_ARG_VALUE",
                           "Could not find value for parameter {entityTypeId}");
    }
    if (*type != 2) {
        return Reply::Fail(400, "NOT_FOUND", "Smart process not found");
    }
    return std::nullopt;
}

Reply CategoryList(Simulator::Impl& s, const json& params, const Caller&) {
    if (auto bad = CheckDealEntityType(params)) {
        return *bad;
    }
    json categories = json::array();
    for (const SimCategory& category : s.model.categories) {
        categories.push_back(RenderCategory(category));
    }
    Reply reply;
    reply.total = static_cast<long>(categories.size());
    reply.result = {{"categories", std::move(categories)}};
    return reply;
}

Reply CategoryGet(Simulator::Impl& s, const json& params, const Caller&) {
    if (auto bad = CheckDealEntityType(params)) {
        return *bad;
    }
    const auto id = Int(Find(params, "id"));
    const SimCategory* category = id ? s.model.Category(static_cast<int>(*id)) : nullptr;
    if (category == nullptr) {
        return Reply::Fail(400, "NOT_FOUND", "Элемент не найден");
    }
    Reply reply;
    reply.result = {{"category", RenderCategory(*category)}};
    return reply;
}

Reply StatusList(Simulator::Impl& s, const json& params, const Caller&) {
    const json filter = ObjectOr(Find(params, "filter"));
    std::vector<json> rows;
    for (const SimCategory& category : s.model.categories) {
        for (const SimStage& stage : category.stages) {
            json row = RenderStage(category, stage);
            if (Matches(row, filter)) {
                rows.push_back(std::move(row));
            }
        }
    }
    json order = ObjectOr(Find(params, "order"));
    if (order.empty()) {
        order = {{"SORT", "ASC"}};
    }
    Order(rows, order);
    Reply reply;
    reply.total = static_cast<long>(rows.size());
    reply.result = Rows(std::move(rows));
    return reply;
}

Reply DealCategoryList(Simulator::Impl& s, const json&, const Caller&) {
    json rows = json::array();
    for (const SimCategory& category : s.model.categories) {
        if (category.id != 0) {  // the legacy list leaves out the default pipeline
            rows.push_back({{"ID", std::to_string(category.id)},
                            {"NAME", category.name},
                            {"SORT", std::to_string(category.sort)},
                            {"IS_LOCKED", "N"}});
        }
    }
    Reply reply;
    reply.total = static_cast<long>(rows.size());
    reply.result = std::move(rows);
    return reply;
}

Reply DealCategoryStages(Simulator::Impl& s, const json& params, const Caller&) {
    const auto id = Int(Find(params, "id")).value_or(0);
    const SimCategory* category = s.model.Category(static_cast<int>(id));
    if (category == nullptr) {
        return Reply::NotFound();
    }
    json rows = json::array();
    for (const SimStage& stage : category->stages) {
        rows.push_back({{"NAME", stage.name},
                        {"SORT", std::to_string(stage.sort)},
                        {"STATUS_ID", stage.status_id}});
    }
    Reply reply;
    reply.result = std::move(rows);
    return reply;
}

Reply StageHistoryList(Simulator::Impl& s, const json& params, const Caller&) {
    if (auto bad = CheckDealEntityType(params)) {
        return *bad;
    }
    const json* filter = Find(params, "filter");
    if (filter != nullptr && !filter->is_object() && !(filter->is_array() && filter->empty())) {
        return Reply::Fail(400, "INVALID_ARG_VALUE", "Invalid value for parameter {filter}");
    }
    const json conditions = ObjectOr(filter);
    const json order = ObjectOr(Find(params, "order"));
    s.model.index.CatchUp(s.model);
    const ListIndex& index = s.model.index;
    const ListPlan plan = s.model.fast_lists
                              ? PlanList(conditions, order, "ID", "OWNER_ID", IndexValues::kIds)
                              : ListPlan{};
    const auto render = [&s, &index](std::int64_t id) -> std::optional<json> {
        return RenderHistory(s.model.history[index.history_at.at(id)]);
    };
    Page page = CollectPage(plan,
                            plan.index_values ? AmongIds(index.history.Ids(*plan.index_values))
                                              : AllIds(index.history_at),
                            render, conditions, order, Find(params, "start"), "ID");
    const json* select = Find(params, "select");
    for (json& row : page.rows) {
        row = Select(row, select != nullptr ? *select : json::array());
    }
    return ListReply({{"items", Rows(std::move(page.rows))}}, page);
}

Reply UserGet(Simulator::Impl& s, const json& params, const Caller&) {
    // user.get takes the filter flat ({"ID": 7}) or under FILTER.
    json filter = ObjectOr(Find(params, "filter"));
    for (const char* key : {"ID", "ACTIVE", "EMAIL"}) {
        if (const json* value = Find(params, key)) {
            filter[key] = *value;
        }
    }
    std::vector<json> rows;
    for (const SimUser& user : s.model.users) {
        json row = RenderUser(user);
        json conditions = filter;
        if (conditions.contains("ACTIVE")) {
            conditions.erase("ACTIVE");  // every simulated user is active
        }
        if (Matches(row, conditions)) {
            rows.push_back(std::move(row));
        }
    }
    Page page = Paginate(std::move(rows), Find(params, "start"));
    return ListReply(Rows(std::move(page.rows)), page);
}

Reply UserCurrent(Simulator::Impl& s, const json&, const Caller& caller) {
    const SimUser* user = s.model.User(caller.user);
    if (user == nullptr) {
        return Reply::NotFound();
    }
    Reply reply;
    reply.result = RenderUser(*user);
    return reply;
}

}  // namespace

void Simulator::Impl::RegisterDealMethods() {
    methods["crm.deal.fields"] = [](Impl& s, const json&, const Caller&) {
        Reply reply;
        reply.result = RenderDealFields(s.model);
        return reply;
    };
    methods["crm.deal.list"] = &DealList;
    methods["crm.deal.get"] = &DealGet;
    methods["crm.deal.add"] = &DealAdd;
    methods["crm.deal.update"] = &DealUpdate;
    methods["crm.deal.delete"] = &DealDelete;
    methods["crm.deal.userfield.list"] = &UserFieldList;
    methods["crm.category.list"] = &CategoryList;
    methods["crm.category.get"] = &CategoryGet;
    methods["crm.status.list"] = &StatusList;
    methods["crm.dealcategory.list"] = &DealCategoryList;
    methods["crm.dealcategory.stage.list"] = &DealCategoryStages;
    methods["crm.stagehistory.list"] = &StageHistoryList;
    methods["user.get"] = &UserGet;
    methods["user.current"] = &UserCurrent;
}

}  // namespace fg::adapters::bitrix24::sim
