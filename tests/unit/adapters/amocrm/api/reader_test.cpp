#include "adapters/amocrm/api/reader.hpp"

#include <doctest/doctest.h>

#include "adapters/amocrm/api/connector.hpp"
#include "adapters/amocrm/api/mapping.hpp"
#include "fake_amo.hpp"

namespace fg::adapters::amocrm {
namespace {

using testing::FakeAmo;
using testing::ListBody;
using testing::Reply;
using Json = nlohmann::json;

constexpr std::int64_t kNow = 1767225600;    // 2026-01-01T00:00:00Z
constexpr std::int64_t kSince = 1767139200;  // a day earlier

Json Lead(std::int64_t id, std::int64_t status, std::int64_t updated_at) {
    return {{"id", id},
            {"name", "Сделка " + std::to_string(id)},
            {"price", 25000},
            {"responsible_user_id", 321123},
            {"status_id", status},
            {"pipeline_id", 3177727},
            {"created_at", 1767000000},
            {"updated_at", updated_at},
            {"is_deleted", false},
            {"custom_fields_values",
             {{{"field_id", 555}, {"field_name", "Бюджет"}, {"values", {{{"value", "500000"}}}}},
              {{"field_id", 777},
               {"field_name", "Дата оплаты"},
               {"field_type", "date"},
               {"values", {{{"value", 1767139200}}}}},
              {{"field_id", 888},
               {"field_name", "Каналы"},
               {"values",
                {{{"value", "Сайт"}, {"enum_id", 1}}, {{"value", "Звонок"}, {"enum_id", 2}}}}}}}};
}

// An account with 3 leads over 2 pages (plus amoCRM's 204 after a dangling next), one deleted
// lead, a lead task and a contact task, a common note and a call note, one stage change.
FakeAmo::Handler Account(bool users_forbidden = false) {
    return [users_forbidden](const httplib::Request& request, httplib::Response& response) {
        const std::string page = request.has_param("page") ? request.get_param_value("page") : "1";
        if (request.path == "/api/v4/leads/pipelines") {
            Reply(response, testing::PipelinesBody());
        } else if (request.path == "/api/v4/leads/custom_fields") {
            Reply(response, ListBody("custom_fields",
                                     {{{"id", 555}, {"name", "Бюджет"}, {"type", "numeric"}},
                                      {{"id", 777}, {"name", "Дата оплаты"}, {"type", "date"}}}));
        } else if (request.path == "/api/v4/users") {
            if (users_forbidden) {
                Reply(response,
                      {{"title", "Forbidden"}, {"status", 403}, {"detail", "Access denied"}}, 403);
            } else {
                Reply(response, ListBody("users", {{{"id", 321123}, {"name", "Анна"}}}));
            }
        } else if (request.path == "/api/v4/leads" &&
                   request.get_param_value("with") == "only_deleted") {
            Reply(response,
                  ListBody("leads",
                           {{{"id", 99}, {"updated_at", kSince + 50}, {"is_deleted", true}}}));
        } else if (request.path == "/api/v4/leads") {
            if (page == "1") {
                Reply(response,
                      ListBody("leads", {Lead(1, 32392159, kSince + 10), Lead(2, 142, kSince + 20)},
                               "https://example.amocrm.ru/api/v4/leads?page=2&limit=250"));
            } else if (page == "2") {
                Reply(response,
                      ListBody("leads", Json::array({Lead(3, 32392165, kSince + 30)}),
                               "https://example.amocrm.ru/api/v4/leads?page=3&limit=250"));
            } else {
                response.status = 204;
            }
        } else if (request.path == "/api/v4/tasks") {
            Reply(response, ListBody("tasks", {{{"id", 56981},
                                                {"entity_type", "leads"},
                                                {"entity_id", 1},
                                                {"responsible_user_id", 321123},
                                                {"is_completed", false},
                                                {"text", "Позвонить"},
                                                {"complete_till", kSince + 3600},
                                                {"created_at", kSince},
                                                {"updated_at", kSince + 5}},
                                               {{"id", 56982},
                                                {"entity_type", "contacts"},
                                                {"entity_id", 5},
                                                {"text", "Не наша"},
                                                {"updated_at", kSince}}}));
        } else if (request.path == "/api/v4/leads/notes") {
            Reply(response, ListBody("notes", {{{"id", 4001},
                                                {"entity_id", 1},
                                                {"note_type", "common"},
                                                {"created_at", kSince + 7},
                                                {"updated_at", kSince + 7},
                                                {"params", {{"text", "Клиент просит КП"}}}},
                                               {{"id", 4002},
                                                {"entity_id", 1},
                                                {"note_type", "call_in"},
                                                {"created_at", kSince + 8},
                                                {"params", {{"duration", 60}}}}}));
        } else if (request.path == "/api/v4/events") {
            Reply(
                response,
                ListBody("events",
                         {{{"id", "01drbfj5a8k9zd60bgg907a6w9"},
                           {"type", "lead_status_changed"},
                           {"entity_id", 3},
                           {"entity_type", "lead"},
                           {"created_by", 7654321},
                           {"created_at", kSince + 25},
                           {"value_after",
                            {{{"lead_status", {{"id", 32392165}, {"pipeline_id", 3177727}}}}}},
                           {"value_before",
                            {{{"lead_status", {{"id", 32392159}, {"pipeline_id", 3177727}}}}}}}}));
        } else {
            response.status = 404;
        }
    };
}

TEST_CASE("FetchDirectory reads pipelines, custom fields and users into the shared cache") {
    const ManualClock clock{FromEpoch(kNow)};
    FakeAmo fake(Account());
    auto cache = std::make_shared<CatalogCache>();
    AmoConnector connector(testing::TestOptions(fake, nullptr, &clock), cache);
    auto directory = connector.FetchDirectory();
    REQUIRE(directory);
    REQUIRE(directory->pipelines.size() == 2);
    const domain::Pipeline& main = directory->pipelines[0];
    CHECK(main.id == "3177727");
    REQUIRE(main.stages.size() == 5);
    CHECK(main.stages[0].name == "Первичный контакт");
    CHECK(main.stages[0].kind == domain::StageKind::kOpen);
    CHECK(main.Find("Неразобранное")->kind == domain::StageKind::kIntake);
    CHECK(main.Find("Успешно реализовано")->kind == domain::StageKind::kWon);
    CHECK(directory->users.at("321123") == "Анна");
    CHECK(cache->Get()->lead_fields.size() == 2);
    CHECK(cache->Get()->FieldName(777) == "Дата оплаты");
    CHECK(fake.Requests("GET", "/api/v4/users")[0].Param("limit") == "250");
    CHECK(connector.Blocked().empty());
}

TEST_CASE("A 403 on /users means no admin rights: no names, no block") {
    const ManualClock clock{FromEpoch(kNow)};
    FakeAmo fake(Account(/*users_forbidden=*/true));
    AmoConnector connector(testing::TestOptions(fake, nullptr, &clock), nullptr);
    auto directory = connector.FetchDirectory();
    REQUIRE(directory);
    CHECK(directory->users.empty());
    CHECK(directory->pipelines.size() == 2);
    CHECK(connector.Blocked().empty());
    REQUIRE(connector.FetchDirectory());  // and the account keeps working
}

TEST_CASE("Pull walks catalog, leads, deleted leads, tasks, notes and events one page a call") {
    const ManualClock clock{FromEpoch(kNow)};
    FakeAmo fake(Account());
    auto cache = std::make_shared<CatalogCache>();
    AmoConnector connector(testing::TestOptions(fake, nullptr, &clock), cache);

    crm::PullRequest request{.since = FromEpoch(kSince)};
    std::vector<crm::PullPage> pages;
    for (int guard = 0; guard < 20; ++guard) {
        auto page = connector.Pull(request);
        REQUIRE(page);
        pages.push_back(*page);
        if (page->done) {
            break;
        }
        request.cursor = page->cursor;
    }
    // catalog, leads p1, leads p2, leads p3 (204), deleted, tasks, notes, events.
    REQUIRE(pages.size() == 8);
    CHECK(pages.back().done);
    CHECK(pages[0].events.empty());
    CHECK(pages[0].progress == "catalog: 2 pipelines, 2 fields, 1 users");
    // The counts are the core's (engine::FormatPullCounts): a page says what it read.
    CHECK(pages[1].progress == "leads");
    CHECK(pages[2].progress == "leads");

    // Request shapes.
    const auto leads = fake.Requests("GET", "/api/v4/leads");
    REQUIRE(leads.size() == 4);
    CHECK(leads[0].Param("page") == "1");
    CHECK(leads[0].Param("limit") == "250");
    CHECK(leads[0].Param("order[updated_at]") == "asc");
    CHECK(leads[0].Param("filter[updated_at][from]") == std::to_string(kSince));
    CHECK(leads[1].Param("page") == "2");
    CHECK(leads[2].Param("page") == "3");
    CHECK(leads[3].Param("with") == "only_deleted");
    const auto tasks = fake.Requests("GET", "/api/v4/tasks");
    REQUIRE(tasks.size() == 1);
    CHECK(tasks[0].Param("filter[entity_type]") == "leads");
    CHECK(tasks[0].Param("filter[updated_at][from]") == std::to_string(kSince));
    const auto notes = fake.Requests("GET", "/api/v4/leads/notes");
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].Param("filter[updated_at][from]") == std::to_string(kSince));
    const auto events = fake.Requests("GET", "/api/v4/events");
    REQUIRE(events.size() == 1);
    CHECK(events[0].Param("filter[type]") == "lead_status_changed");
    CHECK(events[0].Param("filter[created_at][from]") == std::to_string(kSince));
    CHECK(events[0].Param("filter[created_at][to]") == std::to_string(kNow));
    CHECK(events[0].Param("limit") == "100");
    for (const auto& seen : fake.Requests()) {
        CHECK(seen.authorization == std::string("Bearer ") + testing::kToken);
    }

