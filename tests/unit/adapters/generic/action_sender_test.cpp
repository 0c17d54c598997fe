#include "adapters/generic/action_sender.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/common/clock.hpp"
#include "src/outbox/action_codec.hpp"
#include "tests/support/fake_http_server.hpp"

namespace fg::adapters::generic {
namespace {

using outbox::DeliveryStatus;

struct Recorded {
    std::string method{};
    std::string path{};
    std::string query_token{};
    std::string body{};
    std::string content_type{};
    std::string idempotency_key{};
    std::string attempt{};
    std::string authorization{};
    std::size_t idempotency_headers = 0;
    bool injected_header = false;
    int remote_port = -1;
};

// An httplib server on 127.0.0.1, port 0, that records every request and answers through
// `handler`.
class RecordingServer {
public:
    using Handler = fg::testing::FakeHttpServer::Handler;

    explicit RecordingServer(Handler handler) {
        server_.ServeAll(std::move(handler));
        server_.Start();
    }

    std::string Url(std::string_view path = "/actions") const { return server_.Url(path); }
    int port() const { return server_.port(); }

    std::vector<Recorded> Requests() const {
        std::vector<Recorded> out;
        for (const fg::testing::RecordedRequest& request : server_.Requests()) {
            out.push_back(Recorded{
                .method = request.method,
                .path = request.path,
                .query_token = request.Param("token"),
                .body = request.body,
                .content_type = request.Header("Content-Type"),
                .idempotency_key = request.Header("Idempotency-Key"),
                .attempt = request.Header("X-Funnelguard-Attempt"),
                .authorization = request.Header("Authorization"),
                .idempotency_headers = request.HeaderCount("Idempotency-Key"),
                .injected_header = request.HeaderCount("X-Injected") > 0,
                .remote_port = request.remote_port,
            });
        }
        return out;
    }

private:
    fg::testing::FakeHttpServer server_;
};

RecordingServer::Handler Reply(int status, std::string body = "", std::string retry_after = "") {
    return [=](const httplib::Request&, httplib::Response& response) {
        response.status = status;
        if (!retry_after.empty()) {
            response.set_header("Retry-After", retry_after);
        }
        response.set_content(body, "text/plain; charset=utf-8");
    };
}

// A bare TCP listener on 127.0.0.1, port 0: reads each request, then resets the connection
// without answering.
class ClosingServer {
public:
    ClosingServer() {
        listener_ = socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
        REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
        REQUIRE(listen(listener_, 8) == 0);
        socklen_t length = sizeof(address);
        REQUIRE(getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] {
            for (;;) {
                const int connection = accept(listener_, nullptr, nullptr);
                if (connection < 0) {
                    return;  // the listener was shut down
                }
                // Read up to the end of the headers, so the test can see the raw request.
                std::string received;
                char buffer[4096];
                while (received.find("\r\n\r\n") == std::string::npos) {
                    const auto n = recv(connection, buffer, sizeof(buffer), 0);
                    if (n <= 0) {
                        break;
                    }
                    received.append(buffer, static_cast<std::size_t>(n));
                }
                {
                    std::lock_guard lock(mutex_);
                    received_.push_back(std::move(received));
                }
                ++accepted_;
                const linger reset{.l_onoff = 1, .l_linger = 0};
                setsockopt(connection, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
                close(connection);
            }
        });
    }

    ~ClosingServer() {
        shutdown(listener_, SHUT_RDWR);
        thread_.join();
        close(listener_);
    }

    ClosingServer(const ClosingServer&) = delete;
    ClosingServer& operator=(const ClosingServer&) = delete;

