#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/render.hpp"
#include "adapters/amocrm/sim/respond.hpp"
#include "adapters/amocrm/sim/simulator_impl.hpp"
#include "adapters/amocrm/sim/validation.hpp"

namespace fg::adapters::amocrm::sim {

// The webhook subscription routes: GET, POST and DELETE /api/v4/webhooks (the sender is
// webhooks.hpp).

using nlohmann::json;

namespace {

constexpr std::size_t kMaxWebhooks = 100;

const std::set<std::string> kWebhookSettings = {"add_lead",
                                                "update_lead",
                                                "delete_lead",
                                                "restore_lead",
                                                "status_lead",
                                                "responsible_lead",
                                                "note_lead",
                                                "add_contact",
                                                "update_contact",
                                                "delete_contact",
                                                "restore_contact",
                                                "responsible_contact",
                                                "note_contact",
                                                "add_company",
                                                "update_company",
                                                "delete_company",
                                                "restore_company",
                                                "responsible_company",
                                                "note_company",
                                                "add_customer",
                                                "update_customer",
                                                "delete_customer",
                                                "responsible_customer",
                                                "note_customer",
                                                "add_task",
                                                "update_task",
                                                "delete_task",
                                                "responsible_task",
                                                "add_talk",
                                                "update_talk",
                                                "add_message",
                                                "add_outgoing_message",
                                                "add_unsorted",
                                                "update_unsorted",
                                                "delete_unsorted"};

}  // namespace

void Simulator::Impl::ListWebhooks(const httplib::Request& req, httplib::Response& res) {
    const std::vector<std::string> destinations = ParamList(req, "filter[destination]");
    std::lock_guard lock(mutex);
    json items = json::array();
    for (const SimWebhook& webhook : model.webhooks) {
        if (!destinations.empty() && std::find(destinations.begin(), destinations.end(),
                                               webhook.destination) == destinations.end()) {
            continue;
        }
        items.push_back(WebhookJson(model, webhook, sender.Disabled(webhook.destination)));
    }
    if (items.empty()) {
        res.status = 204;
        return;
    }
    Hal(res, {{"_total_items", items.size()},
              {"_links", Link(model.base_url + "/api/v4/webhooks")},
              {"_embedded", {{"webhooks", std::move(items)}}}});
}

void Simulator::Impl::AddWebhook(const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body);
    FieldErrors errors;
    if (!body.is_object()) {
        ValidationProblem(res, {{"0", {InvalidType("", "object")}}});
        return;
    }
    std::string destination;
    if (const auto it = body.find("destination"); it == body.end() || !it->is_string()) {
        errors.push_back(NotBlank("destination"));
    } else {
        destination = it->get<std::string>();
        if (destination.rfind("http://", 0) != 0 && destination.rfind("https://", 0) != 0) {
            errors.push_back({"InvalidUrl", "destination", "This value is not a valid URL."});
        }
    }
    std::vector<std::string> settings;
    if (const auto it = body.find("settings"); it == body.end() || !it->is_array() || it->empty()) {
        errors.push_back(NotBlank("settings"));
    } else {
        for (std::size_t i = 0; i < it->size(); ++i) {
            const json& value = (*it)[i];
            if (!value.is_string() || kWebhookSettings.count(value.get<std::string>()) == 0) {
                errors.push_back(NotSupported(fmt::format("settings.{}", i)));
            } else if (std::find(settings.begin(), settings.end(), value.get<std::string>()) ==
                       settings.end()) {
                settings.push_back(value.get<std::string>());
            }
        }
    }
    int sort = 0;
    if (const auto it = body.find("sort"); it != body.end() && !it->is_null()) {
        if (!it->is_number_integer()) {
            errors.push_back(InvalidType("sort", "int"));
        } else {
            sort = it->get<int>();
        }
    }
    if (!errors.empty()) {
        ValidationProblem(res, {{"0", errors}});
        return;
    }
    std::lock_guard lock(mutex);
    const Timestamp now = clock->Now();
    auto existing = std::find_if(model.webhooks.begin(), model.webhooks.end(),
                                 [&](const SimWebhook& w) { return w.destination == destination; });
    if (existing != model.webhooks.end()) {
        // Registering a known destination updates it (and re-enables a disabled one).
        existing->settings = settings;
        existing->sort = sort;
        existing->updated_at = now;
        sender.Enable(destination);
        Hal(res, WebhookJson(model, *existing, false));
        return;
    }
    if (model.webhooks.size() >= kMaxWebhooks) {
        Problem(res, 400, "Bad Request", "Webhooks limit reached");
        return;
    }
    model.webhooks.push_back(SimWebhook{.id = next_webhook_id++,
                                        .destination = destination,
                                        .settings = settings,
                                        .sort = sort,
                                        .created_by = model.AdminUserId(),
                                        .created_at = now,
                                        .updated_at = now});
    sender.Enable(destination);
    Hal(res, WebhookJson(model, model.webhooks.back(), false));
}

void Simulator::Impl::DeleteWebhook(const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body.empty() ? std::string("{}") : req.body);
    if (!body.is_object() || !body.contains("destination") || !body["destination"].is_string()) {
        ValidationProblem(res, {{"0", {NotBlank("destination")}}});
        return;
    }
    const std::string destination = body["destination"].get<std::string>();
    std::lock_guard lock(mutex);
    model.webhooks.erase(
        std::remove_if(model.webhooks.begin(), model.webhooks.end(),
                       [&](const SimWebhook& w) { return w.destination == destination; }),
        model.webhooks.end());
    sender.Forget(destination);
    res.status = 204;
}

}  // namespace fg::adapters::amocrm::sim