    // Leads: the card as the rules see it.
    REQUIRE(pages[1].events.size() == 2);
    const domain::Event& first = pages[1].events[0];
    CHECK(first.id == "lead:1@" + std::to_string(kSince + 10) + ":32392159");
    CHECK(first.at == FromEpoch(kSince + 10));
    const auto& deal = std::get<domain::DealUpserted>(first.body).deal;
    CHECK(deal.tenant == "acme");
    CHECK(deal.id == "1");
    CHECK(deal.title == "Сделка 1");
    CHECK(deal.pipeline == "3177727");
    CHECK(deal.stage == "Первичный контакт");
    CHECK(deal.responsible == "321123");
    CHECK(deal.created_at == FromEpoch(1767000000));
    CHECK(deal.fields.at("Бюджет") == "500000");
    CHECK(deal.fields.at("Дата оплаты") == std::to_string(kSince));
    CHECK(deal.fields.at("Каналы") == "Сайт, Звонок");  // not in the catalog: the item's name
    CHECK(std::get<domain::DealUpserted>(pages[1].events[1].body).deal.stage ==
          "Успешно реализовано");
    CHECK(pages[3].events.empty());  // the 204 after a dangling next

    // Deleted leads.
    REQUIRE(pages[4].events.size() == 1);
    CHECK(pages[4].events[0].id == "lead:99:deleted");
    CHECK(std::get<domain::DealDeleted>(pages[4].events[0].body).deal_id == "99");

