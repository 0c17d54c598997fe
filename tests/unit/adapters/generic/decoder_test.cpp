#include "adapters/generic/decoder.hpp"

#include <random>
#include <string>
#include <variant>

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace fg::adapters::generic {
namespace {

// What an integrator's middleware posts for one morning of a Russian sales team.
constexpr std::string_view kMorningPayload = R"json({
  "events": [
    {"id": "evt-0001", "type": "deal.upserted", "at": "2026-11-02T09:00:00+03:00",
     "deal": {"id": "101", "title": "ООО «Ромашка» — поставка оборудования", "pipeline": "main",
              "stage": "Квалификация", "responsible": "u7",
              "fields": {"Бюджет": "500000", "Источник": "Сайт", "Кол-во позиций": 12,
                         "Скидка, %": 7.5, "ИНН": "7707083893"}}},
    {"id": "evt-0002", "type": "task.upserted", "at": "2026-11-02T09:05:30+03:00",
     "task": {"id": "t1", "deal": "101", "due": "2026-11-03T12:00:00+03:00", "done": false,
              "responsible": "u7", "text": "Позвонить ЛПР, уточнить бюджет"}},
    {"id": "evt-0003", "type": "note.added", "at": "2026-11-02T09:10:00+03:00",
     "note": {"id": "n1", "deal": "101", "text": "Клиент просит КП до пятницы.\nКонтакт: Иванов И.И."}},
    {"id": "evt-0004", "type": "task.upserted", "at": "2026-11-02T10:00:00Z",
     "task": {"id": "t2", "deal": "101", "due": null, "done": true, "responsible": "u8", "text": ""}},
    {"id": "evt-0005", "type": "task.upserted", "at": "2026-11-02T10:00:00.250+03:00",
     "task": {"id": "t3", "deal": "101", "done": false, "responsible": "u7", "text": "Без срока"}},
    {"id": "evt-0006", "type": "deal.deleted", "at": "2026-11-02T11:00:00+03:00",
     "deal": {"id": "102"}},
    {"id": "evt-0007", "type": "task.deleted", "at": "2026-11-02T11:30:00+03:00",
     "task": {"id": "t9"}}
  ]
})json";

Timestamp At(std::string_view iso) { return *ParseIso8601(iso); }

Result<std::vector<domain::Event>> Decode(std::string_view body, std::string tenant = "acme") {
    return GenericDecoder{}.Decode({.tenant = std::move(tenant),
                                    .content_type = "application/json",
                                    .body = std::string(body)});
}

// The message an invalid body is refused with; also checks that Validate agrees with Decode.
std::string Reason(std::string_view body) {
    const auto decoded = Decode(body);
    const auto validated = GenericDecoder{}.Validate(body);
    REQUIRE_FALSE(decoded.has_value());
    REQUIRE_FALSE(validated.has_value());
    CHECK(decoded.error().code == ErrorCode::kInvalidInput);
    CHECK(validated.error().code == ErrorCode::kInvalidInput);
    CHECK(validated.error().message == decoded.error().message);
    return decoded.error().message;
}

// One event with `event_json` spliced in, so each error case names only what it breaks.
std::string Body(std::string_view event_json) {
    return fmt::format(R"({{"events": [{}]}})", event_json);
}

bool IsValidUtf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t length = c < 0x80           ? 1
                             : (c >> 5) == 0x6  ? 2
                             : (c >> 4) == 0xE  ? 3
                             : (c >> 3) == 0x1E ? 4
                                                : 0;
        if (length == 0 || i + length > text.size()) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
                return false;
            }
        }
        i += length;
    }
    return true;
}

}  // namespace

TEST_CASE("GenericDecoder is named generic") { CHECK(GenericDecoder{}.Name() == "generic"); }

