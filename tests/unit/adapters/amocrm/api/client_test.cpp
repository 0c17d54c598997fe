#include "adapters/amocrm/api/client.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include <doctest/doctest.h>

#include "fake_amo.hpp"

namespace fg::adapters::amocrm {
namespace {

using testing::FakeAmo;
using testing::kToken;
using testing::Reply;
using testing::TestOptions;
using Ms = std::chrono::milliseconds;

const ManualClock kClock{FromEpoch(1767225600)};  // 2026-01-01T00:00:00Z

TEST_CASE("Client sends the Bearer token and reads a page") {
    FakeAmo fake([](const httplib::Request&, httplib::Response& response) {
        Reply(response, testing::ListBody("leads", {{{"id", 1}}, {{"id", 2}}}));
    });
    Client client(TestOptions(fake, nullptr, &kClock));
    auto page = client.GetPage("/api/v4/leads?limit=250&page=1", "leads");
    REQUIRE(page);
    CHECK(page->items.size() == 2);
    CHECK_FALSE(page->next);
    const auto seen = fake.Requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "GET");
    CHECK(seen[0].path == "/api/v4/leads");
    CHECK(seen[0].Param("limit") == "250");
    CHECK(seen[0].authorization == std::string("Bearer ") + kToken);
}

TEST_CASE("Client pagination follows _links.next by path and query and ends at 204") {
    FakeAmo fake([](const httplib::Request& request, httplib::Response& response) {
        const std::string page = request.get_param_value("page");
        if (page.empty() || page == "1") {
            // An absolute link on the account's own host, as amoCRM writes them.
            Reply(response, testing::ListBody("custom_fields", {{{"id", 1}}, {{"id", 2}}},
                                              "https://example.amocrm.ru/api/v4/leads/"
                                              "custom_fields?limit=2&page=2"));
        } else if (page == "2") {
            // amoCRM generates next even when the next page is empty (reference §2.1).
            Reply(response, testing::ListBody("custom_fields", {{{"id", 3}}},
                                              "https://example.amocrm.ru/api/v4/leads/"
                                              "custom_fields?limit=2&page=3"));
        } else {
            response.status = 204;
        }
    });
    Client client(TestOptions(fake, nullptr, &kClock));
    auto all = client.GetAll("/api/v4/leads/custom_fields?limit=2", "custom_fields");
    REQUIRE(all);
    CHECK(all->size() == 3);
    const auto seen = fake.Requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[1].path == "/api/v4/leads/custom_fields");
    CHECK(seen[1].Param("page") == "2");
    CHECK(seen[2].Param("page") == "3");
    CHECK(seen[2].Param("limit") == "2");

    SUBCASE("an empty _embedded list ends it too, whatever next says") {
        fake.SetHandler([](const httplib::Request&, httplib::Response& response) {
            Reply(response, testing::ListBody("custom_fields", nlohmann::json::array(),
                                              "https://example.amocrm.ru/api/v4/x?page=9"));
        });
        auto empty = client.GetAll("/api/v4/leads/custom_fields", "custom_fields");
        REQUIRE(empty);
        CHECK(empty->empty());
        CHECK(fake.Requests().size() == 4);
    }
}

TEST_CASE("Client retries a 429 with an HTML body and no Retry-After after a backoff") {
    std::atomic<int> calls{0};
    FakeAmo fake([&calls](const httplib::Request&, httplib::Response& response) {
        if (calls++ == 0) {
            response.status = 429;
            response.set_content("<html><body><h1>429 Too Many Requests</h1></body></html>",
                                 "text/html");
            return;
        }
        Reply(response, {{"id", 1}});
    });
    std::vector<Ms> waits;
    Client client(TestOptions(fake, &waits, &kClock));
    auto json = client.GetJson("/api/v4/account");
    REQUIRE(json);
    CHECK(json->at("id") == 1);
    CHECK(fake.Requests().size() == 2);
    REQUIRE(waits.size() == 1);
    CHECK(waits[0] >= Ms{1000});  // the backoff's floor
    CHECK(waits[0] <= Ms{30000});
    CHECK(client.Blocked().empty());
}

