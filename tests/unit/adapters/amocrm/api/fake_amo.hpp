#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/api/client.hpp"
#include "src/common/clock.hpp"
#include "tests/support/fake_http_server.hpp"

namespace fg::adapters::amocrm::testing {

/// One request as the fake saw it.
struct Seen {
    std::string method{};
    std::string path{};
    std::multimap<std::string, std::string> params{};  // decoded query
    std::string body{};
    std::string authorization{};
    std::string content_type{};
    std::chrono::steady_clock::time_point at{};

    std::string Param(const std::string& key) const;
    nlohmann::json Json() const { return nlohmann::json::parse(body); }
};

/// An httplib server on 127.0.0.1, port 0, answering every method and path through a handler
/// the test sets, and recording every request.
class FakeAmo {
public:
    using Handler = fg::testing::FakeHttpServer::Handler;

    /// Without a handler every request is answered 204.
    explicit FakeAmo(Handler handler = {});
    FakeAmo(const FakeAmo&) = delete;
    FakeAmo& operator=(const FakeAmo&) = delete;

    void SetHandler(Handler handler);
    std::string BaseUrl() const;
    int port() const { return server_.port(); }

    std::vector<Seen> Requests() const;
    std::vector<Seen> Requests(const std::string& method, const std::string& path) const;
    std::size_t Count(const std::string& method, const std::string& path) const;

private:
    fg::testing::FakeHttpServer server_;
};

void Reply(httplib::Response& response, const nlohmann::json& body, int status = 200);

/// A list answer: {"_page":.., "_links":{"self":..,"next":..}, "_embedded":{key: items}}.
nlohmann::json ListBody(const std::string& key, const nlohmann::json& items,
                        const std::string& next_href = "");

/// The pipelines sample of reference §2.3 (pipeline 3177727) plus a second pipeline 4000.
nlohmann::json PipelinesBody();

/// Options for a client of `fake` with a long-lived token, a fast limiter and recorded waits.
ClientOptions TestOptions(const FakeAmo& fake, std::vector<std::chrono::milliseconds>* waits,
                          const Clock* clock);

inline constexpr const char* kToken = "long-lived-SECRET-token-0123456789";

}  // namespace fg::adapters::amocrm::testing
