#include "adapters/amocrm/sim/simulator.hpp"

#include <algorithm>
#include <charconv>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/catalog.hpp"
#include "adapters/amocrm/sim/elastic_pool.hpp"
#include "adapters/amocrm/sim/generator.hpp"
#include "adapters/amocrm/sim/render.hpp"
#include "adapters/amocrm/sim/respond.hpp"
#include "adapters/amocrm/sim/rng.hpp"
#include "adapters/amocrm/sim/validation.hpp"

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr int kMaxPage = 250;
constexpr int kMaxEventsPage = 100;  // the RU docs' limit for events (amocrm.md §2.7)
constexpr std::size_t kMaxBatch = 250;
constexpr std::size_t kMaxTasksPerPost = 50;
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

std::string NginxPage(int status, std::string_view reason) {
    return fmt::format(
        "<html>\r\n<head><title>{0} {1}</title></head>\r\n<body>\r\n<center><h1>{0} "
        "{1}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        status, reason);
}

void OAuthProblem(httplib::Response& res, int status, std::string_view hint,
                  std::string_view detail) {
    json body = {{"hint", hint},
                 {"title", status == 401 ? "Ошибка авторизации" : "Некорректный запрос"},
                 {"type", "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"},
                 {"status", status},
                 {"detail", detail}};
    res.status = status;
    res.set_content(Dump(body), "application/problem+json");
}

struct IntFilter {
    bool present = false;
    bool bad = false;
    std::set<std::int64_t> values{};
    bool Accepts(std::int64_t value) const { return !present || values.count(value) > 0; }
};

IntFilter IntList(const httplib::Request& req, const std::string& name) {
    IntFilter filter;
    for (const std::string& text : ParamList(req, name)) {
        filter.present = true;
        if (const auto value = ParseInt(text)) {
            filter.values.insert(*value);
        } else {
            filter.bad = true;
        }
    }
    return filter;
}

/// filter[x][from] / filter[x][to] / filter[x]=exact.
struct TimeRange {
    std::optional<std::int64_t> from{};
    std::optional<std::int64_t> to{};
    bool bad = false;
    bool Accepts(Timestamp t) const {
        const std::int64_t s = ToEpoch(t);
        return (!from || s >= *from) && (!to || s <= *to);
    }
    bool Present() const { return from || to; }
};

TimeRange Range(const httplib::Request& req, const std::string& name) {
    TimeRange range;
    auto read = [&](const std::string& key, std::optional<std::int64_t>& slot) {
        if (req.has_param(key.c_str())) {
            slot = ParseInt(req.get_param_value(key.c_str()));
            range.bad = range.bad || !slot;
        }
    };
    read(name + "[from]", range.from);
    read(name + "[to]", range.to);
    if (req.has_param(name.c_str())) {
        const auto exact = ParseInt(req.get_param_value(name.c_str()));
        range.bad = range.bad || !exact;
        range.from = exact;
        range.to = exact;
    }
    return range;
}

struct Order {
    std::string field{};  // empty = default
    bool descending = false;
};

Order ParseOrder(const httplib::Request& req, const std::vector<std::string>& fields) {
    for (const std::string& field : fields) {
        const std::string key = "order[" + field + "]";
        if (req.has_param(key.c_str())) {
            return {field, req.get_param_value(key.c_str()) == "desc"};
        }
    }
    return {};
}

std::string Base64Url(std::string_view data) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        const auto n = (static_cast<unsigned char>(data[i]) << 16) |
                       (static_cast<unsigned char>(data[i + 1]) << 8) |
                       static_cast<unsigned char>(data[i + 2]);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    if (i + 1 == data.size()) {
        const auto n = static_cast<unsigned char>(data[i]) << 16;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
    } else if (i + 2 == data.size()) {
        const auto n = (static_cast<unsigned char>(data[i]) << 16) |
                       (static_cast<unsigned char>(data[i + 1]) << 8);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
    }
    return out;
}

}  // namespace

struct Simulator::Impl {
    using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

    explicit Impl(SimOptions opts)
        : options(std::move(opts)),
          clock(options.clock != nullptr ? options.clock : &system_clock),
          sender(*clock, options.webhook_timeout),
          rate_rng(options.seed ^ 0xa5a5a5a5ULL),
          token_rng(std::random_device{}() ^ (options.seed << 20)) {}

    SimOptions options;
    SystemClock system_clock;
    const Clock* clock;
    std::unique_ptr<httplib::Server> server;  // an SSLServer when TLS is configured
    std::thread listen_thread;
    int port = -1;
    bool started = false;
    std::string token;

    mutable std::mutex mutex;  // guards model, OAuth state
    Model model;
    WebhookSender sender;
    std::map<std::string, Timestamp> codes;           // authorization code -> expiry
    std::map<std::string, Timestamp> access_tokens;   // -> expiry
    std::map<std::string, Timestamp> refresh_tokens;  // -> expiry
    std::int64_t next_webhook_id = 1;

    mutable std::mutex rate_mutex;
    std::deque<SteadyTime> window;
    std::deque<SteadyTime> recent_429;
    bool blocked = false;
    Rng rate_rng;

    mutable std::mutex stats_mutex;
    SimStats stats;

    Rng token_rng;  // under `mutex`

    // ---- plumbing ----

    std::string RandomHex(std::size_t bytes) {
        std::string out;
        for (std::size_t i = 0; i < bytes; ++i) {
            out += fmt::format("{:02x}", static_cast<unsigned>(token_rng.Below(256)));
        }
        return out;
    }

