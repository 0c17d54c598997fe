#include <exception>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/catalog.hpp"
#include "adapters/amocrm/sim/respond.hpp"
#include "adapters/amocrm/sim/simulator_impl.hpp"

namespace fg::adapters::amocrm::sim {

// The simulator's route table: every route behind Count and Gate, and the 404 and 500 answers.

using nlohmann::json;

void Simulator::Impl::Route(const std::string& method, const std::string& pattern,
                            const std::string& name, bool needs_auth, Handler handler) {
    auto wrapped = [this, name, needs_auth, handler = std::move(handler)](
                       const httplib::Request& req, httplib::Response& res) {
        Count(name);
        if (!Gate(req, res, needs_auth)) {
            return;
        }
        try {
            handler(req, res);
        } catch (const json::exception&) {
            Problem(res, 400, "Bad Request", "Request body is not valid JSON");
        }
    };
    if (method == "GET") {
        server->Get(pattern, wrapped);
    } else if (method == "POST") {
        server->Post(pattern, wrapped);
    } else if (method == "PATCH") {
        server->Patch(pattern, wrapped);
    } else if (method == "DELETE") {
        server->Delete(pattern, wrapped);
    }
}

void Simulator::Impl::Register() {
    // cpp-httplib 0.11 reads a DELETE body only when Content-Length is present: a chunked
    // one (Node's http.request sends DELETE bodies so) reaches the handler empty and its
    // bytes are left on the connection. amoCRM reads it (DELETE /api/v4/webhooks takes
    // {"destination"}). Declaring a length lets httplib read the body, and its reader
    // decodes Transfer-Encoding: chunked before looking at Content-Length. The Request is
    // the server's own non-const object, so writing through const_cast is defined.
    server->set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
        if (req.method == "DELETE" && !req.has_header("Content-Length") &&
            req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos) {
            const_cast<httplib::Request&>(req).headers.emplace("Content-Length", "0");
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    // Catalog routes only read the model (catalog.hpp).
    using Serve = void (*)(const Model&, const httplib::Request&, httplib::Response&);
    auto locked = [this](Serve serve) {
        return [this, serve](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(mutex);
            serve(model, req, res);
        };
    };
    Route("GET", "/api/v4/account", "GET /api/v4/account", true,
          [this](const auto& req, auto& res) {
              std::lock_guard lock(mutex);
              ServeAccount(model, clock->Now(), req, res);
          });
    Route("GET", "/api/v4/leads/pipelines", "GET /api/v4/leads/pipelines", true,
          locked(&ServePipelines));
    Route("GET", R"(/api/v4/leads/pipelines/(\d+))", "GET /api/v4/leads/pipelines/{id}", true,
          locked(&ServePipelineById));
    Route("GET", R"(/api/v4/leads/pipelines/(\d+)/statuses)",
          "GET /api/v4/leads/pipelines/{id}/statuses", true, locked(&ServeStatuses));
    Route("GET", R"(/api/v4/leads/pipelines/(\d+)/statuses/(\d+))",
          "GET /api/v4/leads/pipelines/{id}/statuses/{id}", true, locked(&ServeStatusById));
    Route("GET", "/api/v4/leads/custom_fields", "GET /api/v4/leads/custom_fields", true,
          locked(&ServeCustomFields));
    Route("GET", "/api/v4/users", "GET /api/v4/users", true, locked(&ServeUsers));
    Route("GET", R"(/api/v4/users/(\d+))", "GET /api/v4/users/{id}", true, locked(&ServeUserById));
    Route("GET", "/api/v4/leads/notes", "GET /api/v4/leads/notes", true,
          [this](const auto& req, auto& res) { ListNotes(req, res, std::nullopt); });
    Route("POST", "/api/v4/leads/notes", "POST /api/v4/leads/notes", true,
          [this](const auto& req, auto& res) { CreateNotes(req, res, std::nullopt); });
    Route("GET", R"(/api/v4/leads/(\d+)/notes)", "GET /api/v4/leads/{id}/notes", true,
          [this](const auto& req, auto& res) {
              ListNotes(req, res, ParseInt(req.matches[1].str()));
          });
    Route("POST", R"(/api/v4/leads/(\d+)/notes)", "POST /api/v4/leads/{id}/notes", true,
          [this](const auto& req, auto& res) {
              CreateNotes(req, res, ParseInt(req.matches[1].str()));
          });
    Route("GET", "/api/v4/leads", "GET /api/v4/leads", true,
          [this](const auto& req, auto& res) { ListLeads(req, res); });
    Route("GET", R"(/api/v4/leads/(\d+))", "GET /api/v4/leads/{id}", true,
          [this](const auto& req, auto& res) { GetLeadById(req, res); });
    Route("POST", "/api/v4/leads", "POST /api/v4/leads", true,
          [this](const auto& req, auto& res) { CreateLeads(req, res); });
    Route("PATCH", "/api/v4/leads", "PATCH /api/v4/leads", true,
          [this](const auto& req, auto& res) { PatchLeads(req, res, std::nullopt); });
    Route("PATCH", R"(/api/v4/leads/(\d+))", "PATCH /api/v4/leads/{id}", true,
          [this](const auto& req, auto& res) {
              PatchLeads(req, res, ParseInt(req.matches[1].str()));
          });
    Route("GET", "/api/v4/tasks", "GET /api/v4/tasks", true,
          [this](const auto& req, auto& res) { ListTasks(req, res); });
    Route("GET", R"(/api/v4/tasks/(\d+))", "GET /api/v4/tasks/{id}", true,
          [this](const auto& req, auto& res) { GetTaskById(req, res); });
    Route("POST", "/api/v4/tasks", "POST /api/v4/tasks", true,
          [this](const auto& req, auto& res) { CreateTasks(req, res); });
    Route("PATCH", "/api/v4/tasks", "PATCH /api/v4/tasks", true,
          [this](const auto& req, auto& res) { PatchTasks(req, res, std::nullopt); });
    Route("PATCH", R"(/api/v4/tasks/(\d+))", "PATCH /api/v4/tasks/{id}", true,
          [this](const auto& req, auto& res) {
              PatchTasks(req, res, ParseInt(req.matches[1].str()));
          });
    Route("GET", "/api/v4/events", "GET /api/v4/events", true,
          [this](const auto& req, auto& res) { ListEvents(req, res); });
    Route("GET", "/api/v4/webhooks", "GET /api/v4/webhooks", true,
          [this](const auto& req, auto& res) { ListWebhooks(req, res); });
    Route("POST", "/api/v4/webhooks", "POST /api/v4/webhooks", true,
          [this](const auto& req, auto& res) { AddWebhook(req, res); });
    Route("DELETE", "/api/v4/webhooks", "DELETE /api/v4/webhooks", true,
          [this](const auto& req, auto& res) { DeleteWebhook(req, res); });
    Route("POST", "/oauth2/access_token", "POST /oauth2/access_token", false,
          [this](const auto& req, auto& res) { AccessToken(req, res); });
    // Anything else: amoCRM's 404 problem (only when no handler produced a body).
    server->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (res.status == 404 && res.body.empty()) {
            Problem(res, 404, "Not Found",
                    fmt::format("Cannot {} https://{}.amocrm.ru{}", req.method, options.subdomain,
                                req.path));
        }
    });
    server->set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
            Problem(res, 500, "ErrInternalServer", "Internal server error", {{"trace_id", "sim"}});
        });
}

}  // namespace fg::adapters::amocrm::sim