    int port() const { return port_; }
    int accepted() const { return accepted_.load(); }
    std::vector<std::string> Received() const {
        std::lock_guard lock(mutex_);
        return received_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> received_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

// A port that is bound but not listening: connecting to it is refused, and no other test can
// take it while the socket is held.
class DeadPort {
public:
    DeadPort() {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
        socklen_t length = sizeof(address);
        REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
        port_ = ntohs(address.sin_port);
    }
    ~DeadPort() { close(fd_); }
    DeadPort(const DeadPort&) = delete;
    DeadPort& operator=(const DeadPort&) = delete;

    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

outbox::Action MakeAction(int attempt = 1) {
    return {
        .body = {.kind = outbox::ActionKind::kNote,
                 .tenant = "acme",
                 .deal = "101",
                 .idempotency_key = "stage_order:acme/101:1793599200:note",
                 .text = "Сделка перескочила этап «Квалификация»"},
        .attempt = attempt,
    };
}

}  // namespace

TEST_CASE("ActionSender posts the payload with idempotency and attempt headers") {
    RecordingServer server(Reply(200, "ok"));
    ActionSender sender(server.Url("/hooks/actions"));

    const auto result = sender.Deliver(MakeAction(3));
    CHECK(result.status == DeliveryStatus::kDelivered);
    CHECK_FALSE(result.retry_after.has_value());
    CHECK(result.error.empty());

    const auto requests = server.Requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].path == "/hooks/actions");
    // The action as the one codec writes it: the JSON documented for actions_url receivers.
    CHECK(requests[0].body == outbox::EncodeAction(MakeAction().body));
    const auto posted = nlohmann::json::parse(requests[0].body);
    CHECK(posted["kind"] == "note");
    CHECK(posted["deal"] == "101");
    CHECK(posted["text"] == "Сделка перескочила этап «Квалификация»");
    CHECK(posted["idempotency_key"] == "stage_order:acme/101:1793599200:note");
    CHECK(requests[0].content_type == "application/json");
    CHECK(requests[0].idempotency_key == "stage_order:acme/101:1793599200:note");
    CHECK(requests[0].idempotency_headers == 1);
    CHECK(requests[0].attempt == "3");
    CHECK(requests[0].authorization.empty());
}

TEST_CASE("ActionSender reuses one keep-alive connection across deliveries") {
    RecordingServer server(Reply(204));
    ActionSender sender(server.Url());
    for (int attempt = 1; attempt <= 3; ++attempt) {
        CHECK(sender.Deliver(MakeAction(attempt)).status == DeliveryStatus::kDelivered);
    }
    const auto requests = server.Requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[1].remote_port == requests[0].remote_port);
    CHECK(requests[2].remote_port == requests[0].remote_port);
    CHECK(requests[2].attempt == "3");
}

TEST_CASE("ActionSender treats every 2xx as delivered") {
    for (int status : {200, 201, 202, 204, 299}) {
        CAPTURE(status);
        RecordingServer server(Reply(status));
        ActionSender sender(server.Url());
        CHECK(sender.Deliver(MakeAction()).status == DeliveryStatus::kDelivered);
    }
}

TEST_CASE("ActionSender retries 408, 429 and 5xx, honouring Retry-After") {
    SUBCASE("429 with delay-seconds") {
        RecordingServer server(Reply(429, "slow down", "7"));
        ActionSender sender(server.Url());
        const auto result = sender.Deliver(MakeAction());
        CHECK(result.status == DeliveryStatus::kRetry);
        REQUIRE(result.retry_after.has_value());
        CHECK(*result.retry_after == Duration{7});
        CHECK(result.error == "HTTP 429: slow down");
        CHECK(result.not_sent);  // refused unprocessed: nothing to check before sending again
    }
    SUBCASE("503 with an HTTP-date, relative to the injected clock") {
        const ManualClock clock(*ParseIso8601("2026-10-21T07:27:00Z"));
        RecordingServer server(Reply(503, "", "Wed, 21 Oct 2026 07:28:30 GMT"));
        ActionSender sender(server.Url(), Duration{5}, Duration{10}, &clock);
        const auto result = sender.Deliver(MakeAction());
        CHECK(result.status == DeliveryStatus::kRetry);
        REQUIRE(result.retry_after.has_value());
        CHECK(*result.retry_after == Duration{90});
    }
    SUBCASE("without Retry-After, or with garbage in it, the outbox falls back to backoff") {
        for (const auto& entry : std::vector<std::pair<int, std::string>>{
                 {503, ""}, {500, ""}, {502, ""}, {504, ""}, {408, ""}, {429, "soon"}}) {
            const int status = entry.first;  // not a binding: CAPTURE takes it by reference
            const std::string& retry_after = entry.second;
            CAPTURE(status);
            RecordingServer server(Reply(status, "upstream down", retry_after));
            ActionSender sender(server.Url());
            const auto result = sender.Deliver(MakeAction());
            CHECK(result.status == DeliveryStatus::kRetry);
            CHECK_FALSE(result.retry_after.has_value());
            CHECK(result.error == fmt::format("HTTP {}: upstream down", status));
            CHECK(result.not_sent == (status == 429));  // a 5xx or 408 may have landed
        }
    }
}

TEST_CASE("ActionSender rejects other statuses with the start of the body") {
    for (int status : {400, 401, 403, 404, 409, 410, 422}) {
        CAPTURE(status);
        RecordingServer server(Reply(status, R"({"error":"deal 101 not found"})"));
        ActionSender sender(server.Url());
        const auto result = sender.Deliver(MakeAction());
        CHECK(result.status == DeliveryStatus::kRejected);
        CHECK_FALSE(result.retry_after.has_value());
        CHECK(result.error == fmt::format(R"(HTTP {}: {{"error":"deal 101 not found"}})", status));
    }
    // A redirect is rejected unfollowed, naming the status and where it pointed (host only).
    for (int status : {301, 302}) {
        CAPTURE(status);
        RecordingServer server([status](const httplib::Request&, httplib::Response& response) {
            response.status = status;
            response.set_header("Location", "https://a:b@other.example:8443/x?token=t");
        });
        ActionSender sender(server.Url());
        const auto result = sender.Deliver(MakeAction());
        CHECK(result.status == DeliveryStatus::kRejected);
        CHECK(result.error == fmt::format("HTTP {}: a redirect to other.example:8443, not "
                                          "followed (actions go to actions_url only)",
                                          status));
        CHECK(server.Requests().size() == 1);
    }
    SUBCASE("a long body is cut at 200 characters, never inside a Cyrillic letter") {
        std::string body;
        for (int i = 0; i < 300; ++i) {
            body += "ж";
        }
        RecordingServer server(Reply(422, body + "\r\nsecond line"));
        ActionSender sender(server.Url());
        const auto result = sender.Deliver(MakeAction());
        CHECK(result.status == DeliveryStatus::kRejected);
        CHECK(result.error == "HTTP 422: " + body.substr(0, 400) + "...");
    }
    SUBCASE("control characters in the body cannot forge log lines") {
        RecordingServer server(Reply(400, "bad\nERROR forged entry"));
        ActionSender sender(server.Url());
        CHECK(sender.Deliver(MakeAction()).error == R"(HTTP 400: bad\nERROR forged entry)");
    }
}

TEST_CASE("ActionSender retries transport failures") {
    SUBCASE("nobody listens on the port") {
        DeadPort port;
        ActionSender sender(fmt::format("http://127.0.0.1:{}/actions", port.port()));
        const auto result = sender.Deliver(MakeAction());
        CHECK(result.status == DeliveryStatus::kRetry);
        CHECK_FALSE(result.retry_after.has_value());
        CHECK(result.error == fmt::format("transport error: 127.0.0.1:{}: cannot connect: "
                                          "connection refused",
                                          port.port()));
    }
    SUBCASE("the server resets the connection without answering") {
        ClosingServer server;
        ActionSender sender(fmt::format("http://127.0.0.1:{}/actions", server.port()));
        const auto result = sender.Deliver(MakeAction());
        CHECK(result.status == DeliveryStatus::kRetry);
        CHECK(result.error.starts_with("transport error: "));
        CHECK(server.accepted() >= 1);
    }
    SUBCASE("the server answers later than the read timeout") {
        std::mutex mutex;
        std::condition_variable released_cv;
        bool released = false;
        RecordingServer server([&](const httplib::Request& request, httplib::Response& response) {
            if (request.path == "/slow") {
                // Block until the test has seen the timeout (bounded, so a broken client
                // cannot hang the suite).
                std::unique_lock lock(mutex);
                released_cv.wait_for(lock, std::chrono::seconds{30}, [&] { return released; });
            }
            response.status = 200;
        });
        ActionSender slow(server.Url("/slow"), Duration{5}, Duration{1});
        const auto result = slow.Deliver(MakeAction());
        {
            std::lock_guard lock(mutex);
            released = true;
        }
        released_cv.notify_all();
        CHECK(result.status == DeliveryStatus::kRetry);
        CHECK(result.error == fmt::format("transport error: 127.0.0.1:{}: no answer: the "
                                          "connection was closed or timed out before the whole "
                                          "answer came",
                                          server.port()));

        SUBCASE("and the same sender recovers on the next call") {
            ActionSender sender(server.Url("/fast"), Duration{5}, Duration{1});
            CHECK(sender.Deliver(MakeAction()).status == DeliveryStatus::kDelivered);
            CHECK(slow.Deliver(MakeAction(2)).status == DeliveryStatus::kDelivered);
        }
    }
}

TEST_CASE("ActionSender sends URL credentials but never reports them") {
    RecordingServer server(Reply(200));
    ActionSender sender(server.Url("/hooks/actions?token=t0p-s3cret&v=2"));
    CHECK(sender.Deliver(MakeAction()).status == DeliveryStatus::kDelivered);
    const std::string with_userinfo =
        server.Url("/x").replace(7, 0, "integrator:hunter%32@");  // password "hunter2"
    ActionSender authenticated(with_userinfo);
    CHECK(authenticated.Deliver(MakeAction()).status == DeliveryStatus::kDelivered);

    const auto requests = server.Requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].path == "/hooks/actions");
    CHECK(requests[0].query_token == "t0p-s3cret");
    CHECK(requests[1].authorization == "Basic aW50ZWdyYXRvcjpodW50ZXIy");  // integrator:hunter2

    SUBCASE("transport errors name the host and port, never the rest of the URL") {
        DeadPort port;
        ActionSender dead(
            fmt::format("https://integrator:hunter2@127.0.0.1:{}/a?token=t0p-s3cret", port.port()));
        const auto result = dead.Deliver(MakeAction());
        CHECK(result.status == DeliveryStatus::kRetry);
        CHECK(result.error.find("hunter2") == std::string::npos);
        CHECK(result.error.find("t0p-s3cret") == std::string::npos);
        CHECK(result.error.find("integrator") == std::string::npos);
        CHECK(result.error.find("/a") == std::string::npos);
        CHECK(result.error ==
              fmt::format("transport error: 127.0.0.1:{}: cannot connect: connection refused",
                          port.port()));
    }
}

