// The outbound client against loopback fakes: pooling, timeouts, redirects, Retry-After, the
// one classification, errors without secrets, and TLS (a CA made at test time).
#include "src/http/client.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/common/clock.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/unit/tls/pki.hpp"

namespace fg::http {
namespace {

using fg::testing::FakeHttpServer;
using fg::testing::TestPki;
using fg::testing::TestServer;
using Steady = std::chrono::steady_clock;

constexpr const char* kPassword = "hunter2-PASSWORD";
constexpr const char* kQueryToken = "q-TOKEN-77";

bool Has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A FakeHttpServer answering every request through `handler`, started.
class Served {
public:
    explicit Served(FakeHttpServer::Handler handler) {
        server_.ServeAll(std::move(handler));
        server_.Start();
    }
    FakeHttpServer& operator*() { return server_; }
    FakeHttpServer* operator->() { return &server_; }

private:
    FakeHttpServer server_;
};

FakeHttpServer::Handler Status(int status, std::string body = "", std::string retry_after = "") {
    return [=](const httplib::Request&, httplib::Response& response) {
        response.status = status;
        if (!retry_after.empty()) {
            response.set_header("Retry-After", retry_after);
        }
        response.set_content(body, "application/json");
    };
}

std::unique_ptr<Client> MakeClient(const std::string& url, ClientOptions options = {}) {
    auto parsed = ParseUrl(url);
    REQUIRE(parsed);
    auto client = Client::Make(*parsed, std::move(options));
    REQUIRE(client);
    return std::move(*client);
}

// A port bound but not listening: a connection to it is refused, and nobody else can take it
// while the socket is held.
class RefusingPort {
public:
    RefusingPort() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
        socklen_t length = sizeof(address);
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port_ = ntohs(address.sin_port);
    }
    ~RefusingPort() { ::close(fd_); }
    RefusingPort(const RefusingPort&) = delete;
    RefusingPort& operator=(const RefusingPort&) = delete;

    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

// Holds requests in the handler until released (bounded, so a broken client cannot hang the
// suite), and tells how many are being held.
class Gate {
public:
    void Hold() {
        std::unique_lock lock(mutex_);
        ++held_;
        changed_.notify_all();
        changed_.wait_for(lock, std::chrono::seconds{30}, [&] { return open_; });
    }
    bool WaitHeld(int count) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds{20}, [&] { return held_ >= count; });
    }
    void Open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        changed_.notify_all();
    }
    ~Gate() { Open(); }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int held_ = 0;
    bool open_ = false;
};

}  // namespace

TEST_CASE("Client sends method, target, headers and body to its origin") {
    Served server(Status(201, R"({"ok":true})"));
    auto client = MakeClient(server->Url("/base/?key=1"));
    const Outcome outcome = client->Send({.method = "POST",
                                          .target = "/items?page=2",
                                          .headers = {{"X-Test", "yes"}},
                                          .body = R"({"a":1})",
                                          .content_type = "application/json"});
    REQUIRE(outcome);
    CHECK(outcome->status == 201);
    CHECK(outcome->body == R"({"ok":true})");
    const auto seen = server->Requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].path == "/base/items");  // the URL's path, then the target's
    CHECK(seen[0].Param("key") == "1");    // the URL's query stays on every request
    CHECK(seen[0].Param("page") == "2");
    CHECK(seen[0].Header("X-Test") == "yes");
    CHECK(seen[0].Header("Content-Type") == "application/json");
    CHECK(seen[0].Header("User-Agent") == "funnelguard");
    CHECK(seen[0].body == R"({"a":1})");

    SUBCASE("an empty target is the URL itself, as written") {
        REQUIRE(client->Send({.method = "GET", .headers = {{"User-Agent", "mine"}}}));
        const auto again = server->Requests();
        REQUIRE(again.size() == 2);
        CHECK(again[1].path == "/base/");
        CHECK(again[1].Param("key") == "1");
        CHECK(again[1].Header("User-Agent") == "mine");  // a request's own wins
        CHECK(again[1].HeaderCount("User-Agent") == 1);
    }
}

