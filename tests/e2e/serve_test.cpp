// End to end: `funnelguard serve` as a real process, webhooks over HTTP, violations through the
// API, actions at a fake receiver, and a kill -9 in the middle.
#include <map>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "src/common/time.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/process.hpp"

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kSecret = "hook-secret-acme";
constexpr const char* kAdmin = "admin-token-0123456789";

// Records every action funnelguard POSTs; answers the first revert with 503 + Retry-After.
class ActionsReceiver {
public:
    ActionsReceiver() {
        server_.server().Post(
            "/actions", [this](const httplib::Request& request, httplib::Response& response) {
                std::lock_guard lock(mutex_);
                const json body = json::parse(request.body);
                const std::string key = request.get_header_value("Idempotency-Key");
                if (body.value("kind", "") == "revert" && !failed_revert_) {
                    failed_revert_ = true;
                    response.status = 503;
                    response.set_header("Retry-After", "1");
                    return;
                }
                ++acknowledged_[key];
                kinds_[key] = body.value("kind", "");
                bodies_.push_back(body);
                response.status = 200;
            });
        server_.Start();
    }
    std::string Url() const { return server_.Url("/actions"); }
    std::map<std::string, int> Acknowledged() {
        std::lock_guard lock(mutex_);
        return acknowledged_;
    }
    std::vector<json> Bodies() {
        std::lock_guard lock(mutex_);
        return bodies_;
    }
    bool FailedRevert() {
        std::lock_guard lock(mutex_);
        return failed_revert_;
    }

private:
    std::mutex mutex_;
    bool failed_revert_ = false;
    std::map<std::string, int> acknowledged_;
    std::map<std::string, std::string> kinds_;
    std::vector<json> bodies_;
    // Last: destroyed (stopped) first, while the handler's members still exist.
    fg::testing::FakeHttpServer server_;
};

std::string Config(const fg::testing::TempDir& dir, const std::string& actions_url) {
    return fmt::format(R"(
[server]
listen = "127.0.0.1:0"
admin_token = "{admin}"
max_body_bytes = 65536
[storage]
path = "{db}"

[[tenant]]
id = "acme"
crm = "generic"
secret = "{secret}"
timezone = "Europe/Moscow"
mode = "enforce"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Счёт выставлен", "Успешно"]
  won = ["Успешно"]
  lost = ["Закрыто и не реализовано"]
  [tenant.rules.stage_order]
  actions = ["note", "revert", "notify"]
  [tenant.rules.deal_without_task]
  grace = "15m"
  actions = ["task", "notify"]
  [tenant.generic]
  actions_url = "{url}"
  rps = 50
)",
                       fmt::arg("admin", kAdmin), fmt::arg("db", dir.File("fg.db")),
                       fmt::arg("secret", kSecret), fmt::arg("url", actions_url));
}

std::string Ago(std::chrono::minutes minutes) {
    const auto now = std::chrono::time_point_cast<fg::Duration>(std::chrono::system_clock::now());
    return fg::FormatIso8601(now - minutes, "Europe/Moscow");
}

json DealEvent(const std::string& id, const std::string& deal, const std::string& stage,
               const std::string& at) {
    return {{"id", id},
            {"type", "deal.upserted"},
            {"at", at},
            {"deal",
             {{"id", deal},
              {"title", "ООО «Сделка " + deal + "»"},
              {"pipeline", "main"},
              {"stage", stage},
              {"responsible", "petrov"},
              {"fields", json::object()}}}};
}

json TaskEvent(const std::string& id, const std::string& task, const std::string& deal,
               const std::string& at) {
    return {{"id", id},
            {"type", "task.upserted"},
            {"at", at},
            {"task",
             {{"id", task},
              {"deal", deal},
              {"due", Ago(-std::chrono::minutes{120})},
              {"done", false},
              {"responsible", "petrov"},
              {"text", "Позвонить"}}}};
}