    /// A JWT-shaped token (amoCRM's access tokens are RS256 JWTs; the signature here is random).
    std::string MakeJwt(Timestamp expires) {
        const json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"jti", RandomHex(20)}};
        const json payload = {{"aud", options.oauth.client_id},
                              {"jti", header["jti"]},
                              {"iat", ToEpoch(clock->Now())},
                              {"nbf", ToEpoch(clock->Now())},
                              {"exp", ToEpoch(expires)},
                              {"sub", std::to_string(model.AdminUserId())},
                              {"account_id", model.account_id},
                              {"base_domain", "amocrm.ru"},
                              {"api_domain", fmt::format("{}:{}", options.host, port)},
                              {"version", 2},
                              {"scopes", {"crm", "notifications"}}};
        return Base64Url(header.dump()) + "." + Base64Url(payload.dump()) + "." +
               Base64Url(RandomHex(64));
    }

    std::string BaseUrl() const {
        const bool tls = !options.tls_cert_file.empty();
        return fmt::format("{}://{}:{}", tls ? "https" : "http", options.host, port);
    }

    void Count(const std::string& name) {
        std::lock_guard lock(stats_mutex);
        ++stats.requests;
        ++stats.endpoints[name];
    }

    /// Block, rate limit and auth, in amoCRM's order. False when the response is already set.
    bool Gate(const httplib::Request& req, httplib::Response& res, bool needs_auth) {
        {
            std::lock_guard lock(rate_mutex);
            if (blocked) {
                res.status = 403;
                res.set_content(NginxPage(403, "Forbidden"), "text/html");
                std::lock_guard stats_lock(stats_mutex);
                ++stats.blocked;
                return false;
            }
            if (options.rps > 0) {
                const SteadyTime now = std::chrono::steady_clock::now();
                while (!window.empty() && now - window.front() >= options.rate_window) {
                    window.pop_front();
                }
                const auto allowed = static_cast<std::size_t>(std::max(1.0, options.rps));
                if (window.size() >= allowed) {
                    recent_429.push_back(now);
                    while (!recent_429.empty() && now - recent_429.front() > options.block_window) {
                        recent_429.pop_front();
                    }
                    if (static_cast<int>(recent_429.size()) >= options.block_after_429) {
                        blocked = true;
                    }
                    if (rate_rng.Chance(options.html_429_share)) {
                        res.status = 429;
                        res.set_content(NginxPage(429, "Too Many Requests"), "text/html");
                    } else {
                        Problem(res, 429, "Too Many Requests",
                                "You have sent too many requests in a given amount of time. Please "
                                "try again later.",
                                {{"retry_after", options.retry_after_seconds}});
                    }
                    std::lock_guard stats_lock(stats_mutex);
                    ++stats.rate_limited;
                    return false;
                }
                window.push_back(now);
            }
        }
        if (!needs_auth) {
            return true;
        }
        const std::string header = req.get_header_value("Authorization");
        constexpr std::string_view kBearer = "Bearer ";
        bool ok = false;
        if (header.size() > kBearer.size() && header.compare(0, kBearer.size(), kBearer) == 0) {
            const std::string presented = header.substr(kBearer.size());
            std::lock_guard lock(mutex);
            if (presented == token) {
                ok = true;
            } else if (const auto it = access_tokens.find(presented); it != access_tokens.end()) {
                ok = clock->Now() < it->second;
            }
        }
        if (!ok) {
            Problem(res, 401, "Unauthorized", "Invalid user name or password");
            std::lock_guard stats_lock(stats_mutex);
            ++stats.unauthorized;
            return false;
        }
        return true;
    }

    void Route(const std::string& method, const std::string& pattern, const std::string& name,
               bool needs_auth, Handler handler) {
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

    /// Sends the webhooks of a change to every destination subscribed to any of its items.
    void Dispatch(const std::vector<HookItem>& hooks) {
        if (hooks.empty()) {
            return;
        }
        for (const SimWebhook& webhook : model.webhooks) {
            std::vector<const HookItem*> items;
            for (const HookItem& item : hooks) {
                if (std::find(webhook.settings.begin(), webhook.settings.end(), item.setting) !=
                    webhook.settings.end()) {
                    items.push_back(&item);
                }
            }
            if (!items.empty()) {
                sender.Enqueue(webhook.destination, EncodeWebhookBody(items, model));
            }
        }
    }

    std::int64_t Actor(const std::optional<std::int64_t>& given) const {
        return given ? *given : model.AdminUserId();
    }

    // ---- routes ----

    void ListLeads(const httplib::Request& req, httplib::Response& res) {
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
            items.push_back(only_deleted ? DeletedLeadJson(model, lead)
                                         : LeadJson(model, lead, with));
        }
        RespondPage(model.base_url, req, res, *paging, "leads", std::move(items));
    }

    void GetLeadById(const httplib::Request& req, httplib::Response& res) {
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

    /// Parses a JSON array body of 1..max items; sets the error response otherwise.
    std::optional<json> ReadBatch(const httplib::Request& req, httplib::Response& res,
                                  std::size_t max) {
        json body = json::parse(req.body);
        if (!body.is_array()) {
            ValidationProblem(res, {{"0", {InvalidType("", "array")}}});
            return std::nullopt;
        }
        if (body.empty()) {
            ValidationProblem(res, {{"0", {NotBlank("")}}});
            return std::nullopt;
        }
        if (body.size() > max) {
            if (max == kMaxBatch) {
                Problem(res, 422, "Unprocessable Entity", fmt::format("Limit {} per page", max));
            } else {
                Problem(res, 400, "Bad Request",
                        fmt::format("Too many entities: at most {} per request", max));
            }
            return std::nullopt;
        }
        return body;
    }

    static std::string RequestIdOr(const std::string& given, std::size_t index) {
        return given.empty() ? std::to_string(index) : given;
    }

    void CreateLeads(const httplib::Request& req, httplib::Response& res) {
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

    void PatchLeads(const httplib::Request& req, httplib::Response& res,
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
                Problem(res, 422, "Unprocessable Entity",
                        fmt::format("Limit {} per page", kMaxBatch));
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

    void ListTasks(const httplib::Request& req, httplib::Response& res) {
        const auto paging = ReadPaging(req, res, kMaxPage, 50);
        if (!paging) {
            return;
        }
        const IntFilter ids = IntList(req, "filter[id]");
        const IntFilter entity_ids = IntList(req, "filter[entity_id]");
        const IntFilter responsible = IntList(req, "filter[responsible_user_id]");
        const IntFilter types = IntList(req, "filter[task_type]");
        const TimeRange updated = Range(req, "filter[updated_at]");
        if (ids.bad || entity_ids.bad || responsible.bad || types.bad || updated.bad) {
            ValidationProblem(res, {{"0", {InvalidType("filter", "int")}}});
            return;
        }
        const std::vector<std::string> entity_types = ParamList(req, "filter[entity_type]");
        if (!entity_types.empty() &&
            std::find(entity_types.begin(), entity_types.end(), "leads") == entity_types.end()) {
            res.status = 204;  // the simulator keeps tasks of leads only
            return;
        }
        std::optional<bool> completed;
        if (req.has_param("filter[is_completed]")) {
            const std::string value = req.get_param_value("filter[is_completed]");
            completed = value == "1" || value == "true";
        }
        const Order order = ParseOrder(req, {"created_at", "complete_till", "updated_at", "id"});

        std::lock_guard lock(mutex);
        const std::vector<SimTask>& tasks = model.Tasks();
        auto accepts = [&](const SimTask& task) {
            return !task.is_deleted && ids.Accepts(task.id) && entity_ids.Accepts(task.lead_id) &&
                   responsible.Accepts(task.responsible_user_id) &&
                   types.Accepts(task.task_type_id) && updated.Accepts(task.updated_at) &&
                   (!completed || task.is_completed == *completed);
        };
        std::vector<std::uint32_t> matches;
        if (entity_ids.present) {
            for (const std::int64_t lead_id : entity_ids.values) {
                for (const std::int64_t task_id : model.LeadTaskIds(lead_id)) {
                    if (accepts(*model.Task(task_id))) {
                        matches.push_back(
                            static_cast<std::uint32_t>(task_id - Model::kTaskBase - 1));
                    }
                }
            }
            std::sort(matches.begin(), matches.end());
        } else {
            for (std::size_t i = 0; i < tasks.size(); ++i) {
                if (accepts(tasks[i])) {
                    matches.push_back(static_cast<std::uint32_t>(i));
                }
            }
        }
        if (!order.field.empty() && order.field != "id") {
            std::stable_sort(matches.begin(), matches.end(), [&](std::uint32_t a, std::uint32_t b) {
                auto key = [&](const SimTask& t) {
                    return order.field == "created_at"   ? t.created_at
                           : order.field == "updated_at" ? t.updated_at
                                                         : t.complete_till;
                };
                return order.descending ? key(tasks[b]) < key(tasks[a])
                                        : key(tasks[a]) < key(tasks[b]);
            });
        } else if (order.descending) {
            std::reverse(matches.begin(), matches.end());
        }
        json items = json::array();
        for (std::size_t i = paging->Offset();
             i < matches.size() && items.size() < static_cast<std::size_t>(paging->limit); ++i) {
            items.push_back(TaskJson(model, tasks[matches[i]]));
        }
        RespondPage(model.base_url, req, res, *paging, "tasks", std::move(items));
    }

    void GetTaskById(const httplib::Request& req, httplib::Response& res) {
        const auto id = ParseInt(req.matches[1].str());
        std::lock_guard lock(mutex);
        const SimTask* task = id ? model.Task(*id) : nullptr;
        if (task == nullptr || task->is_deleted) {
            res.status = 204;
            return;
        }
        Hal(res, TaskJson(model, *task));
    }

    void CreateTasks(const httplib::Request& req, httplib::Response& res) {
        const auto body = ReadBatch(req, res, kMaxTasksPerPost);
        if (!body) {
            return;
        }
        std::lock_guard lock(mutex);
        std::vector<TaskInput> inputs;
        std::vector<std::pair<std::string, FieldErrors>> problems;
        for (std::size_t i = 0; i < body->size(); ++i) {
            FieldErrors errors;
            TaskInput input = ParseTaskInput(model, (*body)[i], true, errors);
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
        for (const TaskInput& input : inputs) {
            const std::int64_t actor = Actor(input.created_by);
            const std::int64_t id =
                model.AddTask(SimTask{.lead_id = input.lead_id,
                                      .responsible_user_id = input.responsible_user_id.value_or(
                                          actor == 0 ? model.AdminUserId() : actor),
                                      .created_by = actor,
                                      .complete_till = *input.complete_till,
                                      .duration = input.duration,
                                      .task_type_id = input.task_type_id.value_or(1),
                                      .text = input.text,
                                      .is_completed = input.is_completed.value_or(false),
                                      .result_text = input.result_text.value_or("")},
                              now, hooks);
            created.push_back(
                {{"id", id},
                 {"request_id", input.request_id},
                 {"_links", Link(fmt::format("{}/api/v4/tasks/{}", model.base_url, id))}});
        }
        Dispatch(hooks);
        Hal(res, {{"_links", Link(model.base_url + "/api/v4/tasks")},
                  {"_embedded", {{"tasks", std::move(created)}}}});
    }

    void PatchTasks(const httplib::Request& req, httplib::Response& res,
                    std::optional<std::int64_t> path_id) {
        json body = json::parse(req.body);
        if (path_id) {
            if (!body.is_object()) {
                ValidationProblem(res, {{"0", {InvalidType("", "object")}}});
                return;
            }
            body["id"] = *path_id;
            body = json::array({body});
        } else if (!body.is_array() || body.empty() || body.size() > kMaxBatch) {
            if (body.is_array() && body.size() > kMaxBatch) {
                Problem(res, 422, "Unprocessable Entity",
                        fmt::format("Limit {} per page", kMaxBatch));
            } else {
                ValidationProblem(res, {{"0", {InvalidType("", "array")}}});
            }
            return;
        }
        std::lock_guard lock(mutex);
        if (path_id) {
            const SimTask* task = model.Task(*path_id);
            if (task == nullptr || task->is_deleted) {
                Problem(res, 404, "Not Found", fmt::format("Task {} not found", *path_id));
                return;
            }
        }
        std::vector<TaskInput> inputs;
        std::vector<std::pair<std::string, FieldErrors>> problems;
        for (std::size_t i = 0; i < body.size(); ++i) {
            FieldErrors errors;
            TaskInput input = ParseTaskInput(model, body[i], false, errors);
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
        for (const TaskInput& input : inputs) {
            model.UpdateTask(*input.id,
                             TaskPatch{.text = input.new_text,
                                       .complete_till = input.complete_till,
                                       .is_completed = input.is_completed,
                                       .result_text = input.result_text,
                                       .responsible_user_id = input.responsible_user_id,
                                       .task_type_id = input.task_type_id},
                             Actor(input.created_by), now, hooks);
            updated.push_back(
                {{"id", *input.id},
                 {"updated_at", ToEpoch(now)},
                 {"request_id", input.request_id},
                 {"_links", Link(fmt::format("{}/api/v4/tasks/{}", model.base_url, *input.id))}});
        }
        Dispatch(hooks);
        if (path_id) {
            json single = updated.front();
            single.erase("request_id");
            Hal(res, single);
            return;
        }
        Hal(res, {{"_links", Link(model.base_url + "/api/v4/tasks")},
                  {"_embedded", {{"tasks", std::move(updated)}}}});
    }

    void ListNotes(const httplib::Request& req, httplib::Response& res,
                   std::optional<std::int64_t> lead_id) {
        const auto paging = ReadPaging(req, res, kMaxPage, 50);
        if (!paging) {
            return;
        }
        const IntFilter ids = IntList(req, "filter[id]");
        const IntFilter entity_ids = IntList(req, "filter[entity_id]");
        const TimeRange updated = Range(req, "filter[updated_at]");
        if (ids.bad || entity_ids.bad || updated.bad) {
            ValidationProblem(res, {{"0", {InvalidType("filter", "int")}}});
            return;
        }
        const std::vector<std::string> types = ParamList(req, "filter[note_type]");
        const Order order = ParseOrder(req, {"updated_at", "id"});
        std::lock_guard lock(mutex);
        const std::vector<SimNote>& notes = model.Notes();
        auto accepts = [&](const SimNote& note) {
            return ids.Accepts(note.id) && entity_ids.Accepts(note.lead_id) &&
                   updated.Accepts(note.updated_at) &&
                   (types.empty() ||
                    std::find(types.begin(), types.end(), note.note_type) != types.end());
        };
        std::vector<std::uint32_t> matches;
        if (lead_id) {
            const SimLead* lead = model.Lead(*lead_id);
            if (lead == nullptr || lead->is_deleted) {
                res.status = 204;
                return;
            }
            for (const std::int64_t note_id : model.LeadNoteIds(*lead_id)) {
                if (accepts(*model.Note(note_id))) {
                    matches.push_back(static_cast<std::uint32_t>(note_id - Model::kNoteBase - 1));
                }
            }
        } else {
            for (std::size_t i = 0; i < notes.size(); ++i) {
                if (accepts(notes[i])) {
                    matches.push_back(static_cast<std::uint32_t>(i));
                }
            }
        }
        if (order.field == "updated_at") {
            std::stable_sort(matches.begin(), matches.end(), [&](std::uint32_t a, std::uint32_t b) {
                return order.descending ? notes[b].updated_at < notes[a].updated_at
                                        : notes[a].updated_at < notes[b].updated_at;
            });
        } else if (order.descending) {
            std::reverse(matches.begin(), matches.end());
        }
        json items = json::array();
        for (std::size_t i = paging->Offset();
             i < matches.size() && items.size() < static_cast<std::size_t>(paging->limit); ++i) {
            items.push_back(NoteJson(model, notes[matches[i]]));
        }
        RespondPage(model.base_url, req, res, *paging, "notes", std::move(items));
    }

    void CreateNotes(const httplib::Request& req, httplib::Response& res,
                     std::optional<std::int64_t> lead_id) {
        const auto body = ReadBatch(req, res, kMaxBatch);
        if (!body) {
            return;
        }
        std::lock_guard lock(mutex);
        if (lead_id) {
            const SimLead* lead = model.Lead(*lead_id);
            if (lead == nullptr || lead->is_deleted) {
                Problem(res, 404, "Not Found", fmt::format("Lead {} not found", *lead_id));
                return;
            }
        }
        std::vector<NoteInput> inputs;
        std::vector<std::pair<std::string, FieldErrors>> problems;
        for (std::size_t i = 0; i < body->size(); ++i) {
            FieldErrors errors;
            NoteInput input = ParseNoteInput(model, (*body)[i], lead_id.value_or(0), errors);
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
        for (const NoteInput& input : inputs) {
            const std::int64_t actor = Actor(input.created_by);
            const std::int64_t id =
                model.AddNote(SimNote{.lead_id = input.lead_id,
                                      .note_type = input.note_type,
                                      .text = input.text,
                                      .service = input.service,
                                      .created_by = actor,
                                      .responsible_user_id = input.responsible_user_id.value_or(
                                          model.Lead(input.lead_id)->responsible_user_id)},
                              now, hooks);
            created.push_back({{"id", id},
                               {"entity_id", input.lead_id},
                               {"request_id", input.request_id},
                               {"_links", Link(fmt::format("{}/api/v4/leads/{}/notes/{}",
                                                           model.base_url, input.lead_id, id))}});
        }
        Dispatch(hooks);
        Hal(res, {{"_links", Link(model.base_url + req.path)},
                  {"_embedded", {{"notes", std::move(created)}}}});
    }

    void ListEvents(const httplib::Request& req, httplib::Response& res) {
        const auto paging = ReadPaging(req, res, kMaxEventsPage, kMaxEventsPage);
        if (!paging) {
            return;
        }
        const IntFilter entity_ids = IntList(req, "filter[entity_id]");
        const IntFilter created_by = IntList(req, "filter[created_by]");
        const TimeRange created = Range(req, "filter[created_at]");
        if (entity_ids.bad || created_by.bad || created.bad) {
            ValidationProblem(res, {{"0", {InvalidType("filter", "int")}}});
            return;
        }
        const std::vector<std::string> entity = ParamList(req, "filter[entity]");
        // filter[entity_id] takes at most 10 ids and needs one filter[entity];
        // filter[created_by] 10.
        FieldErrors filter_errors;
        if (entity_ids.values.size() > 10) {
            filter_errors.push_back(NotSupported("filter[entity_id]"));
        }
        if (entity_ids.present && entity.size() != 1) {
            filter_errors.push_back(NotBlank("filter[entity]"));
        }
        if (created_by.values.size() > 10) {
            filter_errors.push_back(NotSupported("filter[created_by]"));
        }
        if (!filter_errors.empty()) {
            ValidationProblem(res, {{"0", filter_errors}});
            return;
        }
        if (!entity.empty() && std::find(entity.begin(), entity.end(), "lead") == entity.end() &&
            std::find(entity.begin(), entity.end(), "leads") == entity.end()) {
            res.status = 204;  // the simulator logs lead events only
            return;
        }
        const std::vector<std::string> type_names = ParamList(req, "filter[type]");
        const std::vector<std::string> id_filter = ParamList(req, "filter[id]");
        const Order order = ParseOrder(req, {"created_at", "id"});
        const bool ascending = !order.field.empty() && !order.descending;  // default: newest first
        std::lock_guard lock(mutex);
        const std::vector<SimEvent>& events = model.Events();
        // The log is sorted by time: narrow to the created_at range first.
        auto begin = events.begin();
        auto end = events.end();
        if (created.from) {
            begin =
                std::lower_bound(events.begin(), events.end(), FromEpoch(*created.from),
                                 [](const SimEvent& e, Timestamp t) { return e.created_at < t; });
        }
        if (created.to) {
            end = std::upper_bound(begin, events.end(), FromEpoch(*created.to),
                                   [](Timestamp t, const SimEvent& e) { return t < e.created_at; });
        }
        auto accepts = [&](const SimEvent& event) {
            if (!entity_ids.Accepts(event.lead_id) || !created_by.Accepts(event.created_by)) {
                return false;
            }
            if (!type_names.empty() && std::find(type_names.begin(), type_names.end(),
                                                 EventTypeName(event.type)) == type_names.end()) {
                return false;
            }
            return id_filter.empty() ||
                   std::find(id_filter.begin(), id_filter.end(), event.Id()) != id_filter.end();
        };
        json items = json::array();
        std::size_t skipped = 0;
        const std::size_t offset = paging->Offset();
        const std::size_t count = static_cast<std::size_t>(end - begin);
        for (std::size_t k = 0; k < count && items.size() < static_cast<std::size_t>(paging->limit);
             ++k) {
            const SimEvent& event = ascending ? *(begin + static_cast<std::ptrdiff_t>(k))
                                              : *(end - 1 - static_cast<std::ptrdiff_t>(k));
            if (!accepts(event)) {
                continue;
            }
            if (skipped < offset) {
                ++skipped;
                continue;
            }
            items.push_back(EventJson(model, event));
        }
        RespondPage(model.base_url, req, res, *paging, "events", std::move(items));
    }

    void ListWebhooks(const httplib::Request& req, httplib::Response& res) {
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

    void AddWebhook(const httplib::Request& req, httplib::Response& res) {
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
        if (const auto it = body.find("settings");
            it == body.end() || !it->is_array() || it->empty()) {
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
        auto existing =
            std::find_if(model.webhooks.begin(), model.webhooks.end(),
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

    void DeleteWebhook(const httplib::Request& req, httplib::Response& res) {
        const json body = json::parse(req.body.empty() ? std::string("{}") : req.body);
        if (!body.is_object() || !body.contains("destination") ||
            !body["destination"].is_string()) {
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

    void AccessToken(const httplib::Request& req, httplib::Response& res) {
        json body;
        if (req.get_header_value("Content-Type").find("application/json") != std::string::npos) {
            body = json::parse(req.body);
        } else {
            body = json::object();
            for (const auto& [key, value] : req.params) {
                body[key] = value;
            }
        }
        auto text = [&](const char* key) -> std::string {
            const auto it = body.find(key);
            return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        const OAuthOptions& oauth = options.oauth;
        if (text("client_id") != oauth.client_id || text("client_secret") != oauth.client_secret) {
            OAuthProblem(res, 401, "Client authentication failed",
                         "Клиент не найден или секретный ключ неверен");
            return;
        }
        if (!oauth.redirect_uri.empty() && text("redirect_uri") != oauth.redirect_uri) {
            OAuthProblem(res, 400, "Redirect URI mismatch",
                         "В запросе отсутствует ряд параметров или параметры невалидны");
            return;
        }
        std::lock_guard lock(mutex);
        const Timestamp now = clock->Now();
        const std::string grant = text("grant_type");
        if (grant == "authorization_code") {
            const auto it = codes.find(text("code"));
            if (it == codes.end()) {
                OAuthProblem(res, 400, "Cannot decrypt the authorization code",
                             "В запросе отсутствует ряд параметров или параметры невалидны");
                return;
            }
            const bool expired = now >= it->second;
            codes.erase(it);  // single use
            if (expired) {
                OAuthProblem(res, 400, "Authorization code has expired",
                             "В запросе отсутствует ряд параметров или параметры невалидны");
                return;
            }
        } else if (grant == "refresh_token") {
            const auto it = refresh_tokens.find(text("refresh_token"));
            if (it == refresh_tokens.end() || now >= it->second) {
                OAuthProblem(res, 400, "Token has been revoked",
                             "В запросе отсутствует ряд параметров или параметры невалидны");
                return;
            }
            refresh_tokens.erase(it);  // rotation: the old refresh token stops working
        } else {
            OAuthProblem(
                res, 400,
                "The authorization grant type is not supported by the authorization server.",
                "В запросе отсутствует ряд параметров или параметры невалидны");
            return;
        }
        const std::string access = MakeJwt(now + oauth.access_ttl);
        const std::string refresh = "def50200" + RandomHex(96);
        access_tokens[access] = now + oauth.access_ttl;
        refresh_tokens[refresh] = now + oauth.refresh_ttl;
        json answer = {{"token_type", "Bearer"},
                       {"expires_in", oauth.access_ttl.count()},
                       {"server_time", ToEpoch(now)},
                       {"access_token", access},
                       {"refresh_token", refresh}};
        res.status = 200;
        res.set_content(Dump(answer), "application/json");
    }

    void Register() {
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
        Route("GET", R"(/api/v4/users/(\d+))", "GET /api/v4/users/{id}", true,
              locked(&ServeUserById));
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
                        fmt::format("Cannot {} https://{}.amocrm.ru{}", req.method,
                                    options.subdomain, req.path));
            }
        });
        server->set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                         std::exception_ptr) {
            Problem(res, 500, "ErrInternalServer", "Internal server error", {{"trace_id", "sim"}});
        });
    }

    // ---- manager operations ----

    template <typename Fn>
    Result<void> Mutate(Fn&& fn) {
        std::lock_guard lock(mutex);
        std::vector<HookItem> hooks;
        Result<void> result = fn(hooks);
        Dispatch(hooks);
        return result;
    }
};

Simulator::Simulator(SimOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Simulator::~Simulator() { Stop(); }

Result<void> Simulator::Start() {
    Impl& s = *impl_;
    if (s.started) {
        return MakeError(ErrorCode::kConflict, "amoCRM simulator already started");
    }
    {
        std::lock_guard lock(s.mutex);
        s.model.account_id = s.options.account_id;
        s.model.subdomain = s.options.subdomain;
        s.model.webhook_utc_offset = s.options.webhook_utc_offset;
        BuildCatalog(s.model);
        GenerateLeads(s.model, s.options.seed, s.options.leads, s.clock->Now());
        s.token = s.options.token.empty() ? s.MakeJwt(s.clock->Now() + Duration{5LL * 365 * 86400})
                                          : s.options.token;
        for (const std::string& code : s.options.oauth.codes) {
            s.codes[code] = s.clock->Now() + s.options.oauth.code_ttl;
        }
    }
    const bool tls = !s.options.tls_cert_file.empty() || !s.options.tls_key_file.empty();
    if (tls) {
        if (s.options.tls_cert_file.empty() || s.options.tls_key_file.empty()) {
            return MakeError(ErrorCode::kInvalidInput,
                             "amoCRM simulator: TLS needs both a certificate and a key file");
        }
        s.server = std::make_unique<httplib::SSLServer>(s.options.tls_cert_file.c_str(),
                                                        s.options.tls_key_file.c_str());
        if (!s.server->is_valid()) {
            s.server.reset();
            return MakeError(ErrorCode::kInvalidInput,
                             "amoCRM simulator cannot load the TLS certificate {} with key {}",
                             s.options.tls_cert_file, s.options.tls_key_file);
        }
    } else {
        s.server = std::make_unique<httplib::Server>();
    }
    s.server->set_tcp_nodelay(true);
    s.server->set_keep_alive_timeout(std::max(1, s.options.keep_alive_seconds));
    s.server->set_payload_max_length(64 * 1024 * 1024);
    const auto min_threads = static_cast<std::size_t>(std::max(2, s.options.threads));
    const auto max_threads =
        static_cast<std::size_t>(std::max(s.options.threads, s.options.max_threads));
    s.server->new_task_queue = [min_threads, max_threads] {
        return new ElasticPool(min_threads, max_threads);
    };
    s.Register();
    if (s.options.port == 0) {
        s.port = s.server->bind_to_any_port(s.options.host);
    } else if (s.server->bind_to_port(s.options.host, s.options.port)) {
        s.port = s.options.port;
    } else {
        s.port = -1;
    }
    if (s.port <= 0) {
        return MakeError(ErrorCode::kUnavailable, "amoCRM simulator cannot listen on {}:{}",
                         s.options.host, s.options.port);
    }
    {
        std::lock_guard lock(s.mutex);
        s.model.base_url = s.BaseUrl();
    }
    s.sender.Start();
    s.listen_thread = std::thread([&s] { s.server->listen_after_bind(); });
    // stop() before the accept loop runs would be lost, and the join would hang.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (!s.server->is_running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    s.started = true;
    return Ok{};
}

void Simulator::Stop() {
    Impl& s = *impl_;
    if (s.listen_thread.joinable()) {
        s.server->stop();
        s.listen_thread.join();
    }
    s.sender.Stop();
}

int Simulator::port() const { return impl_->port; }
std::string Simulator::BaseUrl() const { return impl_->BaseUrl(); }
std::string Simulator::Token() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->token;
}
const Clock& Simulator::clock() const { return *impl_->clock; }
std::string Simulator::Subdomain() const { return impl_->options.subdomain; }
std::int64_t Simulator::AccountId() const { return impl_->options.account_id; }

std::string Simulator::IssueAuthorizationCode() {
    std::lock_guard lock(impl_->mutex);
    std::string code = "def50200" + impl_->RandomHex(64);
    impl_->codes[code] = impl_->clock->Now() + impl_->options.oauth.code_ttl;
    return code;
}

void Simulator::DropWebhooks(int count) { impl_->sender.DropNext(count); }

SimStats Simulator::Stats() const {
    SimStats stats;
    {
        std::lock_guard lock(impl_->stats_mutex);
        stats = impl_->stats;
    }
    stats.webhooks = impl_->sender.Stats();
    return stats;
}

bool Simulator::WaitWebhooksIdle(std::chrono::milliseconds timeout) const {
    return impl_->sender.WaitIdle(timeout);
}

void Simulator::Block() {
    std::lock_guard lock(impl_->rate_mutex);
    impl_->blocked = true;
}

void Simulator::Unblock() {
    std::lock_guard lock(impl_->rate_mutex);
    impl_->blocked = false;
    impl_->recent_429.clear();
    impl_->window.clear();
}

bool Simulator::Blocked() const {
    std::lock_guard lock(impl_->rate_mutex);
    return impl_->blocked;
}

std::optional<SimLead> Simulator::GetLead(std::int64_t id) const {
    std::lock_guard lock(impl_->mutex);
    const SimLead* lead = impl_->model.Lead(id);
    return lead != nullptr ? std::optional<SimLead>(*lead) : std::nullopt;
}

std::optional<SimTask> Simulator::GetTask(std::int64_t id) const {
    std::lock_guard lock(impl_->mutex);
    const SimTask* task = impl_->model.Task(id);
    return task != nullptr ? std::optional<SimTask>(*task) : std::nullopt;
}

std::vector<SimTask> Simulator::LeadTasks(std::int64_t lead_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimTask> out;
    for (const std::int64_t id : impl_->model.LeadTaskIds(lead_id)) {
        const SimTask* task = impl_->model.Task(id);
        if (task != nullptr && !task->is_deleted) {
            out.push_back(*task);
        }
    }
    return out;
}

std::vector<SimNote> Simulator::LeadNotes(std::int64_t lead_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimNote> out;
    for (const std::int64_t id : impl_->model.LeadNoteIds(lead_id)) {
        out.push_back(*impl_->model.Note(id));
    }
    return out;
}

std::vector<SimEvent> Simulator::LeadEvents(std::int64_t lead_id) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<SimEvent> out;
    for (const SimEvent& event : impl_->model.Events()) {
        if (event.lead_id == lead_id) {
            out.push_back(event);
        }
    }
    return out;
}

std::size_t Simulator::LeadCount() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.Leads().size();
}
std::size_t Simulator::TaskCount() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.Tasks().size();
}
std::size_t Simulator::NoteCount() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.Notes().size();
}
std::size_t Simulator::EventCount() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.Events().size();
}
std::vector<SimPipeline> Simulator::Pipelines() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.pipelines;
}
std::vector<SimUser> Simulator::Users() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.users;
}
std::vector<SimField> Simulator::Fields() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.fields;
}
std::vector<SimWebhook> Simulator::Webhooks() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->model.webhooks;
}