TEST_CASE("Client reuses keep-alive connections, one request per connection at a time") {
    Gate gate;
    Served server([&gate](const httplib::Request& request, httplib::Response& response) {
        if (request.path == "/hold") {
            gate.Hold();
        }
        response.status = 204;
    });
    auto client = MakeClient(server->Url(), ClientOptions{.max_idle = 2});

    SUBCASE("one caller after another: one connection") {
        for (int i = 0; i < 5; ++i) {
            REQUIRE(client->Send({.target = "/fast"}));
        }
        std::set<int> ports;
        for (const auto& request : server->Requests()) {
            ports.insert(request.remote_port);
        }
        CHECK(ports.size() == 1);
    }
    SUBCASE("callers at once get connections of their own, kept for the next callers") {
        std::vector<std::thread> callers;
        for (int i = 0; i < 2; ++i) {
            callers.emplace_back([&client] { CHECK(client->Send({.target = "/hold"})); });
        }
        REQUIRE(gate.WaitHeld(2));  // both in the server at once: two connections
        gate.Open();
        for (std::thread& caller : callers) {
            caller.join();
        }
        std::set<int> held;
        for (const auto& request : server->Requests()) {
            held.insert(request.remote_port);
        }
        REQUIRE(held.size() == 2);
        for (int i = 0; i < 4; ++i) {
            REQUIRE(client->Send({.target = "/fast"}));
        }
        const auto seen = server->Requests();
        REQUIRE(seen.size() == 6);
        for (std::size_t i = 2; i < seen.size(); ++i) {
            CHECK(held.count(seen[i].remote_port) == 1);  // no new connection was opened
        }
    }
}

TEST_CASE("Client replaces a connection the server closed instead of failing") {
    FakeHttpServer server;
    server.server().set_keep_alive_max_count(1);  // the server closes after every answer
    server.ServeAll(Status(200));
    server.Start();
    auto client = MakeClient(server.Url());
    for (int i = 0; i < 3; ++i) {
        const Outcome outcome = client->Send({.target = "/x"});
        INFO(outcome.failure.reason);
        CHECK(outcome);
    }
    CHECK(server.Count() == 3);
}

// The TCP_NODELAY option of this process's sockets connected to 127.0.0.1:`port`, one per socket.
std::vector<int> NoDelayOfSocketsTo(int port) {
    std::vector<int> found;
    for (int fd = 0; fd < 1024; ++fd) {
        sockaddr_in peer{};
        socklen_t length = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0 ||
            peer.sin_family != AF_INET || ntohs(peer.sin_port) != port) {
            continue;
        }
        sockaddr_in local{};
        length = sizeof local;
        // The server's accepted socket has the port on its own side, not the peer's.
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0 &&
            ntohs(local.sin_port) == port) {
            continue;
        }
        int on = 0;
        length = sizeof on;
        REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &length) == 0);
        found.push_back(on);
    }
    return found;
}

TEST_CASE("Client sets TCP_NODELAY: keep-alive requests with a body do not stall on Nagle") {
    // With Nagle, the body segment waits for the server's delayed ACK of the headers: ~40 ms a
    // request on Linux loopback (reliability.md §4.2). The option itself is checked, on the
    // keep-alive connection the client keeps open, not the time (tests assert no timing).
    Served server(Status(200, "ok"));
    auto client = MakeClient(server->Url());
    REQUIRE(client->Send({.method = "POST",
                          .target = "/n",
                          .body = R"({"small":"body"})",
                          .content_type = "application/json"}));
    const std::vector<int> options = NoDelayOfSocketsTo(server->port());
    REQUIRE(options.size() == 1);
    CHECK(options.front() != 0);
}