TEST_CASE("ActionSender keeps hostile idempotency keys out of other headers") {
    outbox::Action action = MakeAction();
    action.body.idempotency_key = "note:acme/сделка 7\r\nX-Injected: 1:100%";

    SUBCASE("on the wire the key is percent-encoded visible ASCII") {
        ClosingServer server;  // records the raw request bytes
        ActionSender sender(fmt::format("http://127.0.0.1:{}/actions", server.port()));
        CHECK(sender.Deliver(action).status == DeliveryStatus::kRetry);
        const auto received = server.Received();
        REQUIRE(received.size() >= 1);
        CAPTURE(received[0]);
        CHECK(received[0].starts_with("POST /actions HTTP/1.1\r\n"));
        CHECK(
            received[0].find("\r\nIdempotency-Key: "
                             "note:acme/%D1%81%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0%207%0D%0AX-Injected:%"
                             "201:100%25\r\n") != std::string::npos);
        CHECK(received[0].find("\r\nX-Injected") == std::string::npos);
        CHECK(received[0].find("\r\nX-Funnelguard-Attempt: 1\r\n") != std::string::npos);
    }
    SUBCASE("a receiver that percent-decodes (as httplib does) gets the key back intact") {
        RecordingServer server(Reply(200));
        ActionSender sender(server.Url());
        CHECK(sender.Deliver(action).status == DeliveryStatus::kDelivered);
        const auto requests = server.Requests();
        REQUIRE(requests.size() == 1);
        CHECK_FALSE(requests[0].injected_header);
        CHECK(requests[0].idempotency_headers == 1);
        CHECK(requests[0].idempotency_key == action.idempotency_key());
    }
}