std::vector<std::int64_t> Simulator::OpenLeadIds(std::int64_t responsible,
                                                 std::size_t limit) const {
    std::lock_guard lock(impl_->mutex);
    std::vector<std::int64_t> out;
    for (const SimLead& lead : impl_->model.Leads()) {
        if (out.size() >= limit) {
            break;
        }
        if (!lead.is_deleted && lead.responsible_user_id == responsible &&
            !impl_->model.IsClosedStatus(lead.status_id)) {
            out.push_back(lead.id);
        }
    }
    return out;
}

Result<std::int64_t> Simulator::CreateLead(const LeadDraft& draft, std::int64_t actor) {
    std::int64_t id = 0;
    auto result = impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        Model& model = impl_->model;
        LeadPatch patch{.name = draft.name,
                        .price = draft.price,
                        .responsible_user_id = draft.responsible_user_id != 0
                                                   ? draft.responsible_user_id
                                                   : (actor != 0 ? actor : model.AdminUserId()),
                        .fields = draft.fields};
        if (draft.pipeline_id != 0) {
            patch.pipeline_id = draft.pipeline_id;
        }
        if (draft.status_id != 0) {
            patch.status_id = draft.status_id;
        }
        FieldErrors errors;
        CheckFields(model, patch.fields, errors);
        ResolveLeadPatch(model, nullptr, patch, errors);
        if (!errors.empty()) {
            return MakeError(ErrorCode::kInvalidInput, "lead rejected: {}", Describe(errors));
        }
        id = model.CreateLead(SimLead{.name = *patch.name,
                                      .price = *patch.price,
                                      .responsible_user_id = *patch.responsible_user_id,
                                      .status_id = *patch.status_id,
                                      .pipeline_id = *patch.pipeline_id,
                                      .created_by = actor,
                                      .fields = patch.fields},
                              impl_->clock->Now(), hooks);
        return Ok{};
    });
    if (!result) {
        return result.error();
    }
    return id;
}