class Service {
public:
    explicit Service(const std::string& config_path)
        : process_({FG_BINARY, "serve", "--config", config_path}) {
        const auto line = process_.ReadLine(30s);
        REQUIRE(line.has_value());
        const auto colon = line->rfind(':');
        REQUIRE(colon != std::string::npos);
        port_ = std::stoi(line->substr(colon + 1));
        client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
        client_->set_read_timeout(30, 0);
    }
    int Kill(int signal) { return process_.Stop(signal); }
    int port() const { return port_; }

    httplib::Result PostEvents(const json& events, const std::string& secret = kSecret) {
        httplib::Headers headers;
        if (!secret.empty()) {
            headers.emplace("Authorization", std::string("Bearer ") + secret);
        }
        return client_->Post("/hooks/generic/acme", headers, json{{"events", events}}.dump(),
                             "application/json");
    }
    httplib::Result Api(const std::string& path) {
        return client_->Get(path, {{"Authorization", std::string("Bearer ") + kAdmin}});
    }
    json Violations(const std::string& query) {
        auto response = Api("/api/v1/violations?" + query);
        REQUIRE(response);
        REQUIRE(response->status == 200);
        return json::parse(response->body)["violations"];
    }
    httplib::Client& client() { return *client_; }

private:
    fg::testing::ChildProcess process_;
    int port_ = 0;
    std::unique_ptr<httplib::Client> client_;
};

// Polls until `done` holds, for at most 30 s (a bound, not a timing assertion).
template <typename Predicate>
bool Eventually(Predicate done) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(50ms);
    }
    return done();
}

std::vector<std::string> Rules(const json& violations) {
    std::vector<std::string> rules;
    for (const json& v : violations) {
        rules.push_back(v["rule"].get<std::string>() + ":" + v["deal"].get<std::string>());
    }
    std::sort(rules.begin(), rules.end());
    return rules;
}

}  // namespace