TEST_CASE("ActionSender::ValidateUrl accepts http(s) URLs and explains the rest") {
    for (std::string_view good : {
             "http://127.0.0.1:8080/hooks/actions",
             "https://crm-bridge.example.ru/api/v1/actions?token=abc",
             "HTTPS://example.com",
             "http://example.com:1/",
             "http://example.com:65535/x#fragment",
             "http://user:p%40ss@example.com/actions",
             "http://example.com?only=query",
         }) {
        CAPTURE(good);
        CHECK(ActionSender::ValidateUrl(good).has_value());
    }
    struct Bad {
        std::string_view url;
        std::string_view reason;
    };
    for (const Bad& bad : {
             Bad{"", "must start with http:// or https://"},
             Bad{"example.com/actions", "must start with http:// or https://"},
             Bad{"ftp://example.com/", "scheme must be http or https"},
             Bad{"http://", "the host is missing"},
             Bad{"http://:8080/x", "the host is missing"},
             Bad{"http://exa mple.com/", "must be ASCII without spaces"},
             Bad{"http://example.com/a\r\nHost: evil", "must be ASCII without spaces"},
             Bad{"http://пример.рф/", "must be ASCII without spaces"},
             Bad{"http://example.com:0/", "the port must be a number from 1 to 65535"},
             Bad{"http://example.com:65536/", "the port must be a number from 1 to 65535"},
             Bad{"http://example.com:80a/", "the port must be a number from 1 to 65535"},
             Bad{"http://example.com:/", "the port must be a number from 1 to 65535"},
             Bad{"http://[::1]:8080/", "IPv6 literal hosts are not supported"},
             Bad{"http://ex$mple.com/", "the host is missing"},
             Bad{"http://admin:hunter2%zz@example.com/?token=t0p-s3cret",
                 "malformed percent-encoding"},
             Bad{"http://admin:hunter2@example.com:99999/?token=t0p-s3cret",
                 "the port must be a number from 1 to 65535"},
         }) {
        CAPTURE(bad.url);
        const auto result = ActionSender::ValidateUrl(bad.url);
        REQUIRE_FALSE(result.has_value());
        CHECK(result.error().code == ErrorCode::kInvalidInput);
        CHECK(result.error().message.starts_with("actions_url: "));
        CHECK(result.error().message.find(bad.reason) != std::string::npos);
        CHECK(result.error().message.find("hunter2") == std::string::npos);
        CHECK(result.error().message.find("t0p-s3cret") == std::string::npos);
    }
}

TEST_CASE("ActionSender built from a bad URL rejects every delivery without sending") {
    ActionSender sender("ftp://admin:hunter2@example.com/");
    const auto result = sender.Deliver(MakeAction());
    CHECK(result.status == DeliveryStatus::kRejected);
    CHECK(result.error == "actions_url: scheme must be http or https");
}

}  // namespace fg::adapters::generic