Result<void> Simulator::UpdateLead(std::int64_t lead_id, const LeadPatch& patch,
                                   std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        Model& model = impl_->model;
        const SimLead* lead = model.Lead(lead_id);
        if (lead == nullptr || lead->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "lead {} not found", lead_id);
        }
        LeadPatch resolved = patch;
        FieldErrors errors;
        CheckFields(model, resolved.fields, errors);
        ResolveLeadPatch(model, lead, resolved, errors);
        if (!errors.empty()) {
            return MakeError(ErrorCode::kInvalidInput, "lead {} change rejected: {}", lead_id,
                             Describe(errors));
        }
        model.UpdateLead(lead_id, resolved, actor, impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<void> Simulator::MoveLead(std::int64_t lead_id, std::int64_t status_id,
                                 std::int64_t pipeline_id, std::int64_t actor) {
    LeadPatch patch{.status_id = status_id};
    if (pipeline_id != 0) {
        patch.pipeline_id = pipeline_id;
    }
    return UpdateLead(lead_id, patch, actor);
}

Result<void> Simulator::DeleteLead(std::int64_t lead_id, std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimLead* lead = impl_->model.Lead(lead_id);
        if (lead == nullptr || lead->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "lead {} not found", lead_id);
        }
        impl_->model.DeleteLead(lead_id, actor, impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<void> Simulator::RestoreLead(std::int64_t lead_id, std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimLead* lead = impl_->model.Lead(lead_id);
        if (lead == nullptr || !lead->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "deleted lead {} not found", lead_id);
        }
        impl_->model.RestoreLead(lead_id, actor, impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<std::int64_t> Simulator::AddTask(std::int64_t lead_id, const std::string& text,
                                        Timestamp due, std::int64_t responsible, std::int64_t actor,
                                        int task_type_id) {
    std::int64_t id = 0;
    auto result = impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        Model& model = impl_->model;
        const SimLead* lead = model.Lead(lead_id);
        if (lead == nullptr || lead->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "lead {} not found", lead_id);
        }
        if (text.empty()) {
            return MakeError(ErrorCode::kInvalidInput, "task text is empty");
        }
        const std::int64_t owner = responsible != 0 ? responsible : lead->responsible_user_id;
        if (model.User(owner) == nullptr) {
            return MakeError(ErrorCode::kInvalidInput, "unknown user {}", owner);
        }
        id = model.AddTask(SimTask{.lead_id = lead_id,
                                   .responsible_user_id = owner,
                                   .created_by = actor,
                                   .complete_till = due,
                                   .task_type_id = task_type_id == 2 ? 2 : 1,
                                   .text = text},
                           impl_->clock->Now(), hooks);
        return Ok{};
    });
    if (!result) {
        return result.error();
    }
    return id;
}