TEST_CASE("Client honours Retry-After and the JSON retry_after") {
    std::atomic<int> calls{0};
    std::string header;
    std::string body;
    int status = 429;
    SUBCASE("header") {
        header = "7";
        status = 503;
    }
    SUBCASE("documented JSON body") {
        body = R"({"title":"Too Many Requests","status":429,"retry_after":3})";
    }
    FakeAmo fake([&](const httplib::Request&, httplib::Response& response) {
        if (calls++ == 0) {
            response.status = status;
            if (!header.empty()) {
                response.set_header("Retry-After", header);
            }
            response.set_content(body, "application/problem+json");
            return;
        }
        Reply(response, {{"ok", true}});
    });
    std::vector<Ms> waits;
    Client client(TestOptions(fake, &waits, &kClock));
    REQUIRE(client.GetJson("/api/v4/account"));
    REQUIRE(waits.size() == 1);
    CHECK(waits[0] == (header.empty() ? Ms{3000} : Ms{7000}));
}

TEST_CASE("Client gives up at once when Retry-After is beyond max_retry_wait") {
    FakeAmo fake([](const httplib::Request&, httplib::Response& response) {
        Reply(response, {{"title", "Too Many Requests"}, {"status", 429}, {"retry_after", 300}},
              429);
    });
    std::vector<Ms> waits;
    Client client(TestOptions(fake, &waits, &kClock));
    auto json = client.GetJson("/api/v4/leads?page=1");
    REQUIRE_FALSE(json);
    CHECK(json.error().code == ErrorCode::kUnavailable);
    CHECK(json.error().message.find("retry after 300s") != std::string::npos);
    CHECK(json.error().message.find("page=1") == std::string::npos);  // path only
    CHECK(waits.empty());
    CHECK(fake.Requests().size() == 1);
}

TEST_CASE("Client retries connection failures with backoff, then reports kUnavailable") {
    int dead_port = 0;
    {
        FakeAmo gone;
        dead_port = gone.port();
    }
    FakeAmo fake;  // only for TestOptions' shape
    std::vector<Ms> waits;
    ClientOptions options = TestOptions(fake, &waits, &kClock);
    options.base_url = "http://127.0.0.1:" + std::to_string(dead_port);
    options.max_attempts = 3;
    Client client(options);
    auto json = client.GetJson("/api/v4/account");
    REQUIRE_FALSE(json);
    CHECK(json.error().code == ErrorCode::kUnavailable);
    CHECK(json.error().message.find("transport error: 127.0.0.1:" + std::to_string(dead_port) +
                                    ": cannot connect: connection refused") != std::string::npos);
    CHECK(waits.size() == 2);
    CHECK(json.error().message.find(kToken) == std::string::npos);
}

TEST_CASE("Client never starts more than rps requests in any second, across threads") {
    FakeAmo fake([](const httplib::Request&, httplib::Response& response) {
        Reply(response, {{"ok", true}});
    });
    ClientOptions options = TestOptions(fake, nullptr, &kClock);
    options.rps = 10;
    options.rate_guard = std::chrono::milliseconds{150};  // room for a loaded test machine
    Client client(options);
    std::vector<std::thread> callers;
    for (int t = 0; t < 3; ++t) {
        callers.emplace_back([&client] {
            for (int i = 0; i < 9; ++i) {
                CHECK(client.GetJson("/api/v4/account"));
            }
        });
    }
    for (std::thread& caller : callers) {
        caller.join();
    }
    const auto seen = fake.Requests();
    REQUIRE(seen.size() == 27);
    // Count, at the fake, the requests in every one-second window that starts at a request.
    std::size_t worst = 0;
    for (const auto& first : seen) {
        const auto in_window = std::count_if(seen.begin(), seen.end(), [&first](const auto& other) {
            return other.at >= first.at && other.at < first.at + std::chrono::seconds{1};
        });
        worst = std::max(worst, static_cast<std::size_t>(in_window));
    }
    CHECK(worst <= 10);
    CHECK(worst >= 5);  // the limiter paces; it does not serialize to a crawl
}

TEST_CASE("Client treats a 403 HTML page as an account block and fails fast afterwards") {
    FakeAmo fake([](const httplib::Request&, httplib::Response& response) {
        response.status = 403;
        response.set_content(
            "<html><head><title>403 Forbidden</title></head><body><center><h1>403 "
            "Forbidden</h1></center><hr><center>nginx</center></body></html>",
            "text/html");
    });
    std::vector<Ms> waits;
    Client client(TestOptions(fake, &waits, &kClock));
    CHECK(client.Blocked().empty());
    auto first = client.GetJson("/api/v4/leads");
    REQUIRE_FALSE(first);
    CHECK(first.error().code == ErrorCode::kUnavailable);
    CHECK_FALSE(client.Blocked().empty());
    CHECK(client.Blocked().find("403") != std::string::npos);
    CHECK(waits.empty());  // a block is not retried

    auto second = client.GetJson("/api/v4/tasks");
    REQUIRE_FALSE(second);
    CHECK(second.error().code == ErrorCode::kUnavailable);
    CHECK(second.error().message == client.Blocked());
    CHECK(fake.Requests().size() == 1);  // failed fast, nothing sent
}

