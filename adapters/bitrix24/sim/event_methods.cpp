#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/bitrix24/sim/params.hpp"
#include "adapters/bitrix24/sim/simulator_impl.hpp"

// event.bind / unbind / get, and batch.

namespace fg::adapters::bitrix24::sim {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxBatch = 50;

bool KnownEvent(const std::string& name) {
    static const char* const kEvents[] = {"ONCRMDEALADD",
                                          "ONCRMDEALUPDATE",
                                          "ONCRMDEALDELETE",
                                          "ONCRMDEALMOVETOCATEGORY",
                                          "ONCRMACTIVITYADD",
                                          "ONCRMACTIVITYUPDATE",
                                          "ONCRMACTIVITYDELETE",
                                          "ONCRMTIMELINECOMMENTADD",
                                          "ONCRMTIMELINECOMMENTUPDATE",
                                          "ONCRMTIMELINECOMMENTDELETE",
                                          "ONTASKADD",
                                          "ONTASKUPDATE",
                                          "ONTASKDELETE",
                                          "ONTASKCOMMENTADD",
                                          "ONCRMLEADADD",
                                          "ONCRMLEADUPDATE",
                                          "ONCRMLEADDELETE",
                                          "ONCRMCONTACTADD",
                                          "ONCRMCONTACTUPDATE",
                                          "ONCRMCONTACTDELETE",
                                          "ONCRMCOMPANYADD",
                                          "ONCRMCOMPANYUPDATE",
                                          "ONCRMCOMPANYDELETE",
                                          "ONAPPUNINSTALL"};
    for (const char* known : kEvents) {
        if (name == known) {
            return true;
        }
    }
    return false;
}

std::string Upper(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return text;
}

Reply EventOk(json result) {
    Reply reply;
    reply.result = std::move(result);
    return reply;
}

Reply AppOnly() {
    // event.bind and friends need an app's OAuth context (bitrix24.md §2.1).
    return Reply::Fail(403, "WRONG_AUTH_TYPE",
                       "Current authorization type is denied for this method");
}

Reply EventBind(Simulator::Impl& s, const json& params, const Caller& caller) {
    if (!caller.app) {
        return AppOnly();
    }
    const json* event = Find(params, "event");
    const json* handler = Find(params, "handler");
    if (event == nullptr || handler == nullptr) {
        return Reply::Fail(400, "ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameters missing");
    }
    const std::string name = Upper(Text(*event));
    const std::string url = Text(*handler);
    if (!KnownEvent(name)) {
        return Reply::Fail(400, "ERROR_EVENT_NOT_FOUND", "Event not found");
    }
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        return Reply::Fail(400, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL");
    }
    for (const SimHandler& bound : s.model.handlers) {
        if (bound.app && bound.event == name && bound.url == url) {
            return Reply::Fail(400, "ERROR_HANDLER_ALREADY_EXIST", "Handler already binded");
        }
    }
    s.model.handlers.push_back(
        SimHandler{.id = s.model.next_handler++, .event = name, .url = url, .app = true});
    return EventOk(true);
}

Reply EventUnbind(Simulator::Impl& s, const json& params, const Caller& caller) {
    if (!caller.app) {
        return AppOnly();
    }
    const json* event = Find(params, "event");
    const json* handler = Find(params, "handler");
    if (event == nullptr || handler == nullptr) {
        return Reply::Fail(400, "ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameters missing");
    }
    const std::string name = Upper(Text(*event));
    const std::string url = Text(*handler);
    const auto removed = std::erase_if(s.model.handlers, [&](const SimHandler& bound) {
        return bound.app && bound.event == name && bound.url == url;
    });
    return EventOk({{"count", removed}});
}

Reply EventGet(Simulator::Impl& s, const json&, const Caller& caller) {
    if (!caller.app) {
        return AppOnly();
    }
    json rows = json::array();
    for (const SimHandler& bound : s.model.handlers) {
        if (bound.app) {
            rows.push_back({{"event", bound.event},
                            {"handler", bound.url},
                            {"auth_type", "0"},
                            {"offline", 0}});
        }
    }
    return EventOk(std::move(rows));
}

// $result[name][key]... in a sub-call's query: the value an earlier sub-call produced.
std::string Substitute(const std::string& query, const json& results) {
    static const std::regex kReference(R"(\$result((?:\[[^\]]*\])+))");
    std::string out;
    auto begin = std::sregex_iterator(query.begin(), query.end(), kReference);
    std::size_t last = 0;
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
        const std::smatch& match = *it;
        out.append(query, last, static_cast<std::size_t>(match.position()) - last);
        last = static_cast<std::size_t>(match.position() + match.length());
        const std::string path = match[1].str();
        const json* node = &results;
        for (std::size_t at = 0; at < path.size() && node != nullptr;) {
            const std::size_t close = path.find(']', at);
            const std::string key = path.substr(at + 1, close - at - 1);
            at = close + 1;
            if (node->is_object() && node->contains(key)) {
                node = &(*node)[key];
            } else if (node->is_array() && !key.empty() &&
                       std::all_of(key.begin(), key.end(), ::isdigit) &&
                       std::stoul(key) < node->size()) {
                node = &(*node)[std::stoul(key)];
            } else {
                node = nullptr;
            }
        }
        if (node != nullptr && !node->is_structured()) {
            out += FormEncode(Text(*node));
        }
    }
    out.append(query, last);
    return out;
}

