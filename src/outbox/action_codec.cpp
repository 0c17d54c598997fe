#include "src/outbox/action_codec.hpp"

#include <utility>

#include <fmt/format.h>

namespace fg::outbox {
namespace {

using Json = nlohmann::json;

Error Invalid(std::string_view key, std::string_view what) {
    return MakeError(ErrorCode::kInvalidInput, "action payload: {}: {}", key, what);
}

// A string member, or an error naming it; `required` false lets it be absent ("").
Result<std::string> Text(const Json& object, std::string_view parent, const char* key,
                         bool required = true) {
    const auto found = object.find(key);
    if (found == object.end()) {
        if (!required) {
            return std::string{};
        }
        return Invalid(parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key),
                       "missing");
    }
    if (!found->is_string()) {
        return Invalid(parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key),
                       "must be a string");
    }
    return found->get<std::string>();
}

Result<Timestamp> Time(const Json& object, std::string_view parent, const char* key) {
    auto text = Text(object, parent, key);
    if (!text) {
        return text.error();
    }
    const auto time = ParseIso8601(*text);
    if (!time) {
        return Invalid(fmt::format("{}.{}", parent, key), "not an ISO 8601 time");
    }
    return *time;
}

Result<const Json*> Object(const Json& object, const char* key) {
    const auto found = object.find(key);
    if (found == object.end() || !found->is_object()) {
        return Invalid(key, "missing or not an object");
    }
    return &*found;
}

Json EncodeItems(const std::vector<SummaryItem>& items) {
    Json out = Json::array();
    for (const SummaryItem& item : items) {
        out.push_back({{"violation_id", item.violation_id},
                       {"deal", item.deal},
                       {"deal_title", item.deal_title},
                       {"rule", item.rule},
                       {"responsible", item.responsible},
                       {"opened_at", FormatIso8601(item.opened_at)},
                       {"message", item.message},
                       {"reason", item.reason}});
    }
    return out;
}

Result<std::vector<SummaryItem>> DecodeItems(const Json& summary, const char* key) {
    const std::string path = fmt::format("summary.{}", key);
    const auto found = summary.find(key);
    if (found == summary.end()) {
        return std::vector<SummaryItem>{};
    }
    if (!found->is_array()) {
        return Invalid(path, "must be an array");
    }
    std::vector<SummaryItem> items;
    for (const Json& element : *found) {
        if (!element.is_object()) {
            return Invalid(path, "an item is not an object");
        }
        SummaryItem item;
        const auto id = element.find("violation_id");
        if (id == element.end() || !id->is_number_integer()) {
            return Invalid(path + ".violation_id", "missing or not an integer");
        }
        item.violation_id = id->get<std::int64_t>();
        for (auto [name, out] :
             {std::pair{"deal", &item.deal}, std::pair{"deal_title", &item.deal_title},
              std::pair{"rule", &item.rule}, std::pair{"responsible", &item.responsible},
              std::pair{"message", &item.message}, std::pair{"reason", &item.reason}}) {
            auto value = Text(element, path, name, false);
            if (!value) {
                return value.error();
            }
            *out = std::move(value).value();
        }
        auto opened = Time(element, path, "opened_at");
        if (!opened) {
            return opened.error();
        }
        item.opened_at = *opened;
        items.push_back(std::move(item));
    }
    return items;
}

}  // namespace

std::string EncodeAction(const ActionBody& body) {
    Json json = {{"kind", domain::ActionKindName(body.kind)},
                 {"tenant", body.tenant},
                 {"deal", body.deal},
                 {"deal_title", body.deal_title},
                 {"responsible", body.responsible},
                 {"text", body.text}};
    if (!body.idempotency_key.empty()) {
        json["idempotency_key"] = body.idempotency_key;
        json["violation"] = {{"id", body.violation.id},
                             {"rule", body.violation.rule},
                             {"opened_at", FormatIso8601(body.violation.opened_at)},
                             {"details", body.violation.details},
                             {"message", body.violation.message}};
    }
    if (const TaskBody* task = body.task()) {
        json["task"] = {{"text", body.text},
                        {"responsible", task->responsible},
                        {"due", FormatIso8601(task->due)}};
    } else if (const RevertBody* revert = body.revert()) {
        json["revert"] = {
            {"pipeline", revert->pipeline}, {"from", revert->from}, {"to", revert->to}};
    } else if (const MessageBody* message = body.message()) {
        json["to"] = message->to;
    } else if (const SummaryBody* summary = body.summary()) {
        json["to"] = summary->to;
        json["summary"] = {{"day", summary->day},
                           {"open", EncodeItems(summary->open)},
                           {"fresh", EncodeItems(summary->fresh)}};
    }
    return json.dump();
}

