#pragma once

// A loopback stand-in for a Bitrix24 portal's REST API: canned answers per method (copied from
// reference/bitrix24.md's samples by the tests), and `batch` served the way the portal serves it,
// by running each sub-call through the same answers.

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/fake_http_server.hpp"

namespace fg::adapters::bitrix24::testing {

/// What the fake answers one call with: a status and a JSON body.
struct Reply {
    int status = 200;
    nlohmann::json body{};
    std::vector<std::pair<std::string, std::string>> headers{};
};

/// {"result": result, "time": {...}} with `total`/`next` when given.
Reply Ok(nlohmann::json result, std::optional<std::int64_t> total = std::nullopt,
         std::optional<std::int64_t> next = std::nullopt);
/// {"error": code, "error_description": description} with `status`.
Reply Fail(int status, std::string code, std::string description);

/// One REST call as the fake saw it: the method and its parameters (a batch's sub-calls are
/// recorded too, after the batch, with `in_batch`).
struct Call {
    std::string method{};
    nlohmann::json params{};
    bool in_batch = false;
    std::string path{};
};

class FakePortal {
public:
    using Handler = std::function<Reply(const nlohmann::json& params)>;

    FakePortal();
    /// Answers `method` with `handler` (replacing an earlier one).
    void On(const std::string& method, Handler handler);
    void On(const std::string& method, Reply reply);
    /// Everything not answered otherwise is ERROR_METHOD_NOT_FOUND, 404.

    /// "http://127.0.0.1:<port>": a portal_url.
    std::string Url() const { return server_.Url(); }
    std::vector<Call> Calls() const;
    /// Calls of `method` only.
    std::vector<Call> CallsOf(const std::string& method) const;
    /// HTTP requests (a batch is one).
    std::size_t Requests() const { return server_.Count(); }
    std::vector<fg::testing::RecordedRequest> Recorded() const { return server_.Requests(); }

private:
    Reply Answer(const std::string& method, const nlohmann::json& params, bool in_batch,
                 const std::string& path);
    Reply Batch(const nlohmann::json& params, const std::string& path);

    mutable std::mutex mutex_;
    std::map<std::string, Handler> handlers_;
    std::vector<Call> calls_;
    fg::testing::FakeHttpServer server_;
};

}  // namespace fg::adapters::bitrix24::testing