TEST_CASE("Client ends a call to a server that does not answer at the read timeout") {
    Gate gate;
    Served server([&gate](const httplib::Request&, httplib::Response& response) {
        gate.Hold();
        response.status = 200;
    });
    auto client = MakeClient(server->Url(), ClientOptions{.read_timeout = Duration{1}});
    const Steady::time_point start = Steady::now();
    const Outcome outcome = client->Send({.method = "POST", .target = "/slow", .body = "b"});
    const auto elapsed = Steady::now() - start;
    gate.Open();
    REQUIRE_FALSE(outcome);
    CHECK(outcome.failure.kind == FailureKind::kReceive);
    CHECK(outcome.failure.reason ==
          fmt::format("transport error: 127.0.0.1:{}: no answer: the connection was closed or "
                      "timed out before the whole answer came",
                      server->port()));
    CHECK(elapsed >= std::chrono::milliseconds{900});
    CHECK(elapsed < std::chrono::seconds{10});
    // The request arrived: it may have been processed, so a write must be checked before it
    // goes again.
    const Classification verdict = Classify(outcome);
    CHECK(verdict.verdict == Verdict::kRetry);
    CHECK_FALSE(verdict.not_sent);
}

TEST_CASE("Client never follows a redirect; neither body nor credentials reach the Location") {
    Served elsewhere(Status(200));
    const std::string location =
        fmt::format("http://u:p@127.0.0.1:{}/grab?token=stolen", elsewhere->port());
    Served origin([&location](const httplib::Request&, httplib::Response& response) {
        response.status = 307;
        response.set_header("Location", location);
    });
    auto client =
        MakeClient(fmt::format("http://bot:{}@127.0.0.1:{}/actions", kPassword, origin->port()));
    const Outcome outcome = client->Send({.method = "POST", .body = "payload"});
    REQUIRE(outcome);
    CHECK(outcome->status == 307);
    CHECK(outcome->location == location);  // handed over as sent, for the caller to judge
    CHECK(LocationAuthority(outcome->location) == fmt::format("127.0.0.1:{}", elsewhere->port()));
    const Classification verdict = Classify(outcome);
    CHECK(verdict.verdict == Verdict::kRejected);
    CHECK(elsewhere->Count() == 0);
    const auto seen = origin->Requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].Header("Authorization").starts_with("Basic "));  // sent to the origin only
}

TEST_CASE("Client reads Retry-After as delay-seconds and as an HTTP-date") {
    const ManualClock clock(*ParseIso8601("2026-10-21T07:27:00Z"));
    const ClientOptions options{.clock = &clock};
    SUBCASE("delay-seconds on a 429") {
        Served server(Status(429, "", "7"));
        const Outcome outcome = MakeClient(server->Url(), options)->Send({});
        REQUIRE(outcome);
        CHECK(outcome->retry_after == Duration{7});
    }
    SUBCASE("an HTTP-date on a 503, relative to the injected clock") {
        Served server(Status(503, "", "Wed, 21 Oct 2026 07:28:30 GMT"));
        const Outcome outcome = MakeClient(server->Url(), options)->Send({});
        REQUIRE(outcome);
        CHECK(outcome->retry_after == Duration{90});
    }
    SUBCASE("a JSON body's retry_after only when the request asks for it") {
        Served server(Status(429, R"({"title":"Too Many Requests","retry_after":3})"));
        auto client = MakeClient(server->Url(), options);
        const Outcome plain = client->Send({});
        REQUIRE(plain);
        CHECK_FALSE(plain->retry_after);
        const Outcome asked = client->Send({.body_retry_after = true});
        REQUIRE(asked);
        CHECK(asked->retry_after == Duration{3});
    }
    SUBCASE("the header wins over the body") {
        Served server(Status(429, R"({"retry_after":3})", "11"));
        const Outcome outcome =
            MakeClient(server->Url(), options)->Send({.body_retry_after = true});
        REQUIRE(outcome);
        CHECK(outcome->retry_after == Duration{11});
    }
    SUBCASE("nothing for a status that is not retried, nor for garbage") {
        Served rejected(Status(400, R"({"retry_after":3})", "5"));
        const Outcome bad_request =
            MakeClient(rejected->Url(), options)->Send({.body_retry_after = true});
        REQUIRE(bad_request);
        CHECK_FALSE(bad_request->retry_after);
        Served garbage(Status(503, "<html>busy</html>", "soon"));
        const Outcome unreadable =
            MakeClient(garbage->Url(), options)->Send({.body_retry_after = true});
        REQUIRE(unreadable);
        CHECK_FALSE(unreadable->retry_after);
    }
}

