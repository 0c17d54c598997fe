#include "adapters/amocrm/wire/decoder.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "adapters/amocrm/wire/event_ids.hpp"
#include "adapters/amocrm/wire/form.hpp"

namespace fg::adapters::amocrm {
namespace {

// Samples A–F of reference/amocrm.md §1.7 (fixtures/make_fixtures.py says how each was made).
std::string Fixture(std::string_view name) {
    const std::string path =
        fmt::format("{}/tests/unit/adapters/amocrm/wire/fixtures/{}", FG_SOURCE_DIR, name);
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), path);
    std::stringstream text;
    text << in.rdbuf();
    std::string body = text.str();
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
        body.pop_back();
    }
    return body;
}

// The account of the samples: the pipelines the captures name, each with its own 142/143.
Catalog SampleCatalog() {
    Catalog catalog;
    catalog.pipelines = {
        {.id = 2116,
         .name = "Основная",
         .is_main = true,
         .statuses = {{10216990, "Неразобранное", 5, 1},
                      {10216995, "Первичный контакт", 10, 0},
                      {10216994, "Переговоры", 20, 0},
                      {142, "Успешно реализовано", 10000, 0},
                      {143, "Закрыто и не реализовано", 11000, 0}}},
        {.id = 9217056,
         .name = "Семинары",
         .statuses = {{20067736, "Ожидает оплаты", 10, 0},
                      {142, "Оплачено — участник", 10000, 0},
                      {143, "Отказ", 11000, 0}}},
        {.id = 4740529,
         .name = "Записи",
         .statuses = {{43315795, "Новая запись", 10, 0},
                      {43315792, "Запись подтверждена", 20, 0},
                      {142, "Визит состоялся", 10000, 0},
                      {143, "Не пришёл", 11000, 0}}},
        {.id = 8572511,
         .name = "Kommo",
         .statuses = {{67548607, "Первичный контакт", 10, 0},
                      {67548619, "Квалификация", 20, 0},
                      {142, "Успешно", 10000, 0},
                      {143, "Провал", 11000, 0}}},
    };
    catalog.lead_fields = {{1119321, "Some text field", "text"},
                           {72333, "Дата проведения", "date"},
                           {500001, "Бюджет проекта", "numeric"}};
    catalog.users = {{938348, "Анна"}};
    return catalog;
}

// When the tests' webhooks were received: the time of what comes without one.
constexpr std::int64_t kReceivedAt = 1'800'000'000;

struct Harness {
    CatalogCache cache;
    std::string zone = "Europe/Moscow";
    int catalog_calls = 0;
    bool no_catalog = false;

    Harness() { cache.Set(SampleCatalog()); }

    AmoDecoder Decoder() {
        return AmoDecoder(
            [this](const std::string& tenant) -> std::shared_ptr<const Catalog> {
                CHECK(tenant == "acme");
                ++catalog_calls;
                return no_catalog ? nullptr : cache.Get();
            },
            [this](const std::string& tenant) {
                CHECK(tenant == "acme");
                return zone;
            });
    }

    static crm::WebhookRequest Request(const std::string& body) {
        return {.tenant = "acme",
                .content_type = "application/x-www-form-urlencoded",
                .body = body,
                .received_at = FromEpoch(kReceivedAt)};
    }

    Result<std::vector<domain::Event>> Decode(const std::string& body) {
        return Decoder().Decode(Request(body));
    }

    Result<crm::Decoded> Elements(const std::string& body) {
        return Decoder().DecodeElements(Request(body));
    }

    std::vector<domain::Event> Events(const std::string& body) {
        CHECK(Decoder().Validate(body).has_value());
        auto decoded = Decode(body);
        REQUIRE_MESSAGE(decoded.has_value(), decoded.error().message);
        return std::move(*decoded);
    }

    // The reason a body that is not a form is refused; Validate agrees with Decode.
    std::string Reason(const std::string& body) {
        const auto validated = Decoder().Validate(body);
        const auto decoded = Decode(body);
        REQUIRE_FALSE(validated.has_value());
        REQUIRE_FALSE(decoded.has_value());
        CHECK(validated.error().code == ErrorCode::kInvalidInput);
        CHECK(decoded.error().code == ErrorCode::kInvalidInput);
        CHECK(validated.error().message == decoded.error().message);
        CHECK(form::IsValidUtf8(validated.error().message));
        return decoded.error().message;
    }

    // The reason the only element of a form body fails: the body itself is accepted (Validate),
    // DecodeElements reports the element and Decode, the strict form, refuses with it.
    std::string ElementReason(const std::string& body) {
        CHECK(Decoder().Validate(body).has_value());
        const auto elements = Elements(body);
        REQUIRE_MESSAGE(elements.has_value(), elements.error().message);
        REQUIRE(elements->failed.size() == 1);
        CHECK(elements->events.empty());
        const auto decoded = Decode(body);
        REQUIRE_FALSE(decoded.has_value());
        CHECK(decoded.error().code == ErrorCode::kInvalidInput);
        CHECK(decoded.error().message == elements->failed.front());
        CHECK(form::IsValidUtf8(decoded.error().message));
        return elements->failed.front();
    }

    // A body that passes Validate but needs a newer catalog.
    std::string Unavailable(const std::string& body) {
        CHECK(Decoder().Validate(body).has_value());
        // Accepted by the intake without events: processing decodes it again after a refresh.
        const auto both = Decoder().ValidateAndDecode(Request(body));
        REQUIRE(both.has_value());
        CHECK_FALSE(both->has_value());
        const auto decoded = Decode(body);
        REQUIRE_FALSE(decoded.has_value());
        CHECK(decoded.error().code == ErrorCode::kUnavailable);
        return decoded.error().message;
    }
};

const domain::Deal& DealOf(const domain::Event& event) {
    const auto* upserted = std::get_if<domain::DealUpserted>(&event.body);
    REQUIRE(upserted != nullptr);
    return upserted->deal;
}

const domain::Task& TaskOf(const domain::Event& event) {
    const auto* upserted = std::get_if<domain::TaskUpserted>(&event.body);
    REQUIRE(upserted != nullptr);
    return upserted->task;
}

Timestamp At(std::string_view iso) { return *ParseIso8601(iso); }

