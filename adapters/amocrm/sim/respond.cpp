#include "adapters/amocrm/sim/respond.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;

std::vector<std::string> Split(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = text.find(',', start);
        const std::string part =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!part.empty()) {
            out.push_back(part);
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    return out;
}

std::string PageHref(const std::string& base_url, const httplib::Request& req, int page,
                     int limit) {
    std::string query;
    for (const auto& [key, value] : req.params) {
        if (key == "page" || key == "limit") {
            continue;
        }
        query += UrlEncode(key) + "=" + UrlEncode(value) + "&";
    }
    query += fmt::format("page={}&limit={}", page, limit);
    return fmt::format("{}{}?{}", base_url, req.path, query);
}

}  // namespace

std::string Dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void Hal(httplib::Response& res, const json& body, int status) {
    res.status = status;
    res.set_content(Dump(body), "application/hal+json");
}

void Problem(httplib::Response& res, int status, std::string_view title, std::string_view detail,
             json extra) {
    json body = {{"title", title},
                 {"type", fmt::format("https://httpstatus.es/{}", status)},
                 {"status", status},
                 {"detail", detail}};
    body.update(extra);
    res.status = status;
    res.set_content(Dump(body), "application/problem+json");
}

void ValidationProblem(httplib::Response& res,
                       const std::vector<std::pair<std::string, FieldErrors>>& items) {
    json list = json::array();
    for (const auto& [request_id, errors] : items) {
        json entries = json::array();
        for (const FieldError& error : errors) {
            entries.push_back(
                {{"code", error.code}, {"path", error.path}, {"detail", error.detail}});
        }
        list.push_back({{"request_id", request_id}, {"errors", std::move(entries)}});
    }
    json body = {{"validation-errors", std::move(list)},
                 {"title", "Bad Request"},
                 {"type", "https://httpstatus.es/400"},
                 {"status", 400},
                 {"detail", "Request validation failed"}};
    res.status = 400;
    res.set_content(Dump(body), "application/problem+json");
}

std::optional<std::int64_t> ParseInt(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return value;
}

std::vector<std::string> ParamList(const httplib::Request& req, const std::string& name) {
    std::vector<std::string> out;
    for (const auto& [key, value] : req.params) {
        if (key == name || key == name + "[]" ||
            (key.size() > name.size() + 2 && key.compare(0, name.size() + 1, name + "[") == 0 &&
             key.back() == ']' &&
             ParseInt(
                 std::string_view(key).substr(name.size() + 1, key.size() - name.size() - 2)))) {
            for (std::string& part : Split(value)) {
                out.push_back(std::move(part));
            }
        }
    }
    return out;
}

bool HasWith(const httplib::Request& req, std::string_view name) {
    for (const std::string& value : ParamList(req, "with")) {
        if (value == name) {
            return true;
        }
    }
    return false;
}

std::string UrlEncode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
            (byte >= '0' && byte <= '9') || byte == '-' || byte == '_' || byte == '.' ||
            byte == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 0x0f];
        }
    }
    return out;
}

std::optional<Paging> ReadPaging(const httplib::Request& req, httplib::Response& res, int max_limit,
                                 int default_limit) {
    Paging paging{.page = 1, .limit = default_limit};
    if (req.has_param("page")) {
        const auto page = ParseInt(req.get_param_value("page"));
        if (!page || *page < 1) {
            ValidationProblem(res, {{"0", {InvalidType("page", "int")}}});
            return std::nullopt;
        }
        paging.page = static_cast<int>(std::min<std::int64_t>(*page, 1'000'000));
    }
    if (req.has_param("limit")) {
        const auto limit = ParseInt(req.get_param_value("limit"));
        if (!limit || *limit < 1) {
            ValidationProblem(res, {{"0", {InvalidType("limit", "int")}}});
            return std::nullopt;
        }
        if (*limit > max_limit) {
            Problem(res, 422, "Unprocessable Entity", fmt::format("Limit {} per page", max_limit));
            return std::nullopt;
        }
        paging.limit = static_cast<int>(*limit);
    }
    return paging;
}

void RespondPage(const std::string& base_url, const httplib::Request& req, httplib::Response& res,
                 const Paging& paging, const std::string& key, json items,
                 std::optional<std::size_t> total) {
    if (items.empty()) {
        res.status = 204;
        return;
    }
    json links = {{"self", {{"href", PageHref(base_url, req, paging.page, paging.limit)}}}};
    if (static_cast<int>(items.size()) == paging.limit) {
        links["next"] = {{"href", PageHref(base_url, req, paging.page + 1, paging.limit)}};
    }
    if (paging.page > 1) {
        links["prev"] = {{"href", PageHref(base_url, req, paging.page - 1, paging.limit)}};
    }
    json body;
    if (total) {
        body["_total_items"] = *total;
        body["_page_count"] = (*total + static_cast<std::size_t>(paging.limit) - 1) /
                              static_cast<std::size_t>(paging.limit);
    }
    body["_page"] = paging.page;
    body["_links"] = std::move(links);
    body["_embedded"] = {{key, std::move(items)}};
    Hal(res, body);
}

}  // namespace fg::adapters::amocrm::sim