TEST_CASE("serve: webhooks in, violations out, actions delivered once across a kill -9") {
    fg::testing::TempDir dir;
    ActionsReceiver receiver;
    dir.Write("fg.toml", Config(dir, receiver.Url()));
    const std::string config = dir.File("fg.toml");

    {
        Service service(config);

        // Refusals store nothing and say why.
        auto unauthorized =
            service.PostEvents(json::array({DealEvent("x1", "999", "Новая", Ago(1min))}), "");
        REQUIRE(unauthorized);
        CHECK(unauthorized->status == 401);
        auto wrong =
            service.PostEvents(json::array({DealEvent("x1", "999", "Новая", Ago(1min))}), "nope");
        REQUIRE(wrong);
        CHECK(wrong->status == 401);
        auto garbage = service.client().Post("/hooks/generic/acme",
                                             {{"Authorization", std::string("Bearer ") + kSecret}},
                                             "{not json", "application/json");
        REQUIRE(garbage);
        CHECK(garbage->status == 400);
        CHECK(json::parse(garbage->body).contains("error"));
        auto misfit = service.PostEvents(json::array({{{"id", "x2"}, {"type", "deal.upserted"}}}));
        REQUIRE(misfit);
        CHECK(misfit->status == 400);
        CHECK(json::parse(misfit->body)["error"].get<std::string>().find("events[0]") !=
              std::string::npos);
        auto huge = service.client().Post("/hooks/generic/acme",
                                          {{"Authorization", std::string("Bearer ") + kSecret}},
                                          std::string(70000, ' '), "application/json");
        REQUIRE(huge);
        CHECK(huge->status == 413);
        CHECK(service.Api("/api/v1/deals/acme/999")->status == 404);
        CHECK(service.client().Get("/api/v1/violations")->status == 401);

        // Deal 101 has had no task for an hour; deal 102 skipped "Квалификация".
        const json events = json::array({
            DealEvent("e1", "101", "Новая", Ago(60min)),
            DealEvent("e2", "102", "Новая", Ago(30min)),
            TaskEvent("e3", "t102", "102", Ago(29min)),
            DealEvent("e4", "102", "КП отправлено", Ago(20min)),
        });
        auto stored = service.PostEvents(events);
        REQUIRE(stored);
        CHECK(stored->status == 200);
        CHECK(json::parse(stored->body)["status"] == "stored");
        auto again = service.PostEvents(events);
        REQUIRE(again);
        CHECK(again->status == 200);
        CHECK(json::parse(again->body)["status"] == "duplicate");

        REQUIRE(Eventually([&] { return service.Violations("tenant=acme").size() == 2; }));
        const json open = service.Violations("tenant=acme");
        CHECK(Rules(open) == std::vector<std::string>{"deal_without_task:101", "stage_order:102"});
        for (const json& v : open) {
            if (v["rule"] == "stage_order") {
                CHECK(v["details"]["skipped"] == json::array({"Квалификация"}));
                CHECK(v["details"]["from"] == "Новая");
                CHECK(v["details"]["to"] == "КП отправлено");
            }
        }

        // task+notify for 101; note+revert(after one 503)+notify for 102.
        REQUIRE(Eventually([&] { return receiver.Acknowledged().size() == 5; }));
        CHECK(receiver.FailedRevert());
        for (const auto& [key, times] : receiver.Acknowledged()) {
            const std::string name = key;  // a copy: clang 14 cannot capture a binding
            CHECK_MESSAGE(times == 1, name);
        }
        bool saw_revert = false;
        for (const json& body : receiver.Bodies()) {
            if (body["kind"] == "revert") {
                saw_revert = true;
                CHECK(body["revert"]["to"] == "Квалификация");
                CHECK(body["deal"] == "102");
            }
        }
        CHECK(saw_revert);

        // The revert comes back as a webhook: recognised as our own, it raises nothing and
        // corrects the skip.
        auto echo =
            service.PostEvents(json::array({DealEvent("e5", "102", "Квалификация", Ago(0min))}));
        REQUIRE(echo);
        CHECK(echo->status == 200);
        REQUIRE(Eventually([&] {
            const json resolved = service.Violations("tenant=acme&state=resolved");
            return resolved.size() == 1 && resolved[0]["resolution"] == "corrected";
        }));
        auto deal = service.Api("/api/v1/deals/acme/102");
        REQUIRE(deal);
        REQUIRE(deal->status == 200);
        const json card = json::parse(deal->body);
        CHECK(card["stage"] == "Квалификация");
        CHECK(card["stage_history"].back()["by_funnelguard"] == true);

        auto metrics = service.client().Get("/metrics");
        REQUIRE(metrics);
        CHECK(metrics->status == 200);
        for (const char* line :
             {"funnelguard_violations_open{tenant=\"acme\",rule=\"deal_without_task\"} 1",
              "funnelguard_webhooks_rejected_total{crm=\"generic\",reason=\"unauthorized\"} 2",
              "funnelguard_webhooks_rejected_total{crm=\"generic\",reason=\"bad_request\"} 2",
              "funnelguard_webhooks_rejected_total{crm=\"generic\",reason=\"too_large\"} 1",
              "funnelguard_webhooks_received_total{crm=\"generic\"} 3"}) {
            CHECK_MESSAGE(metrics->body.find(line) != std::string::npos, line);
        }

        // The head of sales acknowledges the other one.
        const std::int64_t id = service.Violations("tenant=acme&rule=deal_without_task")[0]["id"];
        auto ack = service.client().Post(fmt::format("/api/v1/violations/{}/ack", id),
                                         {{"Authorization", std::string("Bearer ") + kAdmin}}, "",
                                         "application/json");
        REQUIRE(ack);
        CHECK(ack->status == 200);
        auto ack_again = service.client().Post(fmt::format("/api/v1/violations/{}/ack", id),
                                               {{"Authorization", std::string("Bearer ") + kAdmin}},
                                               "", "application/json");
        REQUIRE(ack_again);
        CHECK(ack_again->status == 409);

        // A burst of new deals, then kill -9 right after the last 200.
        for (int i = 0; i < 40; ++i) {
            auto r = service.PostEvents(json::array(
                {DealEvent(fmt::format("b{}", i), fmt::format("2{:02}", i), "Новая", Ago(1min))}));
            REQUIRE(r);
            REQUIRE(r->status == 200);
        }
        CHECK(service.Kill(SIGKILL) == 128 + SIGKILL);
    }

    const auto acknowledged_before = receiver.Acknowledged();
    Service restarted(config);
    // Every acknowledged webhook made it into the mirror.
    REQUIRE(Eventually([&] {
        for (int i = 0; i < 40; ++i) {
            auto r = restarted.Api(fmt::format("/api/v1/deals/acme/2{:02}", i));
            if (!r || r->status != 200) {
                return false;
            }
        }
        return true;
    }));
    auto metrics = restarted.client().Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
    CHECK(metrics->body.find("funnelguard_inbox_pending 0") != std::string::npos);
    CHECK(restarted.client().Get("/healthz")->status == 200);
    // Nothing delivered before the kill is delivered again.
    const auto acknowledged_after = receiver.Acknowledged();
    for (const auto& [key, times] : acknowledged_after) {
        const std::string name = key;  // a copy: clang 14 cannot capture a binding
        CHECK_MESSAGE(times == 1, name);
    }
    for (const auto& [key, times] : acknowledged_before) {
        CHECK(acknowledged_after.count(key) == 1);
    }
    CHECK(restarted.Kill(SIGTERM) == 0);

    // `check` reads the same mirror, writes nothing, and agrees on what is open.
    const auto checked =
        fg::testing::Run({FG_BINARY, "check", "--config", config, "--format", "json"});
    CHECK(checked.status == 0);
    const json found = json::parse(checked.out)["violations"];
    bool has_task_rule = false;
    for (const json& v : found) {
        CHECK(v.contains("opened_at"));
        CHECK(v.contains("message"));
        CHECK(v["deal"] != "101");  // acknowledged: settled
        has_task_rule = has_task_rule || v["rule"] == "deal_without_task";
    }
    CHECK_FALSE(has_task_rule);  // the 40 new deals are a minute old: still in their grace
}