// key=value pairs, percent-encoded the way amoCRM builds its form.
std::string Encode(std::string_view text) {
    std::string out;
    for (const unsigned char c : text) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.') {
            out += static_cast<char>(c);
        } else if (c == ' ') {
            out += '+';
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

std::string Pair(std::string_view key, std::string_view value) {
    return Encode(key) + "=" + Encode(value);
}

// A minimal leads[<action>][0] card in pipeline 2116, with `extra` pairs appended.
std::string LeadBody(std::string_view action, std::string_view extra = "",
                     std::string_view status = "10216994") {
    return fmt::format("{}&{}&{}&{}&{}{}", Pair(fmt::format("leads[{}][0][id]", action), "777"),
                       Pair(fmt::format("leads[{}][0][name]", action), "ООО «Ромашка»"),
                       Pair(fmt::format("leads[{}][0][status_id]", action), status),
                       Pair(fmt::format("leads[{}][0][pipeline_id]", action), "2116"),
                       Pair(fmt::format("leads[{}][0][last_modified]", action), "1793599200"),
                       extra.empty() ? std::string{} : "&" + std::string(extra));
}

}  // namespace

TEST_CASE("AmoDecoder is named amocrm") {
    Harness harness;
    CHECK(harness.Decoder().Name() == "amocrm");
}

TEST_CASE("AmoDecoder decodes a real status_lead capture (sample A)") {
    Harness harness;
    const auto events = harness.Events(Fixture("status_lead.form"));
    REQUIRE(events.size() == 2);

    SUBCASE("the new card at last_modified, the stage by name") {
        const domain::Event& event = events[1];
        CHECK(event.id == "lead:31926520@1456820780:10216994");
        CHECK(event.at == FromEpoch(1456820780));
        const domain::Deal& deal = DealOf(event);
        CHECK(deal.tenant == "acme");
        CHECK(deal.id == "31926520");
        CHECK(deal.title == "Some test lead");
        CHECK(deal.pipeline == "2116");
        CHECK(deal.stage == "Переговоры");
        CHECK(deal.responsible == "938348");
        CHECK(deal.fields == std::map<std::string, std::string>{{"Some text field", "some text"}});
        CHECK(deal.created_at == FromEpoch(1456808154));
        CHECK(deal.updated_at == FromEpoch(1456820780));
        CHECK_FALSE(deal.deleted);
    }
    SUBCASE("old_status_id: the stage it left, one second before") {
        const domain::Event& event = events[0];
        CHECK(event.id == "lead:31926520@1456820780:10216994:from:10216995");
        CHECK(event.at == FromEpoch(1456820779));
        const domain::Deal& deal = DealOf(event);
        CHECK(deal.id == "31926520");
        CHECK(deal.pipeline == "2116");
        CHECK(deal.stage == "Первичный контакт");
        CHECK(deal.updated_at == FromEpoch(1456820779));
    }
}

TEST_CASE("AmoDecoder decodes a responsible change (sample B) as an upsert") {
    Harness harness;
    const auto events = harness.Events(Fixture("responsible_lead.form"));
    REQUIRE(events.size() == 1);
    CHECK(events[0].id == "lead:31926520@1456822527:10216994");
    const domain::Deal& deal = DealOf(events[0]);
    CHECK(deal.responsible == "938348");
    CHECK(deal.stage == "Переговоры");
}

TEST_CASE("AmoDecoder decodes a won lead with select and date fields (sample C)") {
    Harness harness;
    for (const std::string name : {"status_lead_won.form", "status_lead_won.decoded.txt"}) {
        CAPTURE(name);
        const auto events = harness.Events(Fixture(name));
        REQUIRE(events.size() == 2);
        const domain::Deal& deal = DealOf(events[1]);
        CHECK(events[1].id == "lead:10701093@1539782664:142");
        CHECK(deal.title == "Семинар: Пропитание в фитнесе на результат");
        CHECK(deal.pipeline == "9217056");
        CHECK(deal.stage == "Оплачено — участник");  // 142 of this pipeline, not of 2116
        CHECK(deal.responsible == "2079676");
        CHECK(deal.fields.size() == 8);
        CHECK(deal.fields.at("Источник") == "Сайт");  // [value] wins over [enum]
        CHECK(deal.fields.at("Интересующая услуга") == "Пропитание в фитнесе на результат");
        CHECK(deal.fields.at("Дата проведения") == "1542067200");  // no [value] level
        CHECK(deal.fields.at("Заявка оплачена") == "1");
        CHECK(deal.fields.at("Guid-Service") == "ab4b290b-9f78-11e6-80e7-0cc47a4b75cc");
        CHECK(deal.fields.at("Анкета участия").starts_with("https://forms.amocrm.ru/tvzdtx?dp="));
        CHECK(DealOf(events[0]).stage == "Ожидает оплаты");
    }
    // The capture's URL holds %2B escapes: the wire form carries them encoded once more.
    CHECK(
        DealOf(harness.Events(Fixture("status_lead_won.form"))[1]).fields.at("Анкета участия") ==
        "https://forms.amocrm.ru/"
        "tvzdtx?dp=Q1zaSQHqO%2BhHArUG1UMtpby%2FFHdWZSZgNIHZ%2BvJ%2FRAgB60%2FhsT%2F4Zwi%2F4qY37M3f");
}

TEST_CASE("AmoDecoder decodes an update_lead of 2021 (sample D)") {
    Harness harness;
    const auto events = harness.Events(Fixture("update_lead.form"));
    // An update carries old_status_id too, but only a status webhook is a transition.
    REQUIRE(events.size() == 1);
    // updated_at wins over the sample's truncated last_modified (163513901).
    CHECK(events[0].id == "lead:5685933@1635139016:43315792");
    CHECK(events[0].at == FromEpoch(1635139016));
    const domain::Deal& deal = DealOf(events[0]);
    CHECK(deal.title == "<redacted>");
    CHECK(deal.stage == "Запись подтверждена");
    CHECK(deal.created_at == FromEpoch(1635022800));
    CHECK(deal.fields == std::map<std::string, std::string>{{"Услуги", "1234"},
                                                            {"ID записи, Yclients", "339030120"}});
}

TEST_CASE("AmoDecoder reads a compact Digital Pipeline payload (sample E) as stage observations") {
    // No card (no name, responsible or fields) and no time: the history moves at the time of
    // receipt, and the card the mirror holds is left alone rather than blanked.
    Harness harness;
    Catalog catalog = SampleCatalog();
    catalog.pipelines.push_back({.id = 6344290,
                                 .name = "Продажи",
                                 .statuses = {{54435014, "Заявка", 10, 0},
                                              {54423922, "Встреча назначена", 20, 0},
                                              {142, "Успешно", 10000, 0},
                                              {143, "Отказ", 11000, 0}}});
    harness.cache.Set(catalog);
    const auto events = harness.Events(Fixture("status_lead_compact.form"));
    REQUIRE(events.size() == 2);
    CHECK(events[1].id == fmt::format("lead:10754147@{}:54423922", kReceivedAt));
    CHECK(events[1].at == FromEpoch(kReceivedAt));
    const auto* now = std::get_if<domain::StageObserved>(&events[1].body);
    REQUIRE(now != nullptr);
    CHECK(now->deal_id == "10754147");
    CHECK(now->pipeline == "6344290");
    CHECK(now->stage == "Встреча назначена");
    const auto* before = std::get_if<domain::StageObserved>(&events[0].body);
    REQUIRE(before != nullptr);
    CHECK(before->stage == "Заявка");
    CHECK(events[0].at == FromEpoch(kReceivedAt - 1));
}