TEST_CASE("One classification: delivered, retry or rejected, and what certainly was not sent") {
    struct Row {
        int status;
        Verdict verdict;
        bool not_sent;
    };
    for (const Row& row : {
             Row{200, Verdict::kDelivered, false}, Row{201, Verdict::kDelivered, false},
             Row{204, Verdict::kDelivered, false}, Row{299, Verdict::kDelivered, false},
             Row{301, Verdict::kRejected, false},  Row{302, Verdict::kRejected, false},
             Row{308, Verdict::kRejected, false},  Row{400, Verdict::kRejected, false},
             Row{401, Verdict::kRejected, false},  Row{403, Verdict::kRejected, false},
             Row{404, Verdict::kRejected, false},  Row{409, Verdict::kRejected, false},
             Row{422, Verdict::kRejected, false},  Row{408, Verdict::kRetry, false},
             Row{429, Verdict::kRetry, true},      Row{500, Verdict::kRetry, false},
             Row{501, Verdict::kRetry, false},     Row{502, Verdict::kRetry, false},
             Row{503, Verdict::kRetry, false},     Row{504, Verdict::kRetry, false},
         }) {
        CAPTURE(row.status);
        const Classification got = ClassifyStatus(row.status);
        CHECK(got.verdict == row.verdict);
        CHECK(got.not_sent == row.not_sent);
        CHECK(IsRetryableStatus(row.status) == (row.verdict == Verdict::kRetry));
    }
    struct FailureRow {
        FailureKind kind;
        Verdict verdict;
        bool not_sent;
    };
    for (const FailureRow& row : {
             FailureRow{FailureKind::kUnusable, Verdict::kRejected, true},
             FailureRow{FailureKind::kConnect, Verdict::kRetry, true},
             FailureRow{FailureKind::kTls, Verdict::kRetry, true},
             FailureRow{FailureKind::kSend, Verdict::kRetry, false},
             FailureRow{FailureKind::kReceive, Verdict::kRetry, false},
         }) {
        CAPTURE(static_cast<int>(row.kind));
        const Classification got = ClassifyFailure(row.kind);
        CHECK(got.verdict == row.verdict);
        CHECK(got.not_sent == row.not_sent);
    }

    SUBCASE("a refused connection is certainly not sent") {
        RefusingPort port;
        const Outcome outcome =
            MakeClient(fmt::format("http://127.0.0.1:{}", port.port()))->Send({.target = "/x"});
        REQUIRE_FALSE(outcome);
        CHECK(outcome.failure.kind == FailureKind::kConnect);
        const Classification verdict = Classify(outcome);
        CHECK(verdict.verdict == Verdict::kRetry);
        CHECK(verdict.not_sent);
    }
    SUBCASE("over a real answer") {
        Served server(Status(429));
        const Classification verdict = Classify(MakeClient(server->Url())->Send({}));
        CHECK(verdict.verdict == Verdict::kRetry);
        CHECK(verdict.not_sent);
    }
}

TEST_CASE("Client errors name method, host:port and path, never userinfo, query or body") {
    RefusingPort port;
    auto client = MakeClient(fmt::format("http://bot:{}@127.0.0.1:{}/secret-path?token={}",
                                         kPassword, port.port(), kQueryToken));
    const Outcome outcome =
        client->Send({.method = "POST", .target = "/api/v4/tasks?key=k3y", .body = "body-SECRET"});
    REQUIRE_FALSE(outcome);
    const std::string message = outcome.failure.Message();
    CHECK(message == fmt::format("POST /api/v4/tasks: transport error: 127.0.0.1:{}: cannot "
                                 "connect: connection refused",
                                 port.port()));
    CHECK(outcome.failure.reason ==
          fmt::format("transport error: 127.0.0.1:{}: cannot connect: connection refused",
                      port.port()));
    for (const char* secret :
         {kPassword, kQueryToken, "bot", "k3y", "body-SECRET", "secret-path"}) {
        CAPTURE(secret);
        CHECK_FALSE(Has(message, secret));
    }

    SUBCASE("a header that would split the request is refused, its value unrepeated") {
        Served server(Status(200));
        auto local = MakeClient(server->Url());
        const Outcome split =
            local->Send({.headers = {{"Authorization", "Bearer t0k\r\nX-Evil: 1"}}});
        REQUIRE_FALSE(split);
        CHECK(split.failure.kind == FailureKind::kUnusable);
        CHECK_FALSE(Has(split.failure.Message(), "t0k"));
        const Outcome bad_name = local->Send({.headers = {{"X-A: 1\r\nX-B", "v"}}});
        REQUIRE_FALSE(bad_name);
        CHECK(bad_name.failure.kind == FailureKind::kUnusable);
        CHECK(Classify(bad_name).verdict == Verdict::kRejected);
        const Outcome bad_target =
            local->Send({.target = "/x HTTP/1.1\r\nX-Evil: 1\r\n\r\nGET /y"});
        REQUIRE_FALSE(bad_target);
        CHECK(bad_target.failure.kind == FailureKind::kUnusable);
        CHECK(server->Count() == 0);
    }
}