TEST_CASE("GenericDecoder decodes a realistic Russian payload into domain events") {
    const auto decoded = Decode(kMorningPayload);
    REQUIRE_MESSAGE(decoded.has_value(), decoded.error().message);
    const auto& events = *decoded;
    REQUIRE(events.size() == 7);
    CHECK(GenericDecoder{}.Validate(kMorningPayload).has_value());

    SUBCASE("deal.upserted carries the whole card, at in UTC") {
        CHECK(events[0].id == "evt-0001");
        CHECK(events[0].at == At("2026-11-02T06:00:00Z"));
        const auto* upserted = std::get_if<domain::DealUpserted>(&events[0].body);
        REQUIRE(upserted != nullptr);
        const domain::Deal& deal = upserted->deal;
        CHECK(deal.tenant == "acme");
        CHECK(deal.id == "101");
        CHECK(deal.title == "ООО «Ромашка» — поставка оборудования");
        CHECK(deal.pipeline == "main");
        CHECK(deal.stage == "Квалификация");
        CHECK(deal.responsible == "u7");
        CHECK(deal.updated_at == At("2026-11-02T06:00:00Z"));
        CHECK(deal.created_at == At("2026-11-02T06:00:00Z"));
        CHECK_FALSE(deal.deleted);
        const std::map<std::string, std::string> fields = {
            {"Бюджет", "500000"}, {"Источник", "Сайт"},  {"Кол-во позиций", "12"},
            {"Скидка, %", "7.5"}, {"ИНН", "7707083893"},
        };
        CHECK(deal.fields == fields);
    }
    SUBCASE("task.upserted with a due time in another offset") {
        const auto* upserted = std::get_if<domain::TaskUpserted>(&events[1].body);
        REQUIRE(upserted != nullptr);
        const domain::Task& task = upserted->task;
        CHECK(task.id == "t1");
        CHECK(task.deal_id == "101");
        REQUIRE(task.due.has_value());
        CHECK(*task.due == At("2026-11-03T09:00:00Z"));
        CHECK_FALSE(task.done);
        CHECK(task.IsOpen());
        CHECK(task.responsible == "u7");
        CHECK(task.text == "Позвонить ЛПР, уточнить бюджет");
        CHECK(task.updated_at == At("2026-11-02T06:05:30Z"));
        CHECK_FALSE(task.own);
    }
    SUBCASE("due may be null or absent; done is read; fractional seconds are ignored") {
        const auto* done = std::get_if<domain::TaskUpserted>(&events[3].body);
        REQUIRE(done != nullptr);
        CHECK_FALSE(done->task.due.has_value());
        CHECK(done->task.done);
        CHECK(done->task.text.empty());
        CHECK(events[3].at == At("2026-11-02T10:00:00Z"));
        const auto* undated = std::get_if<domain::TaskUpserted>(&events[4].body);
        REQUIRE(undated != nullptr);
        CHECK_FALSE(undated->task.due.has_value());
        CHECK(events[4].at == At("2026-11-02T07:00:00Z"));
    }
    SUBCASE("note.added keeps the text verbatim and takes at as its time") {
        const auto* added = std::get_if<domain::NoteAdded>(&events[2].body);
        REQUIRE(added != nullptr);
        CHECK(added->note.id == "n1");
        CHECK(added->note.deal_id == "101");
        CHECK(added->note.text == "Клиент просит КП до пятницы.\nКонтакт: Иванов И.И.");
        CHECK(added->note.at == At("2026-11-02T06:10:00Z"));
        CHECK_FALSE(added->note.own);
    }
    SUBCASE("deletions carry only the id") {
        const auto* deal = std::get_if<domain::DealDeleted>(&events[5].body);
        REQUIRE(deal != nullptr);
        CHECK(deal->deal_id == "102");
        CHECK(events[5].at == At("2026-11-02T08:00:00Z"));
        const auto* task = std::get_if<domain::TaskDeleted>(&events[6].body);
        REQUIRE(task != nullptr);
        CHECK(task->task_id == "t9");
    }
}