TEST_CASE("AmoDecoder decodes the Kommo documentation samples (sample F)") {
    Harness harness;
    SUBCASE("status change: updated_at, select by value, date without [value], empty name") {
        const auto events = harness.Events(Fixture("kommo_status_lead.form"));
        REQUIRE(events.size() == 2);
        CHECK(events[1].id == "lead:15318175@1726572758:67548619");
        const domain::Deal& deal = DealOf(events[1]);
        CHECK(deal.title.empty());
        CHECK(deal.stage == "Квалификация");
        CHECK(deal.responsible == "12345678");
        CHECK(deal.fields ==
              std::map<std::string, std::string>{{"Select", "2"}, {"Date", "1725915600"}});
        CHECK(DealOf(events[0]).stage == "Первичный контакт");
    }
    SUBCASE("a deleted lead carries no time: it is the time of receipt") {
        const auto events = harness.Events(Fixture("kommo_delete_lead.form"));
        REQUIRE(events.size() == 1);
        CHECK(events[0].id == "lead:12345678:deleted");
        CHECK(events[0].at == FromEpoch(kReceivedAt));
        const auto* deleted = std::get_if<domain::DealDeleted>(&events[0].body);
        REQUIRE(deleted != nullptr);
        CHECK(deleted->deal_id == "12345678");
    }
    SUBCASE("task add: complete_before is the due time; the unix times win over the strings") {
        const auto events = harness.Events(Fixture("kommo_add_task.form"));
        REQUIRE(events.size() == 1);
        CHECK(events[0].id == "task:1564671@1726578449");
        CHECK(events[0].at == FromEpoch(1726578449));
        const domain::Task& task = TaskOf(events[0]);
        CHECK(task.id == "1564671");
        CHECK(task.deal_id == "15320411");
        REQUIRE(task.due.has_value());
        CHECK(*task.due == At("2025-10-02T20:59:00Z"));
        CHECK_FALSE(task.done);
        CHECK(task.IsOpen());
        CHECK(task.text == "Task text");
        CHECK(task.responsible == "11087123");
        CHECK(task.created_at == FromEpoch(1726578449));
        CHECK(task.updated_at == FromEpoch(1726578449));
    }
    SUBCASE("task completed") {
        const auto events = harness.Events(Fixture("kommo_complete_task.form"));
        REQUIRE(events.size() == 1);
        CHECK(events[0].id == "task:1564845@1726579269");
        const domain::Task& task = TaskOf(events[0]);
        CHECK(task.done);
        CHECK(*task.due == FromEpoch(1729717140));
        CHECK(task.created_at == FromEpoch(1726579225));
    }
    SUBCASE("text note: doubly nested, at its created_at") {
        const auto events = harness.Events(Fixture("kommo_note_lead.form"));
        REQUIRE(events.size() == 1);
        CHECK(events[0].id == "note:4600471");
        CHECK(events[0].at == FromEpoch(1726580291));
        const auto* added = std::get_if<domain::NoteAdded>(&events[0].body);
        REQUIRE(added != nullptr);
        CHECK(added->note.id == "4600471");
        CHECK(added->note.deal_id == "15320411");
        CHECK(added->note.text == "note text");
        CHECK(added->note.at == FromEpoch(1726580291));
        CHECK_FALSE(added->note.own);
    }
    SUBCASE("the catalog is only asked when a lead card needs it") {
        harness.no_catalog = true;
        for (const std::string name : {"kommo_delete_lead.form", "kommo_add_task.form",
                                       "kommo_complete_task.form", "kommo_note_lead.form"}) {
            CAPTURE(name);
            CHECK(harness.Decode(Fixture(name)).has_value());
        }
        CHECK(harness.catalog_calls == 0);
    }
}

