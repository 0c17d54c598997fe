#include "src/storage/fetched.hpp"

#include <doctest/doctest.h>

#include "tests/unit/storage/storage_test_support.hpp"

namespace fg::storage {

TEST_CASE("FetchedDoc keeps every kind of event as it was, and what failed or was ignored") {
    domain::Deal deal{.tenant = "acme",
                      .id = "101",
                      .title = "ООО «Ромашка»",
                      .pipeline = "main",
                      .stage = "КП отправлено",
                      .responsible = "u7",
                      .fields = {{"Бюджет", "500000"}, {"", "empty key"}},
                      .created_at = T(90),
                      .updated_at = T(100),
                      .deleted = false};
    domain::Task task{.id = "t1",
                      .deal_id = "101",
                      .due = T(500),
                      .done = true,
                      .deleted = false,
                      .responsible = "u7",
                      .text = "Позвонить \"завтра\"\n",
                      .created_at = T(95),
                      .updated_at = T(99),
                      .closed_at = T(99),
                      .reschedules = 2,
                      .own = true};
    domain::Task open_task = task;
    open_task.id = "t2";
    open_task.due = std::nullopt;
    open_task.closed_at = std::nullopt;
    open_task.done = false;
    open_task.own = false;
    const FetchedDoc doc{
        .events = {{.id = "e1", .at = T(100), .body = domain::DealUpserted{.deal = deal}},
                   {.id = "e2", .at = T(101), .body = domain::DealDeleted{.deal_id = "102"}},
                   {.id = "e3", .at = T(102), .body = domain::TaskUpserted{.task = task}},
                   {.id = "e4", .at = T(103), .body = domain::TaskUpserted{.task = open_task}},
                   {.id = "e5", .at = T(104), .body = domain::TaskDeleted{.task_id = "t3"}},
                   {.id = "e6",
                    .at = T(105),
                    .body = domain::NoteAdded{.note = {.id = "n1",
                                                       .deal_id = "101",
                                                       .at = T(105),
                                                       .text = "Клиент просит КП",
                                                       .own = true}}},
                   {.id = "e7",
                    .at = T(106),
                    .body =
                        domain::StageObserved{
                            .deal_id = "101", .pipeline = "main", .stage = "Квалификация"}}},
        .failed = {"deal 103: HTTP 400"},
        .failed_reason = "fetch_failed",
        .ignored = {{"contacts", 2}},
        .gone = 1};

    const std::optional<FetchedDoc> read = DecodeFetched(EncodeFetched(doc));
    REQUIRE(read.has_value());
    CHECK(read->failed == doc.failed);
    CHECK(read->failed_reason == "fetch_failed");
    CHECK(read->ignored == doc.ignored);
    CHECK(read->gone == 1);
    REQUIRE(read->events.size() == doc.events.size());
    // Applied, the read events give the mirror what the originals give it.
    auto original = Memory();
    auto decoded = Memory();
    for (std::size_t i = 0; i < doc.events.size(); ++i) {
        CHECK(read->events[i].id == doc.events[i].id);
        CHECK(read->events[i].at == doc.events[i].at);
        CHECK(read->events[i].body.index() == doc.events[i].body.index());
        Apply(*original, doc.events[i]);
        Apply(*decoded, read->events[i]);
    }
    CHECK(Describe(Load(*decoded, "101")) == Describe(Load(*original, "101")));
    const auto& upserted = std::get<domain::DealUpserted>(read->events[0].body).deal;
    CHECK(upserted.fields == deal.fields);
    CHECK(upserted.tenant == "acme");
    const auto& done = std::get<domain::TaskUpserted>(read->events[2].body).task;
    CHECK(done.due == std::optional<Timestamp>(T(500)));
    CHECK(done.closed_at == std::optional<Timestamp>(T(99)));
    CHECK(done.reschedules == 2);
    CHECK(done.own);
    CHECK(done.text == task.text);
    CHECK_FALSE(std::get<domain::TaskUpserted>(read->events[3].body).task.due.has_value());
}

TEST_CASE("FetchedDoc stores text that is not UTF-8, and refuses what it did not write") {
    domain::Deal deal{.tenant = "acme", .id = "1", .title = std::string("bad \xff byte")};
    const std::string text = EncodeFetched(
        {.events = {{.id = "e", .at = T(1), .body = domain::DealUpserted{.deal = deal}}}});
    const auto read = DecodeFetched(text);
    REQUIRE(read.has_value());
    CHECK(std::get<domain::DealUpserted>(read->events.at(0).body).deal.title ==
          "bad \xEF\xBF\xBD byte");
    CHECK_FALSE(DecodeFetched("").has_value());
    CHECK_FALSE(DecodeFetched("{\"events\": 5}").has_value());
    CHECK_FALSE(DecodeFetched(R"({"events": [{"id": "e", "at": 1, "type": "deal.renamed"}],
                                  "failed": [], "failed_reason": "", "ignored": {}, "gone": 0})")
                    .has_value());
}

}  // namespace fg::storage
