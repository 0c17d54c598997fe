#include "src/storage/fetched.hpp"

#include <cstdint>
#include <stdexcept>
#include <variant>

#include <nlohmann/json.hpp>

namespace fg::storage {
namespace {

using nlohmann::json;

json Time(Timestamp t) { return ToEpoch(t); }

json OptionalTime(const std::optional<Timestamp>& t) {
    return t ? json(ToEpoch(*t)) : json(nullptr);
}

Timestamp TimeOf(const json& value) { return FromEpoch(value.get<std::int64_t>()); }

std::optional<Timestamp> OptionalTimeOf(const json& value) {
    if (value.is_null()) {
        return std::nullopt;
    }
    return TimeOf(value);
}

json DealJson(const domain::Deal& deal) {
    return {{"tenant", deal.tenant},
            {"id", deal.id},
            {"title", deal.title},
            {"pipeline", deal.pipeline},
            {"stage", deal.stage},
            {"responsible", deal.responsible},
            {"fields", deal.fields},
            {"created_at", Time(deal.created_at)},
            {"updated_at", Time(deal.updated_at)},
            {"deleted", deal.deleted}};
}

domain::Deal DealOf(const json& value) {
    return {.tenant = value.at("tenant").get<std::string>(),
            .id = value.at("id").get<std::string>(),
            .title = value.at("title").get<std::string>(),
            .pipeline = value.at("pipeline").get<std::string>(),
            .stage = value.at("stage").get<std::string>(),
            .responsible = value.at("responsible").get<std::string>(),
            .fields = value.at("fields").get<std::map<std::string, std::string>>(),
            .created_at = TimeOf(value.at("created_at")),
            .updated_at = TimeOf(value.at("updated_at")),
            .deleted = value.at("deleted").get<bool>()};
}

json TaskJson(const domain::Task& task) {
    return {{"id", task.id},
            {"deal_id", task.deal_id},
            {"due", OptionalTime(task.due)},
            {"done", task.done},
            {"deleted", task.deleted},
            {"responsible", task.responsible},
            {"text", task.text},
            {"created_at", Time(task.created_at)},
            {"updated_at", Time(task.updated_at)},
            {"closed_at", OptionalTime(task.closed_at)},
            {"reschedules", task.reschedules},
            {"own", task.own}};
}

domain::Task TaskOf(const json& value) {
    return {.id = value.at("id").get<std::string>(),
            .deal_id = value.at("deal_id").get<std::string>(),
            .due = OptionalTimeOf(value.at("due")),
            .done = value.at("done").get<bool>(),
            .deleted = value.at("deleted").get<bool>(),
            .responsible = value.at("responsible").get<std::string>(),
            .text = value.at("text").get<std::string>(),
            .created_at = TimeOf(value.at("created_at")),
            .updated_at = TimeOf(value.at("updated_at")),
            .closed_at = OptionalTimeOf(value.at("closed_at")),
            .reschedules = value.at("reschedules").get<int>(),
            .own = value.at("own").get<bool>()};
}

// The body's type and fields beside the event's id and time.
struct BodyJson {
    json& out;
    void operator()(const domain::DealUpserted& body) const {
        out["type"] = "deal.upserted";
        out["deal"] = DealJson(body.deal);
    }
    void operator()(const domain::DealDeleted& body) const {
        out["type"] = "deal.deleted";
        out["deal_id"] = body.deal_id;
    }
    void operator()(const domain::TaskUpserted& body) const {
        out["type"] = "task.upserted";
        out["task"] = TaskJson(body.task);
    }
    void operator()(const domain::TaskDeleted& body) const {
        out["type"] = "task.deleted";
        out["task_id"] = body.task_id;
    }
    void operator()(const domain::NoteAdded& body) const {
        out["type"] = "note.added";
        out["note"] = {{"id", body.note.id},
                       {"deal_id", body.note.deal_id},
                       {"at", Time(body.note.at)},
                       {"text", body.note.text},
                       {"own", body.note.own}};
    }
    void operator()(const domain::StageObserved& body) const {
        out["type"] = "stage.observed";
        out["deal_id"] = body.deal_id;
        out["pipeline"] = body.pipeline;
        out["stage"] = body.stage;
    }
};

domain::Event EventOf(const json& value) {
    domain::Event event{
        .id = value.at("id").get<std::string>(), .at = TimeOf(value.at("at")), .body = {}};
    const std::string type = value.at("type").get<std::string>();
    if (type == "deal.upserted") {
        event.body = domain::DealUpserted{.deal = DealOf(value.at("deal"))};
    } else if (type == "deal.deleted") {
        event.body = domain::DealDeleted{.deal_id = value.at("deal_id").get<std::string>()};
    } else if (type == "task.upserted") {
        event.body = domain::TaskUpserted{.task = TaskOf(value.at("task"))};
    } else if (type == "task.deleted") {
        event.body = domain::TaskDeleted{.task_id = value.at("task_id").get<std::string>()};
    } else if (type == "note.added") {
        const json& note = value.at("note");
        event.body = domain::NoteAdded{.note = {.id = note.at("id").get<std::string>(),
                                                .deal_id = note.at("deal_id").get<std::string>(),
                                                .at = TimeOf(note.at("at")),
                                                .text = note.at("text").get<std::string>(),
                                                .own = note.at("own").get<bool>()}};
    } else if (type == "stage.observed") {
        event.body = domain::StageObserved{.deal_id = value.at("deal_id").get<std::string>(),
                                           .pipeline = value.at("pipeline").get<std::string>(),
                                           .stage = value.at("stage").get<std::string>()};
    } else {
        throw std::invalid_argument("unknown event type " + type);
    }
    return event;
}

}  // namespace

std::string EncodeFetched(const FetchedDoc& doc) {
    json events = json::array();
    for (const domain::Event& event : doc.events) {
        json item = {{"id", event.id}, {"at", Time(event.at)}};
        std::visit(BodyJson{item}, event.body);
        events.push_back(std::move(item));
    }
    const json document = {{"events", std::move(events)},
                           {"failed", doc.failed},
                           {"failed_reason", doc.failed_reason},
                           {"ignored", doc.ignored},
                           {"gone", doc.gone}};
    // A CRM's text need not be UTF-8; the item must be stored all the same.
    return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<FetchedDoc> DecodeFetched(std::string_view text) {
    try {
        const json document = json::parse(text);
        FetchedDoc doc;
        for (const json& event : document.at("events")) {
            doc.events.push_back(EventOf(event));
        }
        doc.failed = document.at("failed").get<std::vector<std::string>>();
        doc.failed_reason = document.at("failed_reason").get<std::string>();
        doc.ignored = document.at("ignored").get<std::map<std::string, int>>();
        doc.gone = document.at("gone").get<int>();
        return doc;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace fg::storage