Result<void> Simulator::CompleteTask(std::int64_t task_id, const std::string& result_text,
                                     std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimTask* task = impl_->model.Task(task_id);
        if (task == nullptr || task->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "task {} not found", task_id);
        }
        TaskPatch patch{.is_completed = true};
        if (!result_text.empty()) {
            patch.result_text = result_text;
        }
        impl_->model.UpdateTask(task_id, patch, actor, impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<void> Simulator::RescheduleTask(std::int64_t task_id, Timestamp due, std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimTask* task = impl_->model.Task(task_id);
        if (task == nullptr || task->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "task {} not found", task_id);
        }
        impl_->model.UpdateTask(task_id, TaskPatch{.complete_till = due}, actor,
                                impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<void> Simulator::DeleteTask(std::int64_t task_id, std::int64_t actor) {
    return impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimTask* task = impl_->model.Task(task_id);
        if (task == nullptr || task->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "task {} not found", task_id);
        }
        impl_->model.DeleteTask(task_id, actor, impl_->clock->Now(), hooks);
        return Ok{};
    });
}

Result<std::int64_t> Simulator::AddNote(std::int64_t lead_id, const std::string& text,
                                        std::int64_t actor) {
    std::int64_t id = 0;
    auto result = impl_->Mutate([&](std::vector<HookItem>& hooks) -> Result<void> {
        const SimLead* lead = impl_->model.Lead(lead_id);
        if (lead == nullptr || lead->is_deleted) {
            return MakeError(ErrorCode::kNotFound, "lead {} not found", lead_id);
        }
        if (text.empty()) {
            return MakeError(ErrorCode::kInvalidInput, "note text is empty");
        }
        id = impl_->model.AddNote(SimNote{.lead_id = lead_id,
                                          .note_type = "common",
                                          .text = text,
                                          .created_by = actor,
                                          .responsible_user_id = lead->responsible_user_id},
                                  impl_->clock->Now(), hooks);
        return Ok{};
    });
    if (!result) {
        return result.error();
    }
    return id;
}

}  // namespace fg::adapters::amocrm::sim