// PHP's output for a keyed map: [] when empty, a list for keys 0..n-1 of a list cmd.
json PhpMap(const json& map, bool list) {
    if (map.empty()) {
        return json::array();
    }
    if (list) {
        json array = json::array();
        for (std::size_t i = 0; i < map.size(); ++i) {
            const auto it = map.find(std::to_string(i));
            if (it == map.end()) {
                return map;
            }
            array.push_back(*it);
        }
        return array;
    }
    return map;
}

Reply Batch(Simulator::Impl& s, const json& params, const Caller& caller) {
    const json* cmd = Find(params, "cmd");
    if (cmd == nullptr || !(cmd->is_object() || cmd->is_array()) || cmd->empty()) {
        return Reply::Fail(400, "ERROR_ARGUMENT", "Argument 'cmd' is null or empty");
    }
    if (cmd->size() > kMaxBatch) {
        return Reply::Fail(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded");
    }
    const bool halt = Flag(Find(params, "halt")).value_or(false);
    const bool list = cmd->is_array();
    std::vector<std::pair<std::string, std::string>> calls;
    if (list) {
        for (std::size_t i = 0; i < cmd->size(); ++i) {
            calls.emplace_back(std::to_string(i), Text((*cmd)[i]));
        }
    } else {
        for (const auto& [name, text] : cmd->items()) {
            calls.emplace_back(name, Text(text));
        }
    }
    json results = json::object();
    json errors = json::object();
    json totals = json::object();
    json nexts = json::object();
    json times = json::object();
    for (const auto& [name, text] : calls) {
        const std::size_t question = text.find('?');
        const std::string method = text.substr(0, question);
        const std::string query =
            question == std::string::npos ? "" : Substitute(text.substr(question + 1), results);
        const Timestamp start = s.clock->Now();
        Reply reply;
        if (method == "batch") {
            reply = Reply::Fail(405, "ERROR_BATCH_METHOD_NOT_ALLOWED",
                                "Method is not allowed for batch usage");
        } else {
            json sub = ParseForm(query);
            sub.erase("auth");
            reply = s.Call(method, sub, caller);
        }
        times[name] = s.TimeBlock(method, start);
        if (!reply.ok()) {
            errors[name] = {{"error", reply.error}, {"error_description", reply.description}};
            if (halt) {
                break;
            }
            continue;
        }
        results[name] = std::move(reply.result);
        if (reply.total) {
            totals[name] = *reply.total;
        }
        if (reply.next) {
            nexts[name] = *reply.next;
        }
    }
    return EventOk({{"result", PhpMap(results, list)},
                    {"result_error", PhpMap(errors, list)},
                    {"result_total", PhpMap(totals, list)},
                    {"result_next", PhpMap(nexts, list)},
                    {"result_time", PhpMap(times, list)}});
}

}  // namespace

void Simulator::Impl::RegisterEventMethods() {
    methods["event.bind"] = &EventBind;
    methods["event.unbind"] = &EventUnbind;
    methods["event.get"] = &EventGet;
    methods["batch"] = &Batch;
}

}  // namespace fg::adapters::bitrix24::sim
