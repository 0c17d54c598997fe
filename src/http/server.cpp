#include "src/http/server.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "src/common/log.hpp"
#include "src/common/secret.hpp"
#include "src/engine/views.hpp"

namespace fg::http {
namespace {

spdlog::logger& Log() {
    static const auto logger = ModuleLogger("http");
    return *logger;
}

// How long a webhook waits for its inbox commit before it is refused with 503.
constexpr auto kCommitWait = std::chrono::seconds{10};

void Reply(httplib::Response& response, int status, const nlohmann::json& body) {
    response.status = status;
    response.set_content(body.dump(), "application/json; charset=utf-8");
}

void ReplyError(httplib::Response& response, int status, const std::string& reason) {
    Reply(response, status, {{"error", reason}});
}

bool IEquals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// The token of `Authorization: Bearer <token>`. The scheme is case-insensitive (RFC 9110 §11.1:
// "bearer" and "BEARER" are the same scheme), and spaces or tabs may separate it from the token.
std::string BearerToken(const httplib::Request& request) {
    const std::string header = request.get_header_value("Authorization");
    constexpr std::string_view kScheme = "Bearer";
    if (header.size() <= kScheme.size() ||
        !IEquals(std::string_view(header).substr(0, kScheme.size()), kScheme) ||
        (header[kScheme.size()] != ' ' && header[kScheme.size()] != '\t')) {
        return {};
    }
    const std::size_t token = header.find_first_not_of(" \t", kScheme.size());
    const std::size_t end = header.find_last_not_of(" \t");
    if (token == std::string::npos) {
        return {};
    }
    return header.substr(token, end - token + 1);
}

// `limit=` of a listing, clamped to [1, most]; false when it is not a number (`limit` unchanged
// when absent).
bool ReadLimit(const httplib::Request& request, int most, int& limit) {
    if (!request.has_param("limit")) {
        return true;
    }
    try {
        limit = std::clamp(std::stoi(request.get_param_value("limit")), 1, most);
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

// The media type of a Content-Type header, lower-cased, without parameters.
std::string MediaType(const httplib::Request& request) {
    std::string type = request.get_header_value("Content-Type");
    type = type.substr(0, type.find(';'));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
        type.pop_back();
    }
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return type;
}

// Why a webhook's Content-Type cannot be what its CRM sends, or empty. A multipart body is
// never a webhook (and the HTTP library cannot hand it to the plain body reader); the rest is the
// adapter's to say (a JSON body to a form-encoded CRM's route is a sender at the wrong route).
std::string RefusedMediaType(const crm::Adapter& adapter, const std::string& type) {
    if (type.rfind("multipart/", 0) == 0) {
        return fmt::format("{} bodies are not webhooks: send {}", type, adapter.MediaType());
    }
    return adapter.RefusedMediaType(type);
}

// Largest body an API POST may carry (it is ignored): `{}` or a short JSON comment.
constexpr std::size_t kMaxAckBody = 4096;

// Reads and drops a request's body, for routes that take none. A request without
// Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3), so nothing is read then.
// False when the body is longer than `limit`.
bool DiscardBody(const httplib::Request& request, const httplib::ContentReader& reader,
                 std::size_t limit) {
    if (!request.has_header("Content-Length") && !request.has_header("Transfer-Encoding")) {
        return true;
    }
    if (request.get_header_value<std::uint64_t>("Content-Length") > limit) {
        return false;
    }
    std::size_t read = 0;
    return reader([&](const char*, std::size_t length) {
        read += length;
        return read <= limit;
    });
}

std::string TimeZoneOf(const config::AppConfig& config, const std::string& tenant) {
    const config::TenantConfig* found = config.FindTenant(tenant);
    return found ? found->timezone : std::string{};
}

// The tenant named in a webhook URL, if it is configured for that CRM.
const config::TenantConfig* FindTenantOf(engine::Engine& engine, std::string_view crm,
                                         const std::string& tenant_id) {
    const config::TenantConfig* tenant = engine.config().FindTenant(tenant_id);
    return tenant != nullptr && tenant->crm == crm ? tenant : nullptr;
}

// Reads, validates and stores one webhook whose sender is authenticated: 200 only once the inbox
// row is committed; 413 over the size limit; 415 for a media type its CRM never sends; 400 with
// the reason for a body the decoder refuses (for the CRM adapters, only one that is not a form
// at all: what a form holds that cannot be understood fails later, element by element); 503 when
// it cannot be stored.
// A token inside the body (crm::Credential::kBodyToken) is checked once the body is read; then
// the adapter's ForeignAccount: 403 for a body of another account of the CRM (another Bitrix24
// portal whose handler holds the same token).
void AcceptWebhook(engine::Engine& engine, const crm::Adapter& adapter,
                   const config::TenantConfig& tenant, const httplib::Request& request,
                   httplib::Response& response, const httplib::ContentReader& reader) {
    const std::string crm(adapter.Name());
    const std::string& tenant_id = tenant.id;
    if (const std::string refused = RefusedMediaType(adapter, MediaType(request));
        !refused.empty()) {
        engine.metrics().WebhookRejected(crm, "unsupported_media_type");
        // The body is not read: the connection is closed after the answer, so that its bytes
        // are never taken for the next request.
        response.set_header("Connection", "close");
        return ReplyError(response, 415, refused);
    }
    const std::size_t limit = engine.config().server.max_body_bytes;
    // httplib refuses an over-long Content-Length without calling the receiver, so the declared
    // length is checked first; the receiver catches chunked bodies.
    bool too_large = request.get_header_value<std::uint64_t>("Content-Length") > limit;
    std::string body;
    const bool read = too_large || reader([&](const char* data, std::size_t length) {
                          if (body.size() + length > limit) {
                              too_large = true;
                              return false;
                          }
                          body.append(data, length);
                          return true;
                      });
    if (too_large) {
        engine.metrics().WebhookRejected(crm, "too_large");
        return ReplyError(response, 413, fmt::format("body over the {} bytes limit", limit));
    }
    if (!read) {
        engine.metrics().WebhookRejected(crm, "bad_request");
        return ReplyError(response, 400, "the body could not be read");
    }
    if (adapter.WebhookCredential() == crm::Credential::kBodyToken &&
        !SecretEquals(adapter.BodyToken(body), tenant.secret)) {
        engine.metrics().WebhookRejected(crm, "unauthorized");
        return ReplyError(response, 401, "missing or wrong token in the body");
    }
    if (const std::string foreign = adapter.ForeignAccount(tenant, body); !foreign.empty()) {
        engine.metrics().WebhookRejected(crm, "foreign_account");
        return ReplyError(response, 403, foreign);
    }
    // Decoded here, on a pool thread, once: the result goes with the body to its processing.
    crm::WebhookRequest webhook{.tenant = tenant_id,
                                .content_type = request.get_header_value("Content-Type"),
                                .body = adapter.Scrub(std::move(body)),
                                .received_at = engine.clock().Now()};
    auto decoded = engine.Decoder(crm).ValidateAndDecode(webhook);
    if (!decoded) {
        engine.metrics().WebhookRejected(crm, "bad_request");
        return ReplyError(response, 400, decoded.error().message);
    }
    auto stored = engine.Intake(tenant_id, crm, std::move(webhook.body), webhook.received_at,
                                std::move(decoded).value());
    if (stored.wait_for(kCommitWait) != std::future_status::ready) {
        engine.metrics().WebhookRejected(crm, "unavailable");
        response.set_header("Retry-After", "5");
        return ReplyError(response, 503, "storage is too slow; retry later");
    }
    const Result<bool> result = stored.get();
    if (!result) {
        engine.metrics().WebhookRejected(crm, "unavailable");
        response.set_header("Retry-After", "5");
        return ReplyError(response, 503, result.error().message);
    }
    engine.metrics().WebhookReceived(crm);
    Reply(response, 200, {{"status", *result ? "stored" : "duplicate"}});
}

// A request path fit for logs: a third segment after /hooks/ (a secret, for adapters that take
// it in the path) is masked.
std::string PathForLog(const std::string& path) {
    constexpr std::string_view kHooks = "/hooks/";
    if (path.rfind(kHooks, 0) == 0) {
        const auto crm_end = path.find('/', kHooks.size());
        const auto tenant_end =
            crm_end == std::string::npos ? std::string::npos : path.find('/', crm_end + 1);
        if (tenant_end != std::string::npos) {
            return LogSafe(path.substr(0, tenant_end + 1)) + "***";
        }
    }
    return LogSafe(path);
}

}  // namespace

Server::Server(engine::Engine& engine, crm::AdapterList adapters)
    : engine_(engine),
      adapters_(std::move(adapters)),
      server_(std::make_unique<httplib::Server>()) {
    const config::ServerConfig& settings = engine_.config().server;
    // Without TCP_NODELAY a keep-alive client waits ~40 ms per request (reliability.md).
    server_->set_tcp_nodelay(true);
    server_->set_payload_max_length(settings.max_body_bytes);
    server_->set_read_timeout(10, 0);
    server_->set_write_timeout(10, 0);
    server_->set_keep_alive_max_count(1000);
    const int threads = std::max(2, settings.threads);
    server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    Routes();
}

Server::~Server() { Stop(); }

Result<int> Server::Bind(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        return MakeError(ErrorCode::kInvalidInput, "listen \"{}\" is not host:port", listen);
    }
    const std::string host = listen.substr(0, colon);
    int port = 0;
    try {
        port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
        return MakeError(ErrorCode::kInvalidInput, "listen \"{}\" has no valid port", listen);
    }
    if (port == 0) {
        const int bound = server_->bind_to_any_port(host);
        if (bound <= 0) {
            return MakeError(ErrorCode::kUnavailable, "cannot listen on {}", listen);
        }
        return bound;
    }
    if (!server_->bind_to_port(host, port)) {
        return MakeError(ErrorCode::kUnavailable, "cannot listen on {} (in use?)", listen);
    }
    return port;
}

void Server::Start() {
    thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void Server::Stop() {
    if (server_) {
        server_->stop();
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

void Server::Routes() {
    httplib::Server& server = *server_;
    engine::Engine& engine = engine_;

    server.set_exception_handler([](const httplib::Request& request, httplib::Response& response,
                                    std::exception_ptr error) {
        std::string what = "unknown";
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        Log().error("Request failed. path={} error={}", PathForLog(request.path), LogSafe(what));
        ReplyError(response, 500, "internal error");
    });
    server.set_error_handler(
        [&engine](const httplib::Request& request, httplib::Response& response) {
            if (!response.body.empty()) {
                return;
            }
            if (response.status == 413) {
                if (request.path.rfind("/hooks/", 0) == 0) {
                    engine.metrics().WebhookRejected("any", "too_large");
                }
                ReplyError(response, 413, "body too large");
            } else if (response.status == 404) {
                ReplyError(response, 404, "no such route");
            }
        });

    // One route for every adapter's webhooks, /hooks/<crm>/<tenant>[/<secret>]. It is a
    // ContentReader route: Debian's cpp-httplib refuses form bodies over 8 KB on plain routes
    // (both CRMs send form bodies).
    server.Post(
        R"(/hooks/([^/]+)/([^/]+)(?:/([^/]+))?)",
        [&engine, this](const httplib::Request& request, httplib::Response& response,
                        const httplib::ContentReader& reader) {
            const crm::Adapter* adapter = crm::FindAdapter(adapters_, request.matches[1].str());
            const bool has_secret = request.matches[3].matched;
            if (adapter == nullptr ||
                has_secret != (adapter->WebhookCredential() == crm::Credential::kPathSegment)) {
                // Unread, the body would be taken for the next request.
                response.set_header("Connection", "close");
                return ReplyError(response, 404, "no such route");
            }
            const std::string crm(adapter->Name());
            const config::TenantConfig* tenant = FindTenantOf(engine, crm, request.matches[2]);
            if (tenant == nullptr) {
                engine.metrics().WebhookRejected(crm, "unknown_tenant");
                return ReplyError(response, 404, "unknown tenant");
            }
            switch (adapter->WebhookCredential()) {
                case crm::Credential::kPathSegment:
                    if (!SecretEquals(request.matches[3].str(), tenant->secret)) {
                        engine.metrics().WebhookRejected(crm, "unauthorized");
                        return ReplyError(response, 401, "wrong secret in the webhook URL");
                    }
                    break;
                case crm::Credential::kBearer:
                    if (!SecretEquals(BearerToken(request), tenant->secret)) {
                        engine.metrics().WebhookRejected(crm, "unauthorized");
                        response.set_header("WWW-Authenticate", "Bearer");
                        return ReplyError(response, 401, "missing or wrong bearer token");
                    }
                    break;
                case crm::Credential::kBodyToken:
                    break;  // read with the body
            }
            AcceptWebhook(engine, *adapter, *tenant, request, response, reader);
        });

    auto admin = [&engine](const httplib::Request& request, httplib::Response& response) {
        const std::string& token = engine.config().server.admin_token;
        if (token.empty()) {
            ReplyError(response, 403, "the API is disabled: set server.admin_token");
            return false;
        }
        if (!SecretEquals(BearerToken(request), token)) {
            response.set_header("WWW-Authenticate", "Bearer");
            ReplyError(response, 401, "missing or wrong admin token");
            return false;
        }
        return true;
    };

    server.Get("/api/v1/violations", [&engine, admin](const httplib::Request& request,
                                                      httplib::Response& response) {
        if (!admin(request, response)) {
            return;
        }
        storage::ViolationFilter filter;
        filter.tenant = request.get_param_value("tenant");
        filter.rule = request.get_param_value("rule");
        filter.deal_id = request.get_param_value("deal");
        const std::string state = request.get_param_value("state");
        if (state.empty() || state == "open") {
            filter.state = storage::ViolationFilter::State::kOpen;
        } else if (state == "resolved") {
            filter.state = storage::ViolationFilter::State::kResolved;
        } else if (state == "all") {
            filter.state = storage::ViolationFilter::State::kAll;
        } else {
            return ReplyError(response, 400, "state must be open, resolved or all");
        }
        if (!ReadLimit(request, 100000, filter.limit)) {
            return ReplyError(response, 400, "limit must be a number");
        }
        auto db = engine.OpenReader();
        if (!db) {
            return ReplyError(response, 503, "storage unavailable");
        }
        nlohmann::json items = nlohmann::json::array();
        for (const storage::Violation& v : storage::ListViolations(**db, filter)) {
            items.push_back(engine::ViolationToJson(v, TimeZoneOf(engine.config(), v.tenant)));
        }
        Reply(response, 200, {{"violations", std::move(items)}});
    });

    server.Get(R"(/api/v1/deals/([^/]+)/([^/]+))",
               [&engine, admin](const httplib::Request& request, httplib::Response& response) {
                   if (!admin(request, response)) {
                       return;
                   }
                   const std::string tenant = request.matches[1];
                   const std::string deal = request.matches[2];
                   auto db = engine.OpenReader();
                   if (!db) {
                       return ReplyError(response, 503, "storage unavailable");
                   }
                   const auto snapshot = storage::LoadSnapshot(**db, tenant, deal);
                   if (!snapshot) {
                       return ReplyError(response, 404, "no such deal");
                   }
                   const std::string time_zone = TimeZoneOf(engine.config(), tenant);
                   nlohmann::json body = engine::SnapshotToJson(*snapshot, time_zone);
                   nlohmann::json violations = nlohmann::json::array();
                   for (storage::Violation& v : storage::ViolationsForDeal(**db, tenant, deal)) {
                       v.deal_title = snapshot->deal.title;
                       violations.push_back(engine::ViolationToJson(v, time_zone));
                   }
                   body["violations"] = std::move(violations);
                   Reply(response, 200, body);
               });

    // The ack takes no body: `curl -X POST` sends neither Content-Length nor Content-Type, and
    // httplib would wait for the connection to close to read one, so the route reads the body
    // itself, only when there is one, and ignores it.
    server.Post(R"(/api/v1/violations/(\d+)/ack)",
                [&engine, admin](const httplib::Request& request, httplib::Response& response,
                                 const httplib::ContentReader& reader) {
                    if (!DiscardBody(request, reader, kMaxAckBody)) {
                        // The rest of the body must not be taken for the next request.
                        response.set_header("Connection", "close");
                        return ReplyError(response, 413, "the ack takes no body");
                    }
                    if (!admin(request, response)) {
                        return;
                    }
                    std::int64_t id = 0;
                    try {
                        id = std::stoll(request.matches[1]);
                    } catch (const std::exception&) {
                        return ReplyError(response, 400, "bad violation id");
                    }
                    const Result<bool> acknowledged = engine.Acknowledge(id);
                    if (!acknowledged) {
                        const ErrorCode code = acknowledged.error().code;
                        const int status = code == ErrorCode::kNotFound   ? 404
                                           : code == ErrorCode::kConflict ? 409
                                                                          : 503;
                        return ReplyError(response, status, acknowledged.error().message);
                    }
                    Reply(response, 200, {{"id", id}, {"resolution", "acknowledged"}});
                });

    server.Get("/healthz", [&engine](const httplib::Request&, httplib::Response& response) {
        // A failed device (e.g. fsync) needs a restart; a full disk does not (it passes when
        // space is freed), so it is reported without failing the check.
        const engine::StorageStatus storage = engine.Storage();
        if (storage.state == engine::StorageStatus::State::kFailed) {
            return Reply(response, 503, {{"status", "storage failed"}, {"reason", storage.reason}});
        }
        // An account the CRM blocked stays blocked until its support lifts it: nothing reaches
        // that CRM, so this is not healthy.
        if (const auto blocked = engine.BlockedAccounts(); !blocked.empty()) {
            return Reply(response, 503, {{"status", "crm account blocked"}, {"blocked", blocked}});
        }
        if (storage.state == engine::StorageStatus::State::kDiskFull) {
            return Reply(response, 200,
                         {{"status", "degraded"},
                          {"reason", "the disk is full: webhooks get 503 until space is freed"}});
        }
        Reply(response, 200, {{"status", "ok"}});
    });

    // Readiness, for load balancers and start-up scripts: 503 until storage accepts writes and
    // every CRM tenant's directory has loaded. Webhooks are stored before that all the same
    // (they wait for the directory), so a CRM is never turned away by it.
    server.Get("/readyz", [&engine](const httplib::Request&, httplib::Response& response) {
        const engine::Engine::Readiness readiness = engine.Ready();
        // Chat problems never make it not ready (the messages wait), but are shown.
        const auto add_chat = [&readiness](nlohmann::json& body) {
            if (!readiness.chat_channels.empty()) {
                body["chat_channel_problems"] = readiness.chat_channels;
            }
            if (!readiness.chat_addresses.empty()) {
                nlohmann::json broken = nlohmann::json::object();
                for (const auto& [tenant, addresses] : readiness.chat_addresses) {
                    for (const auto& address : addresses) {
                        broken[tenant].push_back({{"channel", address.channel},
                                                  {"address", address.shown},
                                                  {"reason", address.reason}});
                    }
                }
                body["chat_addresses_broken"] = std::move(broken);
            }
        };
        if (readiness.ready) {
            nlohmann::json body = {{"status", "ready"},
                                   {"config_problems", readiness.config_problems}};
            add_chat(body);
            return Reply(response, 200, body);
        }
        nlohmann::json body = {{"status", "not ready"},
                               {"config_problems", readiness.config_problems}};
        add_chat(body);
        if (!readiness.storage.empty()) {
            body["storage"] = readiness.storage;
        }
        if (!readiness.missing.empty()) {
            body["directory_not_loaded"] = readiness.missing;
        }
        Reply(response, 503, body);
    });

    server.Get("/api/v1/inbox", [&engine, admin](const httplib::Request& request,
                                                 httplib::Response& response) {
        if (!admin(request, response)) {
            return;
        }
        storage::InboxFilter filter;
        filter.tenant = request.get_param_value("tenant");
        const std::string state = request.get_param_value("state");
        if (!state.empty()) {
            const std::optional<storage::InboxState> parsed = storage::ParseInboxState(state);
            if (!parsed) {
                return ReplyError(response, 400,
                                  "state must be stored, waiting, fetched, applied, "
                                  "ignored or failed");
            }
            filter.state = *parsed;
        }
        if (!ReadLimit(request, 10000, filter.limit)) {
            return ReplyError(response, 400, "limit must be a number");
        }
        auto db = engine.OpenReader();
        if (!db) {
            return ReplyError(response, 503, "storage unavailable");
        }
        nlohmann::json items = nlohmann::json::array();
        for (const storage::InboxEntry& entry : storage::ListInbox(**db, filter)) {
            items.push_back(
                engine::InboxEntryToJson(entry, TimeZoneOf(engine.config(), entry.tenant)));
        }
        const nlohmann::json counts =
            engine::InboxCountsToJson(storage::InboxStateCounts(**db, filter.tenant));
        Reply(response, 200, {{"items", std::move(items)}, {"counts", counts}});
    });

    server.Get("/metrics", [&engine](const httplib::Request&, httplib::Response& response) {
        std::string text = engine.metrics().Render();
        text +=
            "# HELP funnelguard_config_unknown_names Stages and fields the rules name that the "
            "CRM directory lacks (`config check --online` lists them).\n";
        text += "# TYPE funnelguard_config_unknown_names gauge\n";
        for (const auto& [tenant, count] : engine.NameProblemCounts()) {
            text += fmt::format("funnelguard_config_unknown_names{{tenant=\"{}\"}} {}\n", tenant,
                                count);
        }
        if (auto db = engine.OpenReader(); db) {
            text += engine::Metrics::RenderInbox(**db, engine.clock().Now());
            text += "# HELP funnelguard_violations_open Open violations by tenant and rule.\n";
            text += "# TYPE funnelguard_violations_open gauge\n";
            for (const auto& [tenant, rule, count] : storage::OpenViolationCounts(**db)) {
                text += fmt::format("funnelguard_violations_open{{tenant=\"{}\",rule=\"{}\"}} {}\n",
                                    tenant, rule, count);
            }
            const storage::OutboxStats outbox = storage::GetOutboxStats(**db);
            text += "# HELP funnelguard_outbox_items Outbox items by status.\n";
            text += "# TYPE funnelguard_outbox_items gauge\n";
            text +=
                fmt::format("funnelguard_outbox_items{{status=\"pending\"}} {}\n", outbox.pending);
            text += fmt::format("funnelguard_outbox_items{{status=\"dead\"}} {}\n", outbox.dead);
            text += fmt::format("funnelguard_outbox_items{{status=\"cancelled\"}} {}\n",
                                outbox.cancelled);
        }
        const auto blocked = engine.BlockedAccounts();
        text += "# HELP funnelguard_crm_blocked 1 while a CRM account refuses every call.\n";
        text += "# TYPE funnelguard_crm_blocked gauge\n";
        for (const config::TenantConfig& tenant : engine.config().tenants) {
            if (engine.ConnectorOf(tenant.id) != nullptr) {
                text += fmt::format("funnelguard_crm_blocked{{tenant=\"{}\"}} {}\n", tenant.id,
                                    blocked.count(tenant.id));
            }
        }
        text += engine.chat().RenderMetrics();
        text += engine::RenderStorageMetrics(engine.Storage());
        text += fmt::format("funnelguard_up {}\n", engine.Healthy() ? 1 : 0);
        response.set_content(text, "text/plain; version=0.0.4");
    });
}

}  // namespace fg::http