TEST_CASE("GenericDecoder accepts what a newer sender may add") {
    SUBCASE("an empty events array is valid") {
        const auto decoded = Decode(R"({"events": []})");
        REQUIRE(decoded.has_value());
        CHECK(decoded->empty());
    }
    SUBCASE("unknown keys at every level are ignored") {
        const auto decoded = Decode(R"({"version": 2, "source": {"crm": "1С"}, "events": [
            {"id": "e1", "type": "deal.upserted", "at": "2026-11-02T09:00:00+03:00",
             "trace": {"a": [1, 2, {"b": null}]}, "task": "not ours",
             "deal": {"id": "1", "title": "Сделка", "pipeline": "p", "stage": "Новая",
                      "responsible": "", "fields": {}, "amount": 100, "tags": ["горячий"]}}]})");
        REQUIRE_MESSAGE(decoded.has_value(), decoded.error().message);
        REQUIRE(decoded->size() == 1);
        const auto& deal = std::get<domain::DealUpserted>((*decoded)[0].body).deal;
        CHECK(deal.stage == "Новая");
        CHECK(deal.fields.empty());
    }
    SUBCASE("brackets inside strings are not nesting") {
        const std::string title(500, '[');
        const auto decoded = Decode(Body(fmt::format(
            R"({{"id": "e1", "type": "note.added", "at": "2026-11-02T09:00:00Z",
                "note": {{"id": "n", "deal": "1", "text": "{}\"{{{{"}}}})",
            title)));
        REQUIRE_MESSAGE(decoded.has_value(), decoded.error().message);
        CHECK(std::get<domain::NoteAdded>((*decoded)[0].body).note.text == title + "\"{{");
    }
    SUBCASE("exactly the event limit") {
        std::string body = R"({"events": [)";
        for (std::size_t i = 0; i < GenericDecoder::kMaxEvents; ++i) {
            body += fmt::format(
                R"({}{{"id": "e{}", "type": "task.deleted", "at": "2026-11-02T09:00:00Z", "task": {{"id": "t{}"}}}})",
                i == 0 ? "" : ",", i, i);
        }
        body += "]}";
        const auto decoded = Decode(body);
        REQUIRE(decoded.has_value());
        CHECK(decoded->size() == GenericDecoder::kMaxEvents);
        CHECK(std::get<domain::TaskDeleted>(decoded->back().body).task_id == "t9999");

        SUBCASE("one more is refused") {
            body.insert(
                body.size() - 2,
                R"(,{"id": "x", "type": "task.deleted", "at": "2026-11-02T09:00:00Z", "task": {"id": "x"}})");
            CHECK(Reason(body) == "events: 10001 events, at most 10000 per body");
        }
    }
}

TEST_CASE("GenericDecoder refuses bodies that are not JSON with kInvalidInput") {
    for (std::string_view body :
         {"", "   ", "{", R"({"events": [)", "events=1", R"({"events": []} x)", R"({'events': []})",
          R"({"events": [,]})"}) {
        CAPTURE(body);
        CHECK(Reason(body).starts_with("body: not valid JSON: "));
    }
    SUBCASE("invalid UTF-8 inside a string: refused, and the reason is still valid UTF-8") {
        for (std::string_view bad :
             {"\xFF", "\xC0\xAF", "\xD0", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xD0\x9F\xD1"}) {
            CAPTURE(bad.size());
            const std::string body = Body(fmt::format(
                R"({{"id": "e1", "type": "note.added", "at": "2026-11-02T09:00:00Z",
                    "note": {{"id": "n", "deal": "1", "text": "Привет {}"}}}})",
                bad));
            const std::string reason = Reason(body);
            CHECK(reason.starts_with("body: not valid JSON: "));
            CHECK(IsValidUtf8(reason));
        }
    }
}

TEST_CASE("GenericDecoder refuses deep nesting before parsing it") {
    SUBCASE("a long run of brackets") {
        const std::string body(1'000'000, '[');
        CHECK(Reason(body) == "body: nested deeper than 32 levels");
    }
    SUBCASE("deeply nested garbage under an unknown key") {
        std::string deep;
        for (int i = 0; i < 100'000; ++i) {
            deep += R"({"a":[)";
        }
        CHECK(Reason(R"({"events": [], "x": )" + deep) == "body: nested deeper than 32 levels");
    }
    SUBCASE("moderate nesting under an unknown key is fine") {
        std::string nested = "1";
        for (int i = 0; i < 20; ++i) {
            nested = "[" + nested + "]";
        }
        CHECK(Decode(R"({"events": [], "x": )" + nested + "}").has_value());
    }
}