TEST_CASE("AmoDecoder takes the shapes real accounts send (fixtures real_*.form)") {
    Harness harness;
    SUBCASE("no last_modified or updated_at, account block first: the time of receipt") {
        const auto events = harness.Events(Fixture("real_no_time_status_lead.form"));
        REQUIRE(events.size() == 2);
        CHECK(events[1].at == FromEpoch(kReceivedAt));
        CHECK(events[1].id == fmt::format("lead:31926520@{}:10216994", kReceivedAt));
        const domain::Deal& deal = DealOf(events[1]);
        CHECK(deal.title == "Сделка без времени");
        CHECK(deal.stage == "Переговоры");
        CHECK(deal.created_at == FromEpoch(1456808154));
        CHECK(DealOf(events[0]).stage == "Первичный контакт");
        CHECK(events[0].at == FromEpoch(kReceivedAt - 1));
    }
    SUBCASE("a note without an id gets a stable one from its content") {
        const auto first = harness.Events(Fixture("real_note_without_id.form"));
        REQUIRE(first.size() == 1);
        const auto& note = std::get<domain::NoteAdded>(first[0].body).note;
        CHECK(note.id.size() == 17);
        CHECK(note.id.starts_with("x"));
        CHECK(first[0].id == "note:" + note.id);
        CHECK(note.deal_id == "31926520");
        CHECK(note.text == "Клиент просит перезвонить после обеда");
        CHECK(first[0].at == At("2024-09-17T13:38:11Z"));  // Moscow wall clock
        // The same note again (a retry, or the same body decoded after a restart): the same id.
        CHECK(harness.Events(Fixture("real_note_without_id.form"))[0].id == first[0].id);
        // Another text is another note.
        const std::string other = Pair("leads[note][0][note][text]", "Другая заметка") + "&" +
                                  Pair("leads[note][0][note][element_id]", "31926520");
        CHECK(harness.Events(other)[0].id != first[0].id);
    }
    SUBCASE("values in literal quotes") {
        const auto quoted = harness.Events(Fixture("real_quoted_values.form"));
        const auto plain = harness.Events(Fixture("status_lead.form"));
        REQUIRE(quoted.size() == 2);
        CHECK(quoted[1].id == plain[1].id);
        CHECK(DealOf(quoted[1]).stage == "Переговоры");
        CHECK(DealOf(quoted[1]).responsible == "938348");
        CHECK(DealOf(quoted[0]).stage == "Первичный контакт");
    }
    SUBCASE("custom fields with a code and no values are empty fields") {
        const auto events = harness.Events(Fixture("real_field_codes.form"));
        REQUIRE(events.size() == 1);
        CHECK(DealOf(events[0]).fields ==
              std::map<std::string, std::string>{
                  {"Some text field", "some text"}, {"Дата проведения", ""}, {"UTM_SOURCE", ""}});
    }
    SUBCASE("deletions with only the id") {
        const auto events = harness.Events(Fixture("real_deletes_id_only.form"));
        REQUIRE(events.size() == 2);
        CHECK(std::get<domain::DealDeleted>(events[0].body).deal_id == "31926520");
        CHECK(std::get<domain::TaskDeleted>(events[1].body).task_id == "1564845");
        CHECK(events[0].at == FromEpoch(kReceivedAt));
        CHECK(harness.Events(Pair("leads[delete][0]", "31926520"))[0].id == events[0].id);
    }
    SUBCASE("contacts and unsorted leads are counted as ignored; the lead beside them applies") {
        const auto elements = harness.Elements(Fixture("real_mixed_entities.form"));
        REQUIRE(elements.has_value());
        CHECK(elements->failed.empty());
        REQUIRE(elements->events.size() == 1);
        CHECK(DealOf(elements->events[0]).title == "Новая сделка");
        CHECK(elements->ignored == std::map<std::string, int>{{"contacts", 1}, {"unsorted", 1}});
    }
    SUBCASE("every real_ fixture is accepted with nothing failed") {
        for (const std::string name :
             {"real_no_time_status_lead.form", "real_note_without_id.form",
              "real_quoted_values.form", "real_field_codes.form", "real_deletes_id_only.form",
              "real_mixed_entities.form", "status_lead_compact.form"}) {
            CAPTURE(name);
            Catalog catalog = SampleCatalog();
            catalog.pipelines.push_back(
                {.id = 6344290, .statuses = {{54435014, "A", 10, 0}, {54423922, "B", 20, 0}}});
            harness.cache.Set(catalog);
            const auto elements = harness.Elements(Fixture(name));
            REQUIRE_MESSAGE(elements.has_value(), elements.error().message);
            CHECK(elements->failed.empty());
            CHECK_FALSE(elements->events.empty());
        }
    }
}

TEST_CASE("AmoDecoder reads date strings without a zone in the tenant's time zone") {
    Harness harness;
    // The Kommo samples without their unix twins: what older accounts send.
    const std::string task = fmt::format("{}&{}&{}&{}&{}&{}&{}", Pair("task[add][0][id]", "9"),
                                         Pair("task[add][0][element_id]", "15320411"),
                                         Pair("task[add][0][element_type]", "2"),
                                         Pair("task[add][0][date_create]", "2024-09-17 13:07:29"),
                                         Pair("task[add][0][last_modified]", "2024-09-17 13:07:29"),
                                         Pair("task[add][0][complete_till]", "2025-10-02 20:59:00"),
                                         Pair("task[add][0][text]", "Перезвонить"));
    SUBCASE("Europe/Moscow") {
        const auto events = harness.Events(task);
        REQUIRE(events.size() == 1);
        CHECK(events[0].at == At("2024-09-17T10:07:29Z"));
        CHECK(events[0].id == fmt::format("task:9@{}", ToEpoch(At("2024-09-17T10:07:29Z"))));
        CHECK(*TaskOf(events[0]).due == At("2025-10-02T17:59:00Z"));
    }
    SUBCASE("a zone with summer time") {
        harness.zone = "Europe/Berlin";
        const auto events = harness.Events(task);
        CHECK(events[0].at == At("2024-09-17T11:07:29Z"));  // CEST
        CHECK(*TaskOf(events[0]).due == At("2025-10-02T18:59:00Z"));
    }
    SUBCASE("no zone or an unknown one: UTC") {
        for (const std::string zone : {"", "Mars/Olympus_Mons"}) {
            harness.zone = zone;
            CHECK(*TaskOf(harness.Events(task)[0]).due == At("2025-10-02T20:59:00Z"));
        }
    }
    SUBCASE("complete_till as unix seconds") {
        const auto events =
            harness.Events(task + "&" + Pair("task[add][0][complete_till]", "") + "&" +
                           Pair("task[add][0][complete_before]", "1759438740"));
        CHECK(*TaskOf(events[0]).due == FromEpoch(1759438740));
    }
    SUBCASE("no due time") {
        const auto events = harness.Events(task + "&" + Pair("task[add][0][complete_till]", "0"));
        CHECK_FALSE(TaskOf(events[0]).due.has_value());
    }
    SUBCASE("a note's date_create alone agrees with sample F's created_at") {
        const std::string note =
            fmt::format("{}&{}&{}&{}&{}", Pair("leads[note][0][note][id]", "4600471"),
                        Pair("leads[note][0][note][element_id]", "15320411"),
                        Pair("leads[note][0][note][element_type]", "2"),
                        Pair("leads[note][0][note][note_type]", "4"),
                        Pair("leads[note][0][note][date_create]", "2024-09-17 16:38:11"));
        CHECK(harness.Events(note)[0].at == FromEpoch(1726580291));
    }
}