TEST_CASE("Client verifies the server's certificate before sending anything") {
    TestPki pki;
    std::atomic<int> answered{0};
    TestServer server(pki.dir, "origin", pki.server,
                      [&answered](const httplib::Request&, httplib::Response& response) {
                          ++answered;
                          response.status = 204;
                      });
    const std::string url = fmt::format("https://bot:{}@127.0.0.1:{}/x?token={}", kPassword,
                                        server.port(), kQueryToken);

    SUBCASE("an unknown CA fails with OpenSSL's reason, and nothing is sent") {
        const Outcome outcome = MakeClient(url)->Send({.method = "POST", .body = "payload"});
        REQUIRE_FALSE(outcome);
        CHECK(outcome.failure.kind == FailureKind::kTls);
        CHECK(Has(outcome.failure.reason,
                  fmt::format("https://127.0.0.1:{}: certificate verify failed: unable to get "
                              "local issuer certificate",
                              server.port())));
        CHECK_FALSE(Has(outcome.failure.Message(), kPassword));
        CHECK_FALSE(Has(outcome.failure.Message(), kQueryToken));
        const Classification verdict = Classify(outcome);
        CHECK(verdict.verdict == Verdict::kRetry);  // a certificate can be fixed
        CHECK(verdict.not_sent);
        CHECK(server.Count() == 0);
    }
    SUBCASE("a certificate for another name fails too") {
        const fg::testing::Credential other =
            pki.ca.Issue("crm.example.org", "DNS:crm.example.org");
        TestServer impostor(pki.dir, "impostor", other, Status(204));
        const Outcome outcome =
            MakeClient(impostor.Url("localhost"), ClientOptions{.ca_file = pki.ca_file})->Send({});
        REQUIRE_FALSE(outcome);
        CHECK(Has(outcome.failure.reason, "certificate verify failed: hostname mismatch"));
        CHECK(impostor.Count() == 0);
    }
    SUBCASE("the tenant's ca_file makes it verify") {
        const Outcome outcome = MakeClient(url, ClientOptions{.ca_file = pki.ca_file})->Send({});
        INFO(outcome.failure.reason);
        REQUIRE(outcome);
        CHECK(outcome->status == 204);
        CHECK(answered.load() == 1);
    }
    SUBCASE("a ca_file that cannot be loaded, or one for an http:// URL, is refused at once") {
        auto https = ParseUrl(url);
        REQUIRE(https);
        auto missing = Client::Make(*https, ClientOptions{.ca_file = pki.dir.File("gone.pem")});
        REQUIRE_FALSE(missing);
        CHECK(missing.error().code == ErrorCode::kUnavailable);  // the file may come back
        CHECK(Has(missing.error().message, "ca_file: "));
        CHECK(Has(missing.error().message, "gone.pem"));
        auto http = ParseUrl("http://127.0.0.1:9/x");
        REQUIRE(http);
        auto plain = Client::Make(*http, ClientOptions{.ca_file = pki.ca_file});
        REQUIRE_FALSE(plain);
        CHECK(plain.error().code == ErrorCode::kInvalidInput);
        CHECK(plain.error().message == "ca_file is for an https:// URL; this one is http://");
    }
}

}  // namespace fg::http