TEST_CASE("Client reads a JSON 403 as missing rights, not a block") {
    FakeAmo fake([](const httplib::Request&, httplib::Response& response) {
        Reply(response, {{"title", "Forbidden"}, {"status", 403}, {"detail", "Access denied"}},
              403);
    });
    Client client(TestOptions(fake, nullptr, &kClock));
    auto json = client.GetJson("/api/v4/leads/1");
    REQUIRE_FALSE(json);
    CHECK(json.error().code == ErrorCode::kUnauthorized);
    CHECK(client.Blocked().empty());
}

TEST_CASE("Client reports a refused long-lived token without repeating it") {
    FakeAmo fake([](const httplib::Request&, httplib::Response& response) {
        Reply(response,
              {{"title", "Unauthorized"},
               {"status", 401},
               {"detail", std::string("Token ") + kToken + " is invalid"}},
              401);
    });
    Client client(TestOptions(fake, nullptr, &kClock));
    auto json = client.GetJson("/api/v4/leads");
    REQUIRE_FALSE(json);
    CHECK(json.error().code == ErrorCode::kUnauthorized);
    CHECK(json.error().message.find(kToken) == std::string::npos);
    CHECK(fake.Requests().size() == 1);
}

TEST_CASE("Client error bodies are redacted of known secrets") {
    FakeAmo fake([](const httplib::Request&, httplib::Response& response) {
        Reply(response, {{"title", "Bad Request"}, {"detail", std::string("echo ") + kToken}}, 400);
    });
    Client client(TestOptions(fake, nullptr, &kClock));
    auto json = client.GetJson("/api/v4/leads");
    REQUIRE_FALSE(json);
    CHECK(json.error().code == ErrorCode::kInvalidInput);
    CHECK(json.error().message.find(kToken) == std::string::npos);
    CHECK(json.error().message.find("[redacted]") != std::string::npos);
}

TEST_CASE("Client options are validated") {
    ClientOptions options;
    options.subdomain = "acme";
    CHECK_FALSE(Client::Validate(options));  // no credentials
    options.token = "t";
    CHECK(Client::Validate(options));
    options.subdomain = "evil.com/x";
    CHECK_FALSE(Client::Validate(options));
    options.base_url = "ftp://x";
    CHECK_FALSE(Client::Validate(options));
    options.base_url = "http://127.0.0.1:8080/prefix/";
    CHECK(Client::Validate(options));
    options.oauth = OAuthApp{.client_id = "id", .client_secret = "s", .redirect_uri = "https://r"};
    options.token.clear();
    CHECK_FALSE(Client::Validate(options));  // OAuth without a token store
}

TEST_CASE("LinkTarget keeps only an /api/v4/ path and query") {
    CHECK(LinkTarget("https://example.amocrm.ru/api/v4/leads?page=2&limit=250") ==
          "/api/v4/leads?page=2&limit=250");
    CHECK(LinkTarget("https://evil.example/api/v4/leads?page=2") == "/api/v4/leads?page=2");
    CHECK(LinkTarget("/api/v4/events?page=3") == "/api/v4/events?page=3");
    CHECK_FALSE(LinkTarget("https://example.amocrm.ru/oauth2/access_token"));
    CHECK_FALSE(LinkTarget("https://example.amocrm.ru"));
    CHECK(QueryEncode("https://fg.example/hooks/amocrm/a/s?x=1") ==
          "https%3A%2F%2Ffg.example%2Fhooks%2Famocrm%2Fa%2Fs%3Fx%3D1");
}

}  // namespace
TEST_CASE("AccountLimiter: after a 429 no caller starts a request for a whole window") {
    using Steady = std::chrono::steady_clock;
    AccountLimiter limiter(7, Ms{50});
    limiter.Acquire();
    limiter.HoldAfterRefusal();
    const Steady::time_point held = Steady::now();
    std::atomic<Steady::time_point::rep> other_started{0};
    std::thread other([&] {
        limiter.Acquire();
        other_started = Steady::now().time_since_epoch().count();
    });
    limiter.Acquire();
    const Steady::time_point started = Steady::now();
    other.join();
    // A lower bound only: the window (1 s + guard) has to pass for both callers.
    CHECK(started - held >= Ms{1000});
    CHECK(Steady::time_point(Steady::duration(other_started.load())) - held >= Ms{1000});
}

}  // namespace fg::adapters::amocrm