TEST_CASE("AmoDecoder decodes what it must and ignores the rest") {
    Harness harness;
    SUBCASE("tasks of contacts and companies, and tasks without an entity, give nothing") {
        for (const std::string type : {"1", "3", "12", ""}) {
            const std::string body =
                fmt::format("{}&{}&{}&{}", Pair("task[update][0][id]", "5"),
                            Pair("task[update][0][element_id]", "700"),
                            Pair("task[update][0][element_type]", type),
                            Pair("task[update][0][last_modified]", "1793599200"));
            CHECK(harness.Events(body).empty());
        }
    }
    SUBCASE("is_completed marks a task done; the plural `tasks` is read too") {
        const std::string body = fmt::format("{}&{}&{}&{}&{}", Pair("tasks[update][0][id]", "5"),
                                             Pair("tasks[update][0][element_id]", "700"),
                                             Pair("tasks[update][0][element_type]", "2"),
                                             Pair("tasks[update][0][updated_at]", "1793599200"),
                                             Pair("tasks[update][0][is_completed]", "1"));
        const auto events = harness.Events(body);
        REQUIRE(events.size() == 1);
        CHECK(TaskOf(events[0]).done);
        CHECK(TaskOf(events[0]).responsible.empty());
    }
    SUBCASE("task delete") {
        const auto events = harness.Events(Pair("task[delete][0][id]", "1564845"));
        REQUIRE(events.size() == 1);
        CHECK(events[0].id == "task:1564845:deleted");
        CHECK(events[0].at == FromEpoch(kReceivedAt));
        CHECK(std::get<domain::TaskDeleted>(events[0].body).task_id == "1564845");
    }
    SUBCASE("notes other than text notes, and notes of contacts, give nothing") {
        for (const std::string type : {"5", "10", "11", "25"}) {
            const std::string body =
                fmt::format("{}&{}&{}&{}", Pair("leads[note][0][note][id]", "1"),
                            Pair("leads[note][0][note][element_id]", "2"),
                            Pair("leads[note][0][note][note_type]", type),
                            Pair("leads[note][0][note][created_at]", "1793599200"));
            CHECK(harness.Events(body).empty());
        }
        CHECK(harness
                  .Events(fmt::format("{}&{}&{}&{}", Pair("contacts[note][0][note][id]", "1"),
                                      Pair("contacts[note][0][note][element_id]", "2"),
                                      Pair("contacts[note][0][note][note_type]", "4"),
                                      Pair("contacts[note][0][note][text]", "Привет")))
                  .empty());
    }
    SUBCASE("unknown entities and actions are accepted and give nothing") {
        for (const std::string& body :
             {Pair("contacts[add][0][id]", "1") + "&" + Pair("contacts[add][0][name]", "Иван") +
                  "&" + Pair("contacts[add][0][linked_leads_id][9982719][ID]", "9982719"),
              Pair("contacts[update][0][type]", "company") + "&" + Pair("account[subdomain]", "x"),
              Pair("customers[add][0][id]", "1"), Pair("unsorted[delete][0][action]", "accept"),
              Pair("talk[add][0][talk_id]", "abc"), Pair("leads[merge][0][id]", "x")}) {
            CAPTURE(body);
            CHECK(harness.Events(body).empty());
            const auto elements = harness.Elements(body);
            REQUIRE(elements.has_value());
            CHECK_FALSE(elements->ignored.empty());
        }
    }
    SUBCASE("several entities and indices in one body, indices in numeric order") {
        std::string body;
        for (int i = 0; i < 12; ++i) {
            body += fmt::format("{}{}&{}&{}&{}", i == 0 ? "" : "&",
                                Pair(fmt::format("leads[add][{}][id]", i), std::to_string(100 + i)),
                                Pair(fmt::format("leads[add][{}][status_id]", i), "10216995"),
                                Pair(fmt::format("leads[add][{}][pipeline_id]", i), "2116"),
                                Pair(fmt::format("leads[add][{}][date_create]", i), "1793599200"));
            body += "&" + Pair(fmt::format("leads[add][{}][last_modified]", i), "1793599200");
        }
        body += "&" + Pair("task[delete][0][id]", "1") + "&" + Pair("leads[delete][0][id]", "99");
        const auto events = harness.Events(body);
        REQUIRE(events.size() == 14);
        for (int i = 0; i < 12; ++i) {
            CHECK(DealOf(events[static_cast<std::size_t>(i)]).id == std::to_string(100 + i));
        }
        CHECK(std::holds_alternative<domain::DealDeleted>(events[12].body));
        CHECK(std::holds_alternative<domain::TaskDeleted>(events[13].body));
    }
    SUBCASE("a restore is an upsert") {
        const auto events = harness.Events(LeadBody("restore"));
        REQUIRE(events.size() == 1);
        CHECK(events[0].id == "lead:777@1793599200:10216994");
        CHECK(DealOf(events[0]).title == "ООО «Ромашка»");
    }
    SUBCASE("no responsible, no custom fields") {
        const domain::Deal deal = DealOf(harness.Events(LeadBody("add"))[0]);
        CHECK(deal.responsible.empty());
        CHECK(deal.fields.empty());
        CHECK(deal.created_at == deal.updated_at);
    }
}

TEST_CASE("AmoDecoder resolves stages per pipeline and asks for a refresh when it cannot") {
    Harness harness;
    SUBCASE("142 and 143 by (pipeline, status)") {
        CHECK(DealOf(harness.Events(LeadBody("update", "", "142"))[0]).stage ==
              "Успешно реализовано");
        CHECK(DealOf(harness.Events(LeadBody("update", "", "143"))[0]).stage ==
              "Закрыто и не реализовано");
        const std::string other =
            LeadBody("update", Pair("leads[update][0][pipeline_id]", "4740529"), "143");
        CHECK(DealOf(harness.Events(other)[0]).stage == "Не пришёл");
        CHECK(DealOf(harness.Events(other)[0]).pipeline == "4740529");
    }
    SUBCASE("no pipeline_id: the one pipeline that has the status") {
        const std::string body = fmt::format("{}&{}&{}&{}", Pair("leads[status][0][id]", "1"),
                                             Pair("leads[status][0][name]", "Запись"),
                                             Pair("leads[status][0][status_id]", "43315792"),
                                             Pair("leads[status][0][last_modified]", "1793599200"));
        const domain::Deal deal = DealOf(harness.Events(body)[0]);
        CHECK(deal.pipeline == "4740529");
        CHECK(deal.stage == "Запись подтверждена");
        SUBCASE("but 142 is in every pipeline") {
            const std::string won =
                fmt::format("{}&{}&{}", Pair("leads[status][0][id]", "1"),
                            Pair("leads[status][0][status_id]", "142"),
                            Pair("leads[status][0][last_modified]", "1793599200"));
            CHECK(harness.Decoder().Validate(won).has_value());
            const auto decoded = harness.Decode(won);
            REQUIRE_FALSE(decoded.has_value());
            CHECK(decoded.error().code == ErrorCode::kInvalidInput);
            CHECK(decoded.error().message ==
                  "leads[status][0][pipeline_id]: required: status 142 is in 4 pipelines");
        }
    }
    SUBCASE("a status added since the last refresh: kUnavailable, then fine after a refresh") {
        const std::string body = LeadBody("status", "", "10216999");
        CHECK(harness.Unavailable(body) ==
              "leads[status][0]: status 10216999 of pipeline 2116 is not in the amoCRM catalog "
              "of tenant acme (added since the last refresh?)");
        Catalog refreshed = SampleCatalog();
        refreshed.pipelines[0].statuses.push_back({10216999, "Счёт выставлен", 30, 0});
        harness.cache.Set(refreshed);
        CHECK(DealOf(harness.Events(body)[0]).stage == "Счёт выставлен");
    }
    SUBCASE("a new pipeline, an empty catalog, no catalog at all") {
        CHECK(harness.Unavailable(LeadBody("add", Pair("leads[add][0][pipeline_id]", "31337"))) ==
              "leads[add][0]: pipeline 31337 is not in the amoCRM catalog of tenant acme (added "
              "since the last refresh?)");
        harness.cache.Set(Catalog{});
        CHECK(harness.Unavailable(LeadBody("add")).starts_with("leads[add][0]: pipeline 2116 "));
        harness.no_catalog = true;
        CHECK(harness.Unavailable(LeadBody("add")) ==
              "the amoCRM catalog of tenant acme is not loaded yet");
    }
    SUBCASE("an old stage the catalog does not know is no reason to fail") {
        const auto events =
            harness.Events(LeadBody("status", Pair("leads[status][0][old_status_id]", "5550555")));
        REQUIRE(events.size() == 1);
        CHECK(DealOf(events[0]).stage == "Переговоры");
    }
    SUBCASE("an old stage in another pipeline, named or found") {
        for (const std::string& extra : {Pair("leads[status][0][old_status_id]", "20067736") + "&" +
                                             Pair("leads[status][0][old_pipeline_id]", "9217056"),
                                         Pair("leads[status][0][old_status_id]", "20067736")}) {
            const auto events = harness.Events(LeadBody("status", extra));
            REQUIRE(events.size() == 2);
            CHECK(DealOf(events[0]).pipeline == "9217056");
            CHECK(DealOf(events[0]).stage == "Ожидает оплаты");
            CHECK(DealOf(events[1]).pipeline == "2116");
        }
    }
    SUBCASE("old_status_id equal to status_id is no transition") {
        CHECK(
            harness.Events(LeadBody("status", Pair("leads[status][0][old_status_id]", "10216994")))
                .size() == 1);
    }
}