TEST_CASE("serve: answers for what senders get wrong, readiness, and the inbox API") {
    fg::testing::TempDir dir;
    ActionsReceiver receiver;
    dir.Write("fg.toml", Config(dir, receiver.Url()));
    Service service(dir.File("fg.toml"));
    httplib::Client& client = service.client();
    const std::string bearer = std::string("Bearer ") + kSecret;
    const json event = DealEvent("m1", "301", "Новая", Ago(1min));

    SUBCASE("a multipart body is 415, and the connection is not confused by its bytes") {
        client.set_keep_alive(true);  // the next request may reuse the connection
        httplib::MultipartFormDataItems items = {
            {"events", json{{"events", json::array({event})}}.dump(), "", "application/json"}};
        auto multipart = client.Post("/hooks/generic/acme", {{"Authorization", bearer}}, items);
        REQUIRE(multipart);
        CHECK(multipart->status == 415);
        CHECK(json::parse(multipart->body)["error"].get<std::string>().starts_with(
            "multipart/form-data bodies are not webhooks"));
        auto next = service.PostEvents(json::array({event}));
        REQUIRE(next);
        CHECK(next->status == 200);
        auto metrics = client.Get("/metrics");
        REQUIRE(metrics);
        CHECK(metrics->body.find("funnelguard_webhooks_rejected_total{crm=\"generic\",reason="
                                 "\"unsupported_media_type\"} 1") != std::string::npos);
    }
    SUBCASE("the Bearer scheme is case-insensitive; the token is not") {
        for (const std::string scheme : {"bearer", "BEARER", "Bearer  "}) {
            auto r = client.Post("/hooks/generic/acme", {{"Authorization", scheme + " " + kSecret}},
                                 json{{"events", json::array({event})}}.dump(), "application/json");
            REQUIRE(r);
            CHECK_MESSAGE(r->status == 200, scheme);
        }
        auto wrong_case = client.Post(
            "/hooks/generic/acme", {{"Authorization", std::string("bearer HOOK-SECRET-ACME")}},
            json{{"events", json::array({event})}}.dump(), "application/json");
        REQUIRE(wrong_case);
        CHECK(wrong_case->status == 401);
        auto no_space =
            client.Post("/hooks/generic/acme", {{"Authorization", std::string("Bearer") + kSecret}},
                        json{{"events", json::array({event})}}.dump(), "application/json");
        REQUIRE(no_space);
        CHECK(no_space->status == 401);
        auto admin =
            client.Get("/api/v1/violations", {{"Authorization", std::string("bearer ") + kAdmin}});
        REQUIRE(admin);
        CHECK(admin->status == 200);
    }
    SUBCASE("a UTC offset no place has is a 400, not a time days off") {
        for (const std::string at : {"2026-11-02T09:00:00+99:99", "2026-11-02T09:00:00+14:30",
                                     "2026-11-02T09:00:00+03:61"}) {
            auto r = service.PostEvents(json::array({DealEvent("o1", "302", "Новая", at)}));
            REQUIRE(r);
            CHECK_MESSAGE(r->status == 400, at);
            CHECK(json::parse(r->body)["error"].get<std::string>().find("events[0].at") !=
                  std::string::npos);
        }
        CHECK(service.Api("/api/v1/deals/acme/302")->status == 404);
    }
    SUBCASE("readiness: a generic-only service is ready once storage is") {
        auto ready = client.Get("/readyz");
        REQUIRE(ready);
        CHECK(ready->status == 200);
        CHECK(json::parse(ready->body)["status"] == "ready");
        CHECK(json::parse(ready->body)["config_problems"] ==
              0);  // a generic tenant's are load errors
        CHECK(client.Get("/healthz")->status == 200);
        const auto asked =
            fg::testing::Run({FG_BINARY, "health", "--config", dir.File("fg.toml"), "--ready",
                              "--listen", fmt::format("127.0.0.1:{}", service.port())},
                             true);
        CHECK(asked.status == 0);
        CHECK(asked.out.find("/readyz: {\"config_problems\":0,\"status\":\"ready\"}") !=
              std::string::npos);
    }
    SUBCASE("the inbox API lists failed and waiting items, for the admin only") {
        auto failed = service.Api("/api/v1/inbox?state=failed&tenant=acme");
        REQUIRE(failed);
        CHECK(failed->status == 200);
        CHECK(json::parse(failed->body)["items"] == json::array());
        CHECK(service.Api("/api/v1/inbox?state=waiting")->status == 200);
        CHECK(service.Api("/api/v1/inbox?state=everything")->status == 400);
        CHECK(client.Get("/api/v1/inbox?state=failed")->status == 401);
    }
    CHECK(service.Kill(SIGTERM) == 0);
}