TEST_CASE("GenericDecoder names the element that breaks the schema") {
    struct Case {
        std::string body;
        std::string reason;
    };
    const std::string at = R"("at": "2026-11-02T09:00:00+03:00")";
    const std::string deal =
        R"("deal": {"id": "101", "title": "ООО Ромашка", "pipeline": "main", "stage": "Квалификация", "responsible": "u7", "fields": {}})";
    const auto with_deal = [&](std::string_view replaced_deal) {
        return Body(fmt::format(R"({{"id": "e1", "type": "deal.upserted", {}, "deal": {}}})", at,
                                replaced_deal));
    };
    const auto with_task = [&](std::string_view task) {
        return Body(
            fmt::format(R"({{"id": "e1", "type": "task.upserted", {}, "task": {}}})", at, task));
    };
    const std::vector<Case> cases = {
        // The document.
        {"null", R"(body: required object with "events")"},
        {"[]", R"(body: required object with "events")"},
        {R"("events")", R"(body: required object with "events")"},
        {"{}", "events: required array"},
        {R"({"Events": []})", "events: required array"},
        {R"({"events": {}})", "events: required array"},
        {R"({"events": null})", "events: required array"},
        // The event envelope.
        {R"({"events": [1]})", "events[0]: required object"},
        {R"({"events": [[]]})", "events[0]: required object"},
        {Body(fmt::format(R"({{"type": "deal.deleted", {}, "deal": {{"id": "1"}}}})", at)),
         "events[0].id: required string"},
        {Body(
             fmt::format(R"({{"id": 17, "type": "deal.deleted", {}, "deal": {{"id": "1"}}}})", at)),
         "events[0].id: required string"},
        {Body(
             fmt::format(R"({{"id": "", "type": "deal.deleted", {}, "deal": {{"id": "1"}}}})", at)),
         "events[0].id: must not be empty"},
        {Body(fmt::format(R"({{"id": "e1", {}, "deal": {{"id": "1"}}}})", at)),
         "events[0].type: required string"},
        {Body(fmt::format(R"({{"id": "e1", "type": ["deal.deleted"], {}, "deal": {{"id": "1"}}}})",
                          at)),
         "events[0].type: required string"},
        {Body(
             fmt::format(R"({{"id": "e1", "type": "deal.moved", {}, "deal": {{"id": "1"}}}})", at)),
         R"(events[0].type: unknown event type "deal.moved")"},
        {Body(fmt::format(R"({{"id": "e1", "type": "Deal.Upserted", {}, {}}})", at, deal)),
         R"(events[0].type: unknown event type "Deal.Upserted")"},
        {Body(R"({"id": "e1", "type": "deal.deleted", "deal": {"id": "1"}})"),
         "events[0].at: required ISO 8601 time with offset"},
        {Body(R"({"id": "e1", "type": "deal.deleted", "at": 1793599200, "deal": {"id": "1"}})"),
         "events[0].at: required ISO 8601 time with offset"},
        {Body(
             R"({"id": "e1", "type": "deal.deleted", "at": "2026-11-02T09:00:00", "deal": {"id": "1"}})"),
         R"(events[0].at: "2026-11-02T09:00:00" is not an ISO 8601 time with offset)"},
        {Body(
             R"({"id": "e1", "type": "deal.deleted", "at": "02.11.2026 09:00", "deal": {"id": "1"}})"),
         R"(events[0].at: "02.11.2026 09:00" is not an ISO 8601 time with offset)"},
        {Body(fmt::format(R"({{"id": "e1", "type": "deal.upserted", {}}})", at)),
         "events[0].deal: required object"},
        {Body(fmt::format(R"({{"id": "e1", "type": "deal.upserted", {}, "deal": "101"}})", at)),
         "events[0].deal: required object"},
        {Body(fmt::format(R"({{"id": "e1", "type": "task.upserted", {}, {}}})", at, deal)),
         "events[0].task: required object"},
        // deal.upserted.
        {with_deal(
             R"({"title": "Т", "pipeline": "main", "stage": "С", "responsible": "u7", "fields": {}})"),
         "events[0].deal.id: required string"},
        {with_deal(
             R"({"id": 101, "title": "Т", "pipeline": "main", "stage": "С", "responsible": "u7", "fields": {}})"),
         "events[0].deal.id: required string"},
        {with_deal(
             R"({"id": "101", "title": "Т", "stage": "С", "responsible": "u7", "fields": {}})"),
         "events[0].deal.pipeline: required string"},
        {with_deal(
             R"({"id": "101", "title": "Т", "pipeline": "main", "responsible": "u7", "fields": {}})"),
         "events[0].deal.stage: required string"},
        {with_deal(
             R"({"id": "101", "title": "Т", "pipeline": "main", "stage": null, "responsible": "u7", "fields": {}})"),
         "events[0].deal.stage: required string"},
        {with_deal(
             R"({"id": "101", "title": "Т", "pipeline": "main", "stage": "", "responsible": "u7", "fields": {}})"),
         "events[0].deal.stage: must not be empty"},
        {with_deal(
             R"({"id": "101", "title": "Т", "pipeline": "main", "stage": "С", "responsible": "u7", "fields": []})"),
         "events[0].deal.fields: required object"},
        {with_deal(
             R"({"id": "101", "title": "Т", "pipeline": "main", "stage": "С", "responsible": "u7", "fields": {"Бюджет": true}})"),
         R"(events[0].deal.fields["Бюджет"]: required string or number)"},
        {with_deal(
             R"({"id": "101", "title": "Т", "pipeline": "main", "stage": "С", "responsible": "u7", "fields": {"Город": null}})"),
         R"(events[0].deal.fields["Город"]: required string or number)"},
        {with_deal(
             R"({"id": "101", "title": "Т", "pipeline": "main", "stage": "С", "responsible": "u7", "fields": {"Теги": ["a"]}})"),
         R"(events[0].deal.fields["Теги"]: required string or number)"},
        // task.upserted.
        {with_task(R"({"deal": "101", "done": false, "responsible": "u7", "text": "Позвонить"})"),
         "events[0].task.id: required string"},
        {with_task(R"({"id": "t1", "done": false, "responsible": "u7", "text": "Позвонить"})"),
         "events[0].task.deal: required string"},
        {with_task(
             R"({"id": "t1", "deal": "101", "due": "завтра", "done": false, "responsible": "u7", "text": "Позвонить"})"),
         R"(events[0].task.due: "завтра" is not an ISO 8601 time with offset)"},
        {with_task(
             R"({"id": "t1", "deal": "101", "due": 1793599200, "done": false, "responsible": "u7", "text": "Позвонить"})"),
         "events[0].task.due: required ISO 8601 time with offset, or null"},
        {with_task(R"({"id": "t1", "deal": "101", "responsible": "u7", "text": "Позвонить"})"),
         "events[0].task.done: required boolean"},
        {with_task(
             R"({"id": "t1", "deal": "101", "done": "false", "responsible": "u7", "text": "Позвонить"})"),
         "events[0].task.done: required boolean"},
        {with_task(
             R"({"id": "t1", "deal": "101", "done": 0, "responsible": "u7", "text": "Позвонить"})"),
         "events[0].task.done: required boolean"},
        // note.added, deletions.
        {Body(fmt::format(
             R"({{"id": "e1", "type": "note.added", {}, "note": {{"id": "n1", "deal": "101"}}}})",
             at)),
         "events[0].note.text: required string"},
        {Body(fmt::format(
             R"({{"id": "e1", "type": "note.added", {}, "note": {{"id": "n1", "text": "т"}}}})",
             at)),
         "events[0].note.deal: required string"},
        {Body(fmt::format(R"({{"id": "e1", "type": "note.added", {}, "note": ["n1"]}})", at)),
         "events[0].note: required object"},
        {Body(fmt::format(R"({{"id": "e1", "type": "deal.deleted", {}, "deal": {{}}}})", at)),
         "events[0].deal.id: required string"},
        {Body(fmt::format(R"({{"id": "e1", "type": "task.deleted", {}, "task": {{"id": ""}}}})",
                          at)),
         "events[0].task.id: must not be empty"},
        {Body(fmt::format(R"({{"id": "e1", "type": "task.deleted", {}, "deal": {{"id": "t1"}}}})",
                          at)),
         "events[0].task: required object"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.body);
        CHECK(Reason(c.body) == c.reason);
    }
}