TEST_CASE("AmoDecoder keys custom fields by the webhook's name, else the catalog's, else the id") {
    Harness harness;
    const std::string body = LeadBody(
        "update",
        fmt::format("{}&{}&{}&{}&{}&{}&{}&{}",
                    Pair("leads[update][0][custom_fields][0][id]", "500001"),
                    Pair("leads[update][0][custom_fields][0][values][0][value]", "150000"),
                    Pair("leads[update][0][custom_fields][1][id]", "424242"),
                    Pair("leads[update][0][custom_fields][1][values][0][value]", "x"),
                    Pair("leads[update][0][custom_fields][2][id]", "66340"),
                    Pair("leads[update][0][custom_fields][2][name]", "Каналы"),
                    Pair("leads[update][0][custom_fields][2][values][0][enum]", "139518"),
                    Pair("leads[update][0][custom_fields][2][values][1][value]", "Звонок")));
    const domain::Deal deal = DealOf(harness.Events(body)[0]);
    CHECK(deal.fields == std::map<std::string, std::string>{{"Бюджет проекта", "150000"},
                                                            {"424242", "x"},
                                                            {"Каналы", "139518, Звонок"}});
}

TEST_CASE("AmoDecoder reads a body over 8 KB with many Cyrillic custom fields") {
    Harness harness;
    std::string extra;
    for (int i = 0; i < 60; ++i) {
        const std::string prefix = fmt::format("leads[update][0][custom_fields][{}]", i);
        extra += fmt::format("{}{}&{}&{}", i == 0 ? "" : "&",
                             Pair(prefix + "[id]", std::to_string(700000 + i)),
                             Pair(prefix + "[name]", fmt::format("Поле №{} — «примечание»", i)),
                             Pair(prefix + "[values][0][value]",
                                  fmt::format("Значение {}: ёжик в тумане, д. {}", i, i * 7)));
    }
    const std::string body = LeadBody("update", extra);
    REQUIRE(body.size() > 16 * 1024);
    const domain::Deal deal = DealOf(harness.Events(body)[0]);
    REQUIRE(deal.fields.size() == 60);
    CHECK(deal.fields.at("Поле №0 — «примечание»") == "Значение 0: ёжик в тумане, д. 0");
    CHECK(deal.fields.at("Поле №59 — «примечание»") == "Значение 59: ёжик в тумане, д. 413");
}