// Answers every note with 503 and Retry-After of an hour (its retry waits), everything else
// with 200; counts what it was sent, by kind.
class FailingNotes {
public:
    FailingNotes() {
        server_.server().Post(
            "/actions", [this](const httplib::Request& request, httplib::Response& response) {
                const std::string kind = json::parse(request.body).value("kind", "");
                std::lock_guard lock(mutex_);
                ++sent_[kind];
                if (kind == "note") {
                    response.status = 503;
                    response.set_header("Retry-After", "3600");
                    return;
                }
                response.status = 200;
            });
        server_.Start();
    }
    std::string Url() const { return server_.Url("/actions"); }
    int Sent(const std::string& kind) {
        std::lock_guard lock(mutex_);
        return sent_[kind];
    }

private:
    std::mutex mutex_;
    std::map<std::string, int> sent_;
    // Last: destroyed (stopped) first, while the handler's members still exist.
    fg::testing::FakeHttpServer server_;
};

TEST_CASE("serve: acknowledging a violation cancels its note that keeps failing") {
    fg::testing::TempDir dir;
    FailingNotes receiver;
    dir.Write("fg.toml", Config(dir, receiver.Url()));
    Service service(dir.File("fg.toml"));
    // A skip: stage_order plans a note (it fails and waits an hour), a revert and a notify.
    auto posted = service.PostEvents(json::array(
        {DealEvent("a1", "401", "Новая", Ago(10min)), TaskEvent("a2", "t401", "401", Ago(9min)),
         DealEvent("a3", "401", "КП отправлено", Ago(8min))}));
    REQUIRE(posted);
    REQUIRE(posted->status == 200);
    REQUIRE(Eventually([&] {
        return receiver.Sent("note") == 1 && receiver.Sent("revert") == 1 &&
               receiver.Sent("notify") == 1;
    }));
    const json open = service.Violations("tenant=acme&rule=stage_order");
    REQUIRE(open.size() == 1);
    const std::int64_t id = open[0]["id"].get<std::int64_t>();

    auto acked = service.client().Post(fmt::format("/api/v1/violations/{}/ack", id),
                                       {{"Authorization", std::string("Bearer ") + kAdmin}}, "{}",
                                       "application/json");
    REQUIRE(acked);
    CHECK(acked->status == 200);
    auto metrics = service.client().Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->body.find("funnelguard_outbox_items{status=\"cancelled\"} 1\n") !=
          std::string::npos);
    CHECK(metrics->body.find("funnelguard_outbox_items{status=\"pending\"} 0\n") !=
          std::string::npos);
    CHECK(receiver.Sent("note") == 1);
    CHECK(service.Kill(SIGTERM) == 0);
}

