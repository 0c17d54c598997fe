#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/validation.hpp"

namespace fg::adapters::amocrm::sim {

// HTTP plumbing the route files share: amoCRM's response envelopes and request parameters.

/// JSON text as the simulator sends it (invalid UTF-8 replaced, never thrown).
std::string Dump(const nlohmann::json& value);

/// A success body: application/hal+json.
void Hal(httplib::Response& res, const nlohmann::json& body, int status = 200);

/// An error body: application/problem+json with title, type, status, detail (+ `extra`).
void Problem(httplib::Response& res, int status, std::string_view title, std::string_view detail,
             nlohmann::json extra = nlohmann::json::object());

/// amoCRM's 400 with "validation-errors" (amocrm.md §4): one entry per request_id.
void ValidationProblem(httplib::Response& res,
                       const std::vector<std::pair<std::string, FieldErrors>>& items);

/// A whole decimal integer (no sign games, no trailing bytes).
std::optional<std::int64_t> ParseInt(std::string_view text);

/// Values of `name`, `name[]` and `name[<n>]` parameters, comma lists split.
std::vector<std::string> ParamList(const httplib::Request& req, const std::string& name);

/// True when `with` (comma list or repeated) names `name`.
bool HasWith(const httplib::Request& req, std::string_view name);

std::string UrlEncode(std::string_view text);

struct Paging {
    int page = 1;
    int limit = 50;
    std::size_t Offset() const {
        return static_cast<std::size_t>(page - 1) * static_cast<std::size_t>(limit);
    }
};

/// page/limit: bad values are 400 validation errors, a limit over `max_limit` is amoCRM's 422
/// "Limit N per page". nullopt when the error response is already set.
std::optional<Paging> ReadPaging(const httplib::Request& req, httplib::Response& res, int max_limit,
                                 int default_limit);

/// A page of a list: 204 when empty; `_links.next` whenever the page is full (it may lead to an
/// empty page, as amoCRM's does). `base_url` prefixes the links.
void RespondPage(const std::string& base_url, const httplib::Request& req, httplib::Response& res,
                 const Paging& paging, const std::string& key, nlohmann::json items,
                 std::optional<std::size_t> total = std::nullopt);

}  // namespace fg::adapters::amocrm::sim