TEST_CASE("AmoDecoder event ids make repeats harmless") {
    Harness harness;
    SUBCASE("the same body twice: the same ids and the same dedupe key") {
        const std::string body = Fixture("status_lead.form");
        const auto first = harness.Events(body);
        const auto second = harness.Events(body);
        REQUIRE(first.size() == second.size());
        for (std::size_t i = 0; i < first.size(); ++i) {
            CHECK(first[i].id == second[i].id);
        }
        const AmoDecoder decoder = harness.Decoder();
        CHECK(decoder.DedupeKey(body) == decoder.DedupeKey(std::string(body)));
        CHECK(decoder.DedupeKey(body).size() == 64);
        CHECK(decoder.DedupeKey(body) != decoder.DedupeKey(body + "&x=1"));
        CHECK(decoder.DedupeKey("") ==
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
    SUBCASE("update_lead and status_lead of one change share the card's id") {
        const auto update = harness.Events(LeadBody("update"));
        const auto status = harness.Events(LeadBody("status"));
        CHECK(update.back().id == status.back().id);
    }
    SUBCASE("a different time or status is a different version") {
        CHECK(harness.Events(LeadBody("update"))[0].id !=
              harness.Events(LeadBody("update", "", "10216995"))[0].id);
        CHECK(harness.Events(LeadBody("update"))[0].id !=
              harness
                  .Events(LeadBody("update", Pair("leads[update][0][updated_at]", "1793599201")))[0]
                  .id);
    }
    SUBCASE("the builders the API reader shares") {
        CHECK(LeadVersionEventId(1, 2, 142) == "lead:1@2:142");
        CHECK(LeadPriorStageEventId(1, 2, 142, 7) == "lead:1@2:142:from:7");
        CHECK(LeadDeletedEventId(1) == "lead:1:deleted");
        CHECK(TaskVersionEventId(5, 9) == "task:5@9");
        CHECK(TaskDeletedEventId(5) == "task:5:deleted");
        CHECK(NoteEventId(3) == "note:3");
    }
}

TEST_CASE("AmoDecoder refuses only what is not a form, with the key that breaks it") {
    Harness harness;
    struct Case {
        std::string body;
        std::string reason;
    };
    const std::vector<Case> cases = {
        {"", "body: empty; expected an amoCRM webhook form (leads[...], task[...])"},
        {"&&", "body: empty; expected an amoCRM webhook form (leads[...], task[...])"},
        {R"({"leads":{"status":[]}})", R"(key "{"leads":{"status":[]}}": unbalanced brackets)"},
        // Percent-encoding.
        {"leads%5Bstatus%5D%5B0%5D%5Bname%5D=%D0%9",
         R"(leads[status][0][name]: broken percent-encoding ("%9"))"},
        {"leads%5Bstatus%5D%5B0%5D%5Bname%5D=100%",
         R"(leads[status][0][name]: broken percent-encoding ("%"))"},
        {"leads%5Bstatus%5D%5B0%5D%5Bname%5D=%ZZ",
         R"(leads[status][0][name]: broken percent-encoding ("%ZZ"))"},
        {"leads%5Bstatus%5G=1", R"(key "leads%5Bstatus%5G": broken percent-encoding ("%5G"))"},
        // Brackets.
        {"leads[status][0=1", R"(key "leads[status][0": unbalanced brackets)"},
        {"leads[status]x=1", R"(key "leads[status]x": unbalanced brackets)"},
        {"[status][0]=1", R"(key "[status][0]": no name before '[')"},
        {"leads[a][b][c][d][e][f][g][h][i][j][k][l][m][n][o][p]=1",
         R"(key "leads[a][b][c][d][e][f][g][h][i][j][k][l][m][n][o][p]": nested deeper than 16 levels)"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.body);
        CHECK(harness.Reason(c.body) == c.reason);
    }
}

TEST_CASE("AmoDecoder fails an element it cannot understand alone, with the key that breaks it") {
    Harness harness;
    struct Case {
        std::string body;
        std::string reason;
    };
    const std::string task =
        Pair("task[add][0][id]", "9") + "&" + Pair("task[add][0][element_type]", "2");
    const std::vector<Case> cases = {
        {"foo=bar&account%5Bid%5D=1",
         "body: no amoCRM entity (leads, task, contacts, companies, customers, unsorted, "
         "catalogs, message, talk); keys: account, foo"},
        // Shapes.
        {"leads=1", "leads: expected leads[<action>][<i>][<field>]"},
        {"task=1", "task: expected task[<action>][<i>][<field>]"},
        {"leads[status]=1", "leads[status]: expected leads[status][<i>][<field>]"},
        {"leads[status][0]=1", "leads[status][0]: expected leads[status][0][<field>]"},
        {LeadBody("status", Pair("leads[status][0][custom_fields]", "1")),
         "leads[status][0][custom_fields]: expected leads[status][0][custom_fields][<i>][<field>]"},
        // Ids.
        {LeadBody("status", Pair("leads[status][0][id]", "31926520a")),
         R"(leads[status][0][id]: not a number ("31926520a"))"},
        {LeadBody("status", Pair("leads[status][0][id]", "-1")),
         R"(leads[status][0][id]: not a number ("-1"))"},
        {LeadBody("status", Pair("leads[status][0][id]", "99999999999999999999")),
         R"(leads[status][0][id]: not a number ("99999999999999999999"))"},
        {LeadBody("status", Pair("leads[status][0][id]", "")), "leads[status][0][id]: required"},
        {LeadBody("status", Pair("leads[status][0][id]", R"("")")),
         "leads[status][0][id]: required"},
        {LeadBody("update", Pair("leads[update][0][status_id]", "Переговоры")),
         R"(leads[update][0][status_id]: not a number ("Переговоры"))"},
        {LeadBody("add", Pair("leads[add][0][pipeline_id]", "2116.0")),
         R"(leads[add][0][pipeline_id]: not a number ("2116.0"))"},
        {LeadBody("add", Pair("leads[add][0][responsible_user_id]", "u7")),
         R"(leads[add][0][responsible_user_id]: not a number ("u7"))"},
        {LeadBody("add", Pair("leads[add][0][custom_fields][3][id]", "x1")),
         R"(leads[add][0][custom_fields][3][id]: not a number ("x1"))"},
        {LeadBody("add", Pair("leads[add][0][custom_fields][3][values][0][value]", "1")),
         "leads[add][0][custom_fields][3][id]: required"},
        {Pair("leads[delete][0][id]", "abc"), R"(leads[delete][0][id]: not a number ("abc"))"},
        {Pair("leads[delete][0]", "abc"), R"(leads[delete][0]: not a number ("abc"))"},
        {Pair("leads[delete][0][status_id]", "1"), "leads[delete][0][id]: required"},
        {Pair("task[delete][0][id]", "1 "), R"(task[delete][0][id]: not a number ("1 "))"},
        {task + "&" + Pair("task[add][0][element_id]", "lead-5"),
         R"(task[add][0][element_id]: not a number ("lead-5"))"},
        {Pair("leads[note][0][note][id]", "n1"),
         R"(leads[note][0][note][id]: not a number ("n1"))"},
        // Missing keys that nothing can stand in for.
        {Pair("leads[status][0][status_id]", "1") + "&" +
             Pair("leads[status][0][last_modified]", "1"),
         "leads[status][0][id]: required"},
        {Pair("leads[status][0][id]", "1") + "&" + Pair("leads[status][0][last_modified]", "1"),
         "leads[status][0][status_id]: required"},
        {task + "&" + Pair("task[add][0][last_modified]", "1793599200"),
         "task[add][0][element_id]: required"},
        {Pair("leads[note][0][note][id]", "1") + "&" +
             Pair("leads[note][0][note][created_at]", "1"),
         "leads[note][0][note][element_id]: required"},
        // Times and text.
        {LeadBody("add", Pair("leads[add][0][last_modified]", "вчера")),
         R"(leads[add][0][last_modified]: not a unix time or "YYYY-MM-DD HH:MM:SS" ("вчера"))"},
        {task + "&" + Pair("task[add][0][element_id]", "5") + "&" +
             Pair("task[add][0][last_modified]", "1") + "&" +
             Pair("task[add][0][complete_till]", "2025-02-30 10:00:00"),
         R"(task[add][0][complete_till]: not a unix time or "YYYY-MM-DD HH:MM:SS" ("2025-02-30 10:00:00"))"},
        {LeadBody("add", "leads%5Badd%5D%5B0%5D%5Bname%5D=%D0%FF"),
         R"(leads[add][0][name]: not valid UTF-8 ("\xD0\xFF"))"},
        {LeadBody("add",
                  "leads%5Badd%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bid%5D=1&"
                  "leads%5Badd%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bvalues%5D%5B0%5D=%C0%AF"),
         R"(leads[add][0][custom_fields][0][values][0]: not valid UTF-8 ("\xC0\xAF"))"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.body);
        CHECK(harness.ElementReason(c.body) == c.reason);
    }

    SUBCASE("the other elements of the body are applied") {
        const std::string body = LeadBody("status") + "&" + Pair("leads[status][1][id]", "x") +
                                 "&" + Pair("leads[status][1][status_id]", "10216994") + "&" +
                                 Pair("task[delete][0][id]", "55");
        const auto elements = harness.Elements(body);
        REQUIRE(elements.has_value());
        CHECK(elements->failed ==
              std::vector<std::string>{R"(leads[status][1][id]: not a number ("x"))"});
        REQUIRE(elements->events.size() == 2);
        CHECK(DealOf(elements->events[0]).id == "777");
        CHECK(std::get<domain::TaskDeleted>(elements->events[1].body).task_id == "55");
    }
    SUBCASE("status 142 without a pipeline fails that element, not the body") {
        const std::string body = fmt::format("{}&{}&{}", Pair("leads[status][0][id]", "1"),
                                             Pair("leads[status][0][status_id]", "142"),
                                             Pair("task[delete][0][id]", "56"));
        const auto elements = harness.Elements(body);
        REQUIRE(elements.has_value());
        CHECK(elements->failed ==
              std::vector<std::string>{"leads[status][0][pipeline_id]: required: "
                                       "status 142 is in 4 pipelines"});
        CHECK(elements->events.size() == 1);
    }
}

TEST_CASE(
    "AmoDecoder survives truncated and corrupted fixtures, Validate and ValidateAndDecode agreeing "
    "with Decode") {
    Harness harness;
    const AmoDecoder decoder = harness.Decoder();
    const auto check = [&](const std::string& body) {
        const crm::WebhookRequest request = Harness::Request(body);
        const auto validated = decoder.Validate(body);
        const auto elements = decoder.DecodeElements(request);
        const auto decoded = decoder.Decode(request);
        // The intake's one-parse path: Validate's error, else DecodeElements' result or none.
        const auto both = decoder.ValidateAndDecode(request);
        REQUIRE(both.has_value() == validated.has_value());
        if (!validated.has_value()) {
            // Not a form: refused by every path with the same reason.
            CHECK(validated.error().code == ErrorCode::kInvalidInput);
            CHECK(both.error().message == validated.error().message);
            REQUIRE_FALSE(elements.has_value());
            CHECK(elements.error().message == validated.error().message);
            REQUIRE_FALSE(decoded.has_value());
            CHECK(decoded.error().message == validated.error().message);
            CHECK(form::IsValidUtf8(validated.error().message));
            return;
        }
        if (!elements.has_value()) {
            // A form: only what needs the catalog keeps the whole body back.
            CHECK(elements.error().code == ErrorCode::kUnavailable);
            CHECK_FALSE(both->has_value());
            REQUIRE_FALSE(decoded.has_value());
            CHECK(decoded.error().code == ErrorCode::kUnavailable);
            return;
        }
        REQUIRE(both->has_value());
        REQUIRE((*both)->events.size() == elements->events.size());
        for (std::size_t i = 0; i < elements->events.size(); ++i) {
            CHECK((*both)->events[i].id == elements->events[i].id);
            CHECK((*both)->events[i].at == elements->events[i].at);
            CHECK((*both)->events[i].body.index() == elements->events[i].body.index());
        }
        CHECK((*both)->failed == elements->failed);
        for (const std::string& failure : elements->failed) {
            CHECK(form::IsValidUtf8(failure));
        }
        if (elements->failed.empty()) {
            REQUIRE(decoded.has_value());
            CHECK(decoded->size() == elements->events.size());
        } else {
            REQUIRE_FALSE(decoded.has_value());
            CHECK(decoded.error().message == elements->failed.front());
        }
    };
    std::uint32_t seed = 12345;
    const auto next = [&seed] {
        seed = seed * 1664525u + 1013904223u;
        return seed >> 8;
    };
    for (const std::string name :
         {"status_lead.form", "responsible_lead.form", "status_lead_won.form",
          "status_lead_won.decoded.txt", "update_lead.form", "status_lead_compact.form",
          "kommo_status_lead.form", "kommo_delete_lead.form", "kommo_add_task.form",
          "kommo_complete_task.form", "kommo_note_lead.form"}) {
        CAPTURE(name);
        const std::string body = Fixture(name);
        // Cut at every third byte (and at the end): inside escapes, keys, brackets and values.
        for (std::size_t length = 0; length < body.size(); length += 3) {
            check(body.substr(0, length));
        }
        check(body);
        constexpr std::string_view kNoise = "%[]=&+0x\xFF\xD0";
        for (int i = 0; i < 200; ++i) {
            std::string mutated = body;
            for (int k = 0; k < 3; ++k) {
                mutated[next() % mutated.size()] = kNoise[next() % kNoise.size()];
            }
            check(mutated);
        }
    }
}

TEST_CASE("form::Parse follows PHP's rules for bracket keys") {
    SUBCASE("values, spaces, repeats, empty pairs and appends") {
        const auto parsed = form::Parse("a=1+2%20%2B&&b[x][]=p&b[x][]=q&a=3&=skip&c&d[5]=x&d[]=y");
        REQUIRE(parsed.has_value());
        CHECK(parsed->Find("a")->value() == "3");
        const form::Node* x = parsed->Find("b")->Find("x");
        REQUIRE(x != nullptr);
        CHECK(x->Find("0")->value() == "p");
        CHECK(x->Find("1")->value() == "q");
        CHECK(parsed->Find("c")->has_value());
        CHECK(parsed->Find("c")->value().empty());
        CHECK(parsed->Find("d")->Find("6")->value() == "y");
        CHECK(parsed->Find("") == nullptr);
        CHECK(form::PercentDecode("1+2%20%2B") == "1 2 +");
    }
    SUBCASE("indices iterate numerically, before names") {
        const auto parsed = form::Parse("l[10]=c&l[name]=n&l[2]=b&l[0]=a");
        REQUIRE(parsed.has_value());
        std::string order;
        for (const auto& [key, node] : parsed->Find("l")->children()) {
            order += key + ",";
        }
        CHECK(order == "0,2,10,name,");
    }
    SUBCASE("Printable escapes what is not printable UTF-8 and shortens") {
        CHECK(form::Printable("Привет\n\xFF") == "Привет\\x0A\\xFF");
        CHECK(form::Printable("абвгд", 3) == "абв...");
        CHECK(form::IsValidUtf8("ёжик"));
        CHECK_FALSE(form::IsValidUtf8("\xED\xA0\x80"));
    }
}

}  // namespace fg::adapters::amocrm