// Sends `request` as is on a fresh connection to 127.0.0.1:port and returns what comes back
// until the first answer's headers end (empty after 20 s without them: a bound, not a timing).
std::string RawExchange(int port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    timeval timeout{.tv_sec = 20, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
        char buffer[4096];
        while (answer.find("\r\n\r\n") == std::string::npos) {
            const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
            if (got <= 0) {
                break;
            }
            answer.append(buffer, static_cast<std::size_t>(got));
        }
    }
    ::close(fd);
    return answer;
}

TEST_CASE("serve: an ack needs no body (curl -X POST sends no Content-Length or Content-Type)") {
    fg::testing::TempDir dir;
    dir.Write("fg.toml", Config(dir, ""));  // no actions_url: actions are recorded, not sent
    Service service(dir.File("fg.toml"));
    auto posted = service.PostEvents(json::array(
        {DealEvent("b1", "501", "Новая", Ago(10min)), TaskEvent("b2", "t501", "501", Ago(9min)),
         DealEvent("b3", "501", "КП отправлено", Ago(8min))}));
    REQUIRE(posted);
    REQUIRE(posted->status == 200);
    json open;
    REQUIRE(Eventually([&] {
        open = service.Violations("tenant=acme&rule=stage_order");
        return open.size() == 1;
    }));
    const std::int64_t id = open[0]["id"].get<std::int64_t>();

    const std::string head = fmt::format(
        "POST /api/v1/violations/{}/ack HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        "{}\r\n",
        id, kAdmin);
    const std::string answer = RawExchange(service.port(), head + "\r\n");
    CHECK(answer.starts_with("HTTP/1.1 200 "));
    CHECK(service.Violations("tenant=acme&rule=stage_order").empty());
    SUBCASE("a body is ignored, and a long one refused") {
        CHECK(RawExchange(service.port(), head + "Content-Length: 2\r\n\r\n{}")
                  .starts_with("HTTP/1.1 409 "));  // acknowledged already
        CHECK(RawExchange(service.port(), head + "Content-Length: 100000\r\n\r\n")
                  .starts_with("HTTP/1.1 413 "));
    }
    SUBCASE("still authenticated") {
        const std::string anonymous =
            fmt::format("POST /api/v1/violations/{}/ack HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", id);
        CHECK(RawExchange(service.port(), anonymous).starts_with("HTTP/1.1 401 "));
    }
    CHECK(service.Kill(SIGTERM) == 0);
}

TEST_CASE("health: exit 1 with the reason when nothing answers") {
    fg::testing::TempDir dir;
    dir.Write("fg.toml", fmt::format(R"(
[server]
listen = "127.0.0.1:1"
[storage]
path = "{}"
)",
                                     dir.File("fg.db")));
    const auto asked =
        fg::testing::Run({FG_BINARY, "health", "--config", dir.File("fg.toml")}, true);
    CHECK(asked.status == 1);
    CHECK(asked.out.find("health: 127.0.0.1:1/healthz: cannot connect: connection refused") !=
          std::string::npos);
}