Result<ActionBody> DecodeAction(std::string_view text) {
    const Json json = Json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return MakeError(ErrorCode::kInvalidInput, "action payload is not a JSON object");
    }
    ActionBody body;
    auto kind_name = Text(json, "", "kind");
    if (!kind_name) {
        return kind_name.error();
    }
    const auto kind = domain::ParseActionKind(*kind_name);
    if (!kind) {
        return Invalid("kind", fmt::format("unknown kind \"{}\"", *kind_name));
    }
    body.kind = *kind;
    for (auto [key, out] : {std::pair{"tenant", &body.tenant}, std::pair{"deal", &body.deal},
                            std::pair{"text", &body.text}}) {
        auto value = Text(json, "", key);
        if (!value) {
            return value.error();
        }
        *out = std::move(value).value();
    }
    for (auto [key, out] :
         {std::pair{"deal_title", &body.deal_title}, std::pair{"responsible", &body.responsible},
          std::pair{"idempotency_key", &body.idempotency_key}}) {
        auto value = Text(json, "", key, false);
        if (!value) {
            return value.error();
        }
        *out = std::move(value).value();
    }
    if (const auto violation = json.find("violation"); violation != json.end()) {
        if (!violation->is_object()) {
            return Invalid("violation", "must be an object");
        }
        const auto id = violation->find("id");
        if (id == violation->end() || !id->is_number_integer()) {
            return Invalid("violation.id", "missing or not an integer");
        }
        body.violation.id = id->get<std::int64_t>();
        auto rule = Text(*violation, "violation", "rule");
        auto opened = Time(*violation, "violation", "opened_at");
        auto message = Text(*violation, "violation", "message", false);
        if (!rule || !opened || !message) {
            return !rule ? rule.error() : !opened ? opened.error() : message.error();
        }
        body.violation.rule = std::move(rule).value();
        body.violation.opened_at = *opened;
        body.violation.message = std::move(message).value();
        if (const auto details = violation->find("details"); details != violation->end()) {
            body.violation.details = *details;
        }
    }
    switch (body.kind) {
        case ActionKind::kNote:
            body.detail = NoteBody{};
            break;
        case ActionKind::kTask: {
            auto task = Object(json, "task");
            if (!task) {
                return task.error();
            }
            auto responsible = Text(**task, "task", "responsible", false);
            auto due = Time(**task, "task", "due");
            if (!responsible || !due) {
                return !responsible ? responsible.error() : due.error();
            }
            body.detail = TaskBody{.responsible = std::move(responsible).value(), .due = *due};
            break;
        }
        case ActionKind::kRevert: {
            auto revert = Object(json, "revert");
            if (!revert) {
                return revert.error();
            }
            RevertBody detail;
            for (auto [key, out] : {std::pair{"pipeline", &detail.pipeline},
                                    std::pair{"from", &detail.from}, std::pair{"to", &detail.to}}) {
                auto value = Text(**revert, "revert", key);
                if (!value) {
                    return value.error();
                }
                *out = std::move(value).value();
            }
            body.detail = std::move(detail);
            break;
        }
        case ActionKind::kNotify:
        case ActionKind::kEscalate: {
            auto to = Text(json, "", "to");
            if (!to) {
                return to.error();
            }
            body.detail = MessageBody{.to = std::move(to).value()};
            break;
        }
        case ActionKind::kSummary: {
            auto to = Text(json, "", "to");
            if (!to) {
                return to.error();
            }
            auto summary = Object(json, "summary");
            if (!summary) {
                return summary.error();
            }
            auto day = Text(**summary, "summary", "day");
            auto open = DecodeItems(**summary, "open");
            auto fresh = DecodeItems(**summary, "fresh");
            if (!day || !open || !fresh) {
                return !day ? day.error() : !open ? open.error() : fresh.error();
            }
            body.detail = SummaryBody{.to = std::move(to).value(),
                                      .day = std::move(day).value(),
                                      .open = std::move(open).value(),
                                      .fresh = std::move(fresh).value()};
            break;
        }
    }
    return body;
}

}  // namespace fg::outbox