    // Tasks of leads only.
    REQUIRE(pages[5].events.size() == 1);
    CHECK(pages[5].events[0].id == "task:56981@" + std::to_string(kSince + 5));
    const auto& task = std::get<domain::TaskUpserted>(pages[5].events[0].body).task;
    CHECK(task.deal_id == "1");
    CHECK(task.due == FromEpoch(kSince + 3600));
    CHECK_FALSE(task.done);
    CHECK(task.text == "Позвонить");
    CHECK(task.responsible == "321123");

    // Common notes only.
    REQUIRE(pages[6].events.size() == 1);
    CHECK(pages[6].events[0].id == "note:4001");
    const auto& note = std::get<domain::NoteAdded>(pages[6].events[0].body).note;
    CHECK(note.text == "Клиент просит КП");
    CHECK(note.at == FromEpoch(kSince + 7));
    CHECK(note.deal_id == "1");

    // Stage changes from the event log: the stage left a second before, then the stage entered,
    // each observed at its CRM time without touching the card.
    REQUIRE(pages[7].events.size() == 2);
    const domain::Event& left = pages[7].events[0];
    CHECK(left.id == "amoevent:01drbfj5a8k9zd60bgg907a6w9:before");
    CHECK(left.at == FromEpoch(kSince + 24));
    CHECK(std::get<domain::StageObserved>(left.body).deal_id == "3");
    const domain::Event& change = pages[7].events[1];
    CHECK(change.id == "amoevent:01drbfj5a8k9zd60bgg907a6w9");
    CHECK(change.at == FromEpoch(kSince + 25));
    const auto& moved = std::get<domain::StageObserved>(change.body);
    CHECK(moved.deal_id == "3");
    CHECK(moved.pipeline == "3177727");
    CHECK(moved.stage == "Принимают решение");
    CHECK(pages[7].progress == "stage change events");
}