TEST_CASE("GenericDecoder reports the failing event's index and refuses the whole body") {
    std::string body(kMorningPayload);
    const std::string stage = R"("stage": "Квалификация", )";
    body.erase(body.find(stage), stage.size());
    // Event 0 lost its stage; everything after it is fine, and nothing is half-decoded.
    CHECK(Reason(body) == "events[0].deal.stage: required string");

    std::string third(kMorningPayload);
    const std::string text = R"("text": "Клиент просит КП до пятницы.\nКонтакт: Иванов И.И.")";
    third.replace(third.find(text), text.size(), R"("text": 42)");
    CHECK(Reason(third) == "events[2].note.text: required string");
}

TEST_CASE("GenericDecoder quotes hostile values safely in its reasons") {
    const std::string reason = Reason(Body(
        R"({"id": "e1", "type": "deal.moved\r\nX-Injected: 1\u0000", "at": "2026-11-02T09:00:00Z"})"));
    CHECK(reason == R"(events[0].type: unknown event type "deal.moved\r\nX-Injected: 1\x00")");
    const std::string long_type(5000, 'x');
    const std::string truncated = Reason(Body(
        fmt::format(R"({{"id": "e1", "type": "{}", "at": "2026-11-02T09:00:00Z"}})", long_type)));
    CHECK(truncated.size() < 200);
    CHECK(truncated.ends_with("...\""));
}

