#include "tests/unit/adapters/bitrix24/fake_portal.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include "adapters/bitrix24/wire/form.hpp"

namespace fg::adapters::bitrix24::testing {

using nlohmann::json;

Reply Ok(json result, std::optional<std::int64_t> total, std::optional<std::int64_t> next) {
    json body = {{"result", std::move(result)},
                 {"time",
                  {{"start", 1725292115.026221},
                   {"finish", 1725292115.907058},
                   {"duration", 0.88},
                   {"operating", 0}}}};
    if (total) {
        body["total"] = *total;
    }
    if (next) {
        body["next"] = *next;
    }
    return {.status = 200, .body = std::move(body), .headers = {}};
}

Reply Fail(int status, std::string code, std::string description) {
    return {.status = status,
            .body = {{"error", std::move(code)}, {"error_description", std::move(description)}},
            .headers = {}};
}

FakePortal::FakePortal() {
    server_.ServeAll([this](const httplib::Request& request, httplib::Response& response) {
        // /rest/<user>/<token>/<method>.json or /rest/<method>.json
        std::string method = request.path.substr(request.path.rfind('/') + 1);
        if (method.ends_with(".json")) {
            method.resize(method.size() - 5);
        }
        json params = json::parse(request.body, nullptr, false);
        if (!params.is_object()) {
            params = json::object();
        }
        const Reply reply = method == "batch" ? Batch(params, request.path)
                                              : Answer(method, params, false, request.path);
        response.status = reply.status;
        for (const auto& [name, value] : reply.headers) {
            response.set_header(name, value);
        }
        response.set_content(reply.body.dump(), "application/json");
    });
    server_.Start();
}

void FakePortal::On(const std::string& method, Handler handler) {
    const std::lock_guard lock(mutex_);
    handlers_[method] = std::move(handler);
}

void FakePortal::On(const std::string& method, Reply reply) {
    On(method, [reply](const json&) { return reply; });
}

std::vector<Call> FakePortal::Calls() const {
    const std::lock_guard lock(mutex_);
    return calls_;
}

std::vector<Call> FakePortal::CallsOf(const std::string& method) const {
    std::vector<Call> of;
    for (const Call& call : Calls()) {
        if (call.method == method) {
            of.push_back(call);
        }
    }
    return of;
}

Reply FakePortal::Answer(const std::string& method, const json& params, bool in_batch,
                         const std::string& path) {
    Handler handler;
    {
        const std::lock_guard lock(mutex_);
        calls_.push_back({.method = method, .params = params, .in_batch = in_batch, .path = path});
        const auto found = handlers_.find(method);
        if (found != handlers_.end()) {
            handler = found->second;
        }
    }
    if (!handler) {
        return Fail(404, "ERROR_METHOD_NOT_FOUND", "Method not found!");
    }
    return handler(params);
}

namespace {

// A sub-call's `$result[name][key]...` as the portal resolves it: the value an earlier sub-call
// of the batch produced, or empty when there is none (e.g. after a short page).
std::string Substitute(const std::string& command, const json& results) {
    static const std::regex kReference(R"(\$result((?:\[[^\]]*\])+))");
    std::string out;
    std::size_t last = 0;
    for (auto it = std::sregex_iterator(command.begin(), command.end(), kReference);
         it != std::sregex_iterator(); ++it) {
        out.append(command, last, static_cast<std::size_t>(it->position()) - last);
        last = static_cast<std::size_t>(it->position() + it->length());
        const std::string path = (*it)[1].str();
        const json* node = &results;
        for (std::size_t at = 0; at < path.size() && node != nullptr;) {
            const std::size_t close = path.find(']', at);
            const std::string key = path.substr(at + 1, close - at - 1);
            at = close + 1;
            const bool index = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
                return std::isdigit(static_cast<unsigned char>(c)) != 0;
            });
            if (node->is_object() && node->contains(key)) {
                node = &(*node)[key];
            } else if (node->is_array() && index && std::stoul(key) < node->size()) {
                node = &(*node)[std::stoul(key)];
            } else {
                node = nullptr;
            }
        }
        if (node != nullptr && node->is_string()) {
            out += node->get<std::string>();
        } else if (node != nullptr && node->is_number()) {
            out += node->dump();
        }
    }
    out.append(command, last);
    return out;
}

}  // namespace

// As the portal runs a batch: each "method?query" through its handler; failures in
// result_error, and PHP's [] for every empty map.
Reply FakePortal::Batch(const json& params, const std::string& path) {
    {
        const std::lock_guard lock(mutex_);
        calls_.push_back({.method = "batch", .params = params, .in_batch = false, .path = path});
    }
    json results = json::object();
    json errors = json::object();
    json totals = json::object();
    json nexts = json::object();
    const json cmd = params.value("cmd", json::object());
    if (cmd.size() > 50) {
        return Fail(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded");
    }
    for (auto it = cmd.begin(); it != cmd.end(); ++it) {
        const std::string command = Substitute(it->get<std::string>(), results);
        const std::size_t question = command.find('?');
        const std::string method = command.substr(0, question);
        json sub = json::object();
        if (question != std::string::npos) {
            auto parsed = form::Parse(command.substr(question + 1));
            if (parsed) {
                sub = *parsed;
            }
        }
        const Reply reply = Answer(method, sub, true, path);
        if (reply.status != 200) {
            errors[it.key()] = reply.body;
            continue;
        }
        results[it.key()] = reply.body["result"];
        if (reply.body.contains("total")) {
            totals[it.key()] = reply.body["total"];
        }
        if (reply.body.contains("next")) {
            nexts[it.key()] = reply.body["next"];
        }
    }
    const auto php = [](json map) { return map.empty() ? json::array() : map; };
    return Ok({{"result", php(results)},
               {"result_error", php(errors)},
               {"result_total", php(totals)},
               {"result_next", php(nexts)},
               {"result_time", json::array()}});
}

}  // namespace fg::adapters::bitrix24::testing
