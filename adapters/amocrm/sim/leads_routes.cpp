#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/filters.hpp"
#include "adapters/amocrm/sim/render.hpp"
#include "adapters/amocrm/sim/respond.hpp"
#include "adapters/amocrm/sim/simulator_impl.hpp"
#include "adapters/amocrm/sim/validation.hpp"

namespace fg::adapters::amocrm::sim {

// The leads routes: GET /api/v4/leads (filters, order, only_deleted), GET /api/v4/leads/{id},
// POST /api/v4/leads and PATCH /api/v4/leads[/{id}].

using nlohmann::json;

void Simulator::Impl::ListLeads(const httplib::Request& req, httplib::Response& res) {
    const auto paging = ReadPaging(req, res, kMaxPage, 50);
    if (!paging) {
        return;
    }
    const IntFilter ids = IntList(req, "filter[id]");
    const IntFilter pipelines = IntList(req, "filter[pipeline_id]");
    const IntFilter responsible = IntList(req, "filter[responsible_user_id]");
    const IntFilter created_by = IntList(req, "filter[created_by]");
    const TimeRange updated = Range(req, "filter[updated_at]");
    const TimeRange created = Range(req, "filter[created_at]");
    const TimeRange closed = Range(req, "filter[closed_at]");
    if (ids.bad || pipelines.bad || responsible.bad || created_by.bad || updated.bad ||
        created.bad || closed.bad) {
        ValidationProblem(res, {{"0", {InvalidType("filter", "int")}}});
        return;
    }
    // filter[statuses][i][pipeline_id] + [status_id]
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> status_pairs;
    for (const auto& [key, value] : req.params) {
        constexpr std::string_view kPrefix = "filter[statuses][";
        if (key.compare(0, kPrefix.size(), kPrefix) != 0) {
            continue;
        }
        const std::size_t close = key.find(']', kPrefix.size());
        if (close == std::string::npos) {
            continue;
        }
        const std::string index = key.substr(kPrefix.size(), close - kPrefix.size());
        const std::string rest = key.substr(close + 1);
        const std::int64_t number = ParseInt(value).value_or(-1);
        if (rest == "[pipeline_id]") {
            status_pairs[index].first = number;
        } else if (rest == "[status_id]") {
            status_pairs[index].second = number;
        }
    }
    const bool only_deleted = HasWith(req, "only_deleted");
    const LeadWith with{.contacts = HasWith(req, "contacts"),
                        .loss_reason = HasWith(req, "loss_reason"),
                        .source_id = HasWith(req, "source_id")};
    const std::string query = req.has_param("query") ? req.get_param_value("query") : "";
    const Order order = ParseOrder(req, {"updated_at", "created_at", "id"});

    std::lock_guard lock(mutex);
    const std::vector<SimLead>& leads = model.Leads();
    std::vector<std::uint32_t> matches;
    matches.reserve(leads.size());
    for (std::size_t i = 0; i < leads.size(); ++i) {
        const SimLead& lead = leads[i];
        if (lead.is_deleted != only_deleted || !ids.Accepts(lead.id) ||
            !pipelines.Accepts(lead.pipeline_id) ||
            !responsible.Accepts(lead.responsible_user_id) ||
            !created_by.Accepts(lead.created_by) || !updated.Accepts(lead.updated_at) ||
            !created.Accepts(lead.created_at)) {
            continue;
        }
        if (closed.Present() && (!lead.closed_at || !closed.Accepts(*lead.closed_at))) {
            continue;
        }
        if (!status_pairs.empty()) {
            const bool any =
                std::any_of(status_pairs.begin(), status_pairs.end(), [&](const auto& entry) {
                    return entry.second.first == lead.pipeline_id &&
                           entry.second.second == lead.status_id;
                });
            if (!any) {
                continue;
            }
        }
        if (!query.empty() && lead.name.find(query) == std::string::npos &&
            std::to_string(lead.id) != query) {
            continue;
        }
        matches.push_back(static_cast<std::uint32_t>(i));
    }
    if (!order.field.empty() && order.field != "id") {
        const bool by_updated = order.field == "updated_at";
        std::stable_sort(matches.begin(), matches.end(), [&](std::uint32_t a, std::uint32_t b) {
            const Timestamp ta = by_updated ? leads[a].updated_at : leads[a].created_at;
            const Timestamp tb = by_updated ? leads[b].updated_at : leads[b].created_at;
            return order.descending ? tb < ta : ta < tb;
        });
    } else if (order.descending) {
        std::reverse(matches.begin(), matches.end());
    }
    json items = json::array();
    for (std::size_t i = paging->Offset();
         i < matches.size() && items.size() < static_cast<std::size_t>(paging->limit); ++i) {
        const SimLead& lead = leads[matches[i]];
        items.push_back(only_deleted ? DeletedLeadJson(model, lead) : LeadJson(model, lead, with));
    }
    RespondPage(model.base_url, req, res, *paging, "leads", std::move(items));
}

void Simulator::Impl::GetLeadById(const httplib::Request& req, httplib::Response& res) {
    const auto id = ParseInt(req.matches[1].str());
    std::lock_guard lock(mutex);
    const SimLead* lead = id ? model.Lead(*id) : nullptr;
    if (lead == nullptr || lead->is_deleted) {
        // amoCRM answers an unknown id with 204 and no body (amocrm.md §2.1).
        res.status = 204;
        return;
    }
    const LeadWith with{.contacts = HasWith(req, "contacts"),
                        .loss_reason = HasWith(req, "loss_reason"),
                        .source_id = HasWith(req, "source_id")};
    Hal(res, LeadJson(model, *lead, with));
}

void Simulator::Impl::CreateLeads(const httplib::Request& req, httplib::Response& res) {
    const auto body = ReadBatch(req, res, kMaxBatch);
    if (!body) {
        return;
    }
    std::lock_guard lock(mutex);
    std::vector<LeadInput> inputs;
    std::vector<std::pair<std::string, FieldErrors>> problems;
    for (std::size_t i = 0; i < body->size(); ++i) {
        FieldErrors errors;
        LeadInput input = ParseLeadInput(model, (*body)[i], true, errors);
        if (errors.empty()) {
            ResolveLeadPatch(model, nullptr, input.patch, errors);
        }
        input.request_id = RequestIdOr(input.request_id, i);
        if (!errors.empty()) {
            problems.emplace_back(input.request_id, std::move(errors));
        }
        inputs.push_back(std::move(input));
    }
    if (!problems.empty()) {
        ValidationProblem(res, problems);
        return;
    }
    const Timestamp now = clock->Now();
    std::vector<HookItem> hooks;
    json created = json::array();
    for (LeadInput& input : inputs) {
        const std::int64_t actor = Actor(input.created_by);
        const std::int64_t id = model.CreateLead(
            SimLead{.name = input.patch.name.value_or(""),
                    .price = input.patch.price.value_or(0),
                    .responsible_user_id = input.patch.responsible_user_id.value_or(
                        actor == 0 ? model.AdminUserId() : actor),
                    .status_id = *input.patch.status_id,
                    .pipeline_id = *input.patch.pipeline_id,
                    .created_by = actor,
                    .fields = input.patch.fields},
            now, hooks);
        created.push_back(
            {{"id", id},
             {"request_id", input.request_id},
             {"_links", Link(fmt::format("{}/api/v4/leads/{}", model.base_url, id))}});
    }
    Dispatch(hooks);
    Hal(res, {{"_links", Link(model.base_url + "/api/v4/leads")},
              {"_embedded", {{"leads", std::move(created)}}}});
}

void Simulator::Impl::PatchLeads(const httplib::Request& req, httplib::Response& res,
                                 std::optional<std::int64_t> path_id) {
    json body = json::parse(req.body);
    if (path_id) {
        if (!body.is_object()) {
            ValidationProblem(res, {{"0", {InvalidType("", "object")}}});
            return;
        }
        body["id"] = *path_id;
        body = json::array({body});
    } else {
        if (!body.is_array()) {
            ValidationProblem(res, {{"0", {InvalidType("", "array")}}});
            return;
        }
        if (body.empty()) {
            ValidationProblem(res, {{"0", {NotBlank("")}}});
            return;
        }
        if (body.size() > kMaxBatch) {
            Problem(res, 422, "Unprocessable Entity", fmt::format("Limit {} per page", kMaxBatch));
            return;
        }
    }
    std::lock_guard lock(mutex);
    if (path_id) {
        const SimLead* lead = model.Lead(*path_id);
        if (lead == nullptr || lead->is_deleted) {
            Problem(res, 404, "Not Found", fmt::format("Lead {} not found", *path_id));
            return;
        }
    }
    std::vector<LeadInput> inputs;
    std::vector<std::pair<std::string, FieldErrors>> problems;
    for (std::size_t i = 0; i < body.size(); ++i) {
        FieldErrors errors;
        LeadInput input = ParseLeadInput(model, body[i], false, errors);
        const SimLead* lead = input.id ? model.Lead(*input.id) : nullptr;
        if (lead == nullptr || lead->is_deleted) {
            errors.push_back(input.id ? NotSupported("id") : NotBlank("id"));
        } else if (errors.empty()) {
            ResolveLeadPatch(model, lead, input.patch, errors);
        }
        input.request_id = RequestIdOr(input.request_id, i);
        if (!errors.empty()) {
            problems.emplace_back(input.request_id, std::move(errors));
        }
        inputs.push_back(std::move(input));
    }
    if (!problems.empty()) {
        ValidationProblem(res, problems);
        return;
    }
    const Timestamp now = clock->Now();
    std::vector<HookItem> hooks;
    json updated = json::array();
    for (const LeadInput& input : inputs) {
        model.UpdateLead(*input.id, input.patch, Actor(input.updated_by), now, hooks);
        updated.push_back(
            {{"id", *input.id},
             {"updated_at", ToEpoch(now)},
             {"request_id", input.request_id},
             {"_links", Link(fmt::format("{}/api/v4/leads/{}", model.base_url, *input.id))}});
    }
    Dispatch(hooks);
    if (path_id) {
        json single = updated.front();
        single.erase("request_id");
        Hal(res, single);
        return;
    }
    Hal(res, {{"_links", Link(model.base_url + "/api/v4/leads")},
              {"_embedded", {{"leads", std::move(updated)}}}});
}

}  // namespace fg::adapters::amocrm::sim