TEST_CASE("GenericDecoder never throws or crashes on mangled input") {
    std::mt19937_64 random(2026);
    const std::string original(kMorningPayload);
    int refused = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string body = original;
        const int edits = 1 + static_cast<int>(random() % 8);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = random() % body.size();
            switch (random() % 4) {
                case 0:  // flip to any byte, including invalid UTF-8
                    body[at] = static_cast<char>(random() % 256);
                    break;
                case 1:
                    body.erase(at, 1 + random() % 20);
                    break;
                case 2:
                    body.insert(at, std::string(1 + random() % 3, "[{\",:]}\\"[random() % 8]));
                    break;
                default:
                    body.resize(at);  // truncated delivery
                    break;
            }
            if (body.empty()) {
                body = "{";
            }
        }
        CAPTURE(body);
        const auto decoded = Decode(body);
        if (!decoded) {
            ++refused;
            CHECK(decoded.error().code == ErrorCode::kInvalidInput);
            CHECK(IsValidUtf8(decoded.error().message));
        }
        CHECK(GenericDecoder{}.Validate(body).has_value() == decoded.has_value());
    }
    CHECK(refused > 2000);  // the mangling really produced bad bodies
}

TEST_CASE("GenericDecoder dedupe key is the SHA-256 of the body") {
    const GenericDecoder decoder;
    CHECK(decoder.DedupeKey("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(decoder.DedupeKey("abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::string body(kMorningPayload);
    CHECK(decoder.DedupeKey(body) == decoder.DedupeKey(std::string(kMorningPayload)));
    CHECK(decoder.DedupeKey(body).size() == 64);
    CHECK(decoder.DedupeKey(body) != decoder.DedupeKey(body + " "));
}

}  // namespace fg::adapters::generic

TEST_CASE("GenericDecoder treats title, responsible, fields and task text as optional") {
    const std::string body = R"({"events": [
      {"id": "e1", "type": "deal.upserted", "at": "2026-11-02T09:00:00+03:00",
       "deal": {"id": "101", "pipeline": "main", "stage": "Новая"}},
      {"id": "e2", "type": "task.upserted", "at": "2026-11-02T09:00:00+03:00",
       "task": {"id": "t1", "deal": "101", "done": false, "responsible": null}}]})";
    const fg::adapters::generic::GenericDecoder decoder;
    const auto events = decoder.Decode({.tenant = "acme", .content_type = {}, .body = body});
    REQUIRE(events);
    REQUIRE(events->size() == 2);
    const auto& deal = std::get<fg::domain::DealUpserted>((*events)[0].body).deal;
    CHECK(deal.title.empty());
    CHECK(deal.responsible.empty());
    CHECK(deal.fields.empty());
    CHECK(std::get<fg::domain::TaskUpserted>((*events)[1].body).task.text.empty());
}