TEST_CASE("Pull resumes from a saved cursor at the page it names") {
    const ManualClock clock{FromEpoch(kNow)};
    FakeAmo fake(Account());
    std::string cursor;
    {
        AmoConnector first(testing::TestOptions(fake, nullptr, &clock), nullptr);
        auto catalog = first.Pull({});
        REQUIRE(catalog);
        auto leads = first.Pull({.cursor = catalog->cursor});
        REQUIRE(leads);
        cursor = leads->cursor;  // what the core persisted before the process died
    }
    const std::size_t before = fake.Requests("GET", "/api/v4/leads").size();
    CHECK(before == 1);

    // A new process: a fresh cache, so the catalog is read again before stage names are needed.
    AmoConnector second(testing::TestOptions(fake, nullptr, &clock), nullptr);
    auto resumed = second.Pull({.cursor = cursor});
    REQUIRE(resumed);
    const auto leads = fake.Requests("GET", "/api/v4/leads");
    REQUIRE(leads.size() == 2);
    CHECK(leads[1].Param("page") == "2");
    CHECK(leads[1].Param("filter[updated_at][from]").empty());  // the run started with no since
    REQUIRE(resumed->events.size() == 1);
    CHECK(std::get<domain::DealUpserted>(resumed->events[0].body).deal.stage ==
          "Принимают решение");
    CHECK(resumed->progress == "leads");

    auto decoded = DecodeCursor(resumed->cursor);
    REQUIRE(decoded);
    CHECK(decoded->count == 3);  // the phase's count went on from the saved cursor
    CHECK(decoded->phase == "leads");
    CHECK(decoded->page == 3);
    CHECK(decoded->until == kNow);
}

TEST_CASE("Pull refuses a cursor it did not write") {
    const ManualClock clock{FromEpoch(kNow)};
    FakeAmo fake(Account());
    AmoConnector connector(testing::TestOptions(fake, nullptr, &clock), nullptr);
    for (const char* bad : {"not json", R"({"v":1,"phase":"contacts","page":1,"until":0})",
                            R"({"v":2,"phase":"leads","page":1,"until":0})",
                            R"({"v":1,"phase":"leads","page":0,"until":0})"}) {
        auto page = connector.Pull({.cursor = bad});
        REQUIRE_FALSE(page);
        CHECK(page.error().code == ErrorCode::kInvalidInput);
    }
    CHECK(fake.Requests().empty());
}

TEST_CASE("Cursor round trip") {
    PullCursor cursor{.phase = "events", .page = 12, .since = 5, .until = 10, .count = 2750};
    auto decoded = DecodeCursor(EncodeCursor(cursor));
    REQUIRE(decoded);
    CHECK(decoded->phase == "events");
    CHECK(decoded->page == 12);
    CHECK(decoded->since == 5);
    CHECK(decoded->until == 10);
    CHECK(decoded->count == 2750);
}

TEST_CASE("Mapping tolerates ids as strings and skips what is not ours") {
    Catalog catalog;
    auto lead = MapLead({{"id", "17657"},
                         {"status_id", "2030"},
                         {"pipeline_id", 1113},
                         {"updated_at", 1588241643},
                         {"created_at", 1587741226},
                         {"custom_fields_values", nullptr}},
                        catalog, "t");
    REQUIRE(lead);
    const auto& deal = std::get<domain::DealUpserted>(lead->body).deal;
    CHECK(deal.stage == "2030");  // unknown status: its id
    CHECK(deal.fields.empty());
    CHECK(lead->id == "lead:17657@1588241643:2030");
    CHECK_FALSE(MapLead({{"name", "no id"}}, catalog, "t"));
    CHECK_FALSE(MapTask({{"id", 1}, {"entity_type", "companies"}, {"entity_id", 2}}));
    CHECK_FALSE(MapNote({{"id", 1}, {"entity_id", 2}, {"note_type", "call_out"}}));
    CHECK(MapStatusEvent({{"id", "x"}, {"type", "lead_added"}}, catalog, "t").empty());
    auto done = MapTask({{"id", 5},
                         {"entity_type", "leads"},
                         {"entity_id", 2},
                         {"is_completed", true},
                         {"complete_till", 0},
                         {"updated_at", 9}});
    REQUIRE(done);
    CHECK(std::get<domain::TaskUpserted>(done->body).task.done);
    CHECK_FALSE(std::get<domain::TaskUpserted>(done->body).task.due);
}

}  // namespace
}  // namespace fg::adapters::amocrm
