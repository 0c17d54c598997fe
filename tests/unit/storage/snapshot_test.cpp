#include "src/storage/snapshot.hpp"

#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "src/storage/own_writes.hpp"
#include "src/storage/sweep.hpp"
#include "src/storage/wake.hpp"
#include "tests/unit/storage/storage_test_support.hpp"

namespace fg::storage {

// ---------------------------------------------------------------- snapshots

TEST_CASE("ForEachSnapshot streams exactly what LoadSnapshot returns") {
    TempDir dir;
    auto db = Open(dir.File("fg.db"));
    std::mt19937 random(7);
    const std::vector<std::string> tenants = {"acme", "beta"};
    const std::vector<std::string> stages = {"A", "B", "C", "D"};
    auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    {
        WriteTransaction transaction(*db);
        for (int i = 0; i < 3000; ++i) {
            const std::string& tenant = tenants[pick(2)];
            const std::string deal = fmt::format("{}", pick(60));  // "10" sorts before "9"
            const std::int64_t at = pick(1000);
            switch (pick(8)) {
                case 0:
                case 1:
                case 2:
                    Apply(*db,
                          DealAt(at, deal, stages[pick(4)], fmt::format("T{}", i),
                                 {{"k", fmt::format("v\"{}\\\n", i)}, {"Сумма", "1"}}),
                          tenant);
                    break;
                case 3:
                case 4:
                    Apply(*db,
                          TaskAt(at, fmt::format("t{}", pick(150)), deal,
                                 pick(2) ? std::optional<std::int64_t>(pick(2000)) : std::nullopt,
                                 pick(3) == 0),
                          tenant);
                    break;
                case 5:
                    Apply(*db, NoteAt(at, fmt::format("n{}", pick(200)), deal, "note"), tenant);
                    break;
                case 6:
                    if (pick(10) == 0) {
                        Apply(*db, DealDeletedAt(at, deal), tenant);
                    } else {
                        Apply(*db, TaskDeletedAt(at, fmt::format("t{}", pick(150))), tenant);
                    }
                    break;
                default:
                    RecordOwnWrite(*db, tenant, deal, OwnWriteKind::kRevert, stages[pick(4)],
                                   T(2000));
            }
        }
        transaction.Commit();
    }
    const std::vector<DealSnapshot> streamed = Stream(*db);
    std::vector<DealRef> all = AllDeals(*db, "");
    REQUIRE(streamed.size() == all.size());
    CHECK(streamed.size() > 60);
    std::size_t with_everything = 0;
    for (std::size_t i = 0; i < streamed.size(); ++i) {
        CHECK(streamed[i].deal.tenant == all[i].tenant);
        CHECK(streamed[i].deal.id == all[i].deal_id);
        CHECK_FALSE(streamed[i].deal.deleted);
        CHECK(Describe(streamed[i]) == Describe(Load(*db, all[i].deal_id, all[i].tenant)));
        if (!streamed[i].tasks.empty() && !streamed[i].notes.empty() &&
            streamed[i].history.size() > 1) {
            ++with_everything;
        }
    }
    CHECK(with_everything > 10);

    const std::vector<DealSnapshot> beta = Stream(*db, "beta");
    const std::vector<DealRef> beta_deals = AllDeals(*db, "beta");
    REQUIRE(beta.size() == beta_deals.size());
    CHECK(beta.size() < streamed.size());
    for (std::size_t i = 0; i < beta.size(); ++i) {
        CHECK(beta[i].deal.tenant == "beta");
        CHECK(Describe(beta[i]) == Describe(Load(*db, beta_deals[i].deal_id, "beta")));
    }

    // The parallel sweep visits the same snapshots, and its results come back in deal order
    // whatever the threads and batch sizes.
    std::vector<std::string> expected;
    for (const DealSnapshot& snapshot : streamed) {
        expected.push_back(Describe(snapshot));
    }
    for (const int threads : {1, 2, 3}) {
        for (const std::size_t batch : {1, 7, 1000}) {
            CAPTURE(threads);
            CAPTURE(batch);
            std::vector<std::string> swept;
            std::size_t batches = 0;
            SweepSnapshots<std::vector<std::string>>(
                *db, "", threads, batch,
                [](const DealSnapshot& snapshot, std::vector<std::string>& out) {
                    out.push_back(Describe(snapshot));
                },
                [&](std::vector<std::string>& out) {
                    CHECK(out.size() <= batch);
                    swept.insert(swept.end(), out.begin(), out.end());
                    ++batches;
                });
            CHECK(swept == expected);
            CHECK(batches == (expected.size() + batch - 1) / batch);
        }
    }
    std::vector<std::string> swept_beta;
    SweepSnapshots<std::vector<std::string>>(
        *db, "beta", 2, 5,
        [](const DealSnapshot& snapshot, std::vector<std::string>& out) {
            out.push_back(snapshot.deal.tenant);
        },
        [&](std::vector<std::string>& out) {
            swept_beta.insert(swept_beta.end(), out.begin(), out.end());
        });
    CHECK(swept_beta == std::vector<std::string>(beta.size(), "beta"));
}

TEST_CASE("SweepSnapshots hands a visit's exception to the caller, in deal order") {
    auto db = Memory();
    for (int i = 0; i < 500; ++i) {
        Apply(*db, DealAt(i, fmt::format("{:04}", i), "A"));
    }
    for (const int threads : {1, 2, 4}) {
        CAPTURE(threads);
        std::vector<std::string> consumed;
        auto sweep = [&] {
            SweepSnapshots<std::vector<std::string>>(
                *db, "", threads, 10,
                [](const DealSnapshot& snapshot, std::vector<std::string>& out) {
                    if (snapshot.deal.id == "0123" || snapshot.deal.id == "0321") {
                        throw std::runtime_error("deal " + snapshot.deal.id);
                    }
                    out.push_back(snapshot.deal.id);
                },
                [&](std::vector<std::string>& out) {
                    consumed.insert(consumed.end(), out.begin(), out.end());
                });
        };
        CHECK_THROWS_WITH_AS(sweep(), "deal 0123", std::runtime_error);
        REQUIRE(consumed.size() == 120);  // the batches before the failing one, and no more
        CHECK(consumed.back() == "0119");
    }
}

TEST_CASE("Deal fields survive the JSON round trip") {
    auto db = Memory();
    const std::map<std::string, std::string> fields = {
        {"", "empty key"},
        {"quote\"back\\slash", "line\nbreak\ttab\r\b\f"},
        {"Дата оплаты", "2026-11-02"},
        {"control", std::string("a\x01z", 3)},
        {"emoji", "\xF0\x9F\x98\x80"},
    };
    Apply(*db, DealAt(1, "d", "A", "Deal", fields));
    CHECK(Load(*db, "d").deal.fields == fields);
    REQUIRE(Stream(*db).size() == 1);
    CHECK(Stream(*db)[0].deal.fields == fields);

    SUBCASE("stored as a JSON object of strings, byte for byte as earlier builds wrote it") {
        CHECK(db->sql().execAndGet("SELECT fields FROM deals").getString() ==
              R"({"":"empty key","control":"a\u0001z","emoji":"😀",)"
              R"("quote\"back\\slash":"line\nbreak\ttab\r\b\f","Дата оплаты":"2026-11-02"})");
        CHECK(db->sql().execAndGet("SELECT fields ->> '$.control' FROM deals").getString() ==
              std::string("a\x01z", 3));  // SQLite's JSON functions read it
    }
    SUBCASE("bytes that are not UTF-8 are stored as U+FFFD") {
        Apply(*db, DealAt(2, "d", "A", "Deal", {{"cut\xF0\x9F", "bad\xFF"}}));
        const std::map<std::string, std::string> read = Load(*db, "d").deal.fields;
        CHECK(read == std::map<std::string, std::string>{{"cut\xEF\xBF\xBD", "bad\xEF\xBF\xBD"}});
    }
    SUBCASE("a row an earlier build wrote with bytes that are not UTF-8 still loads") {
        db->sql().exec(R"(UPDATE deals SET fields = CAST(X'7B2261FF223A2262227D' AS TEXT))");
        CHECK(Load(*db, "d").deal.fields ==
              std::map<std::string, std::string>{{"a\xEF\xBF\xBD", "b"}});  // {"a\xFF":"b"}
        CHECK(Stream(*db).at(0).deal.fields == Load(*db, "d").deal.fields);
    }
    SUBCASE("fields that are not JSON are an error") {
        db->sql().exec(R"(UPDATE deals SET fields = '{"a":')");
        CHECK_THROWS_AS(LoadSnapshot(*db, "acme", "d"), nlohmann::json::exception);
    }
    SUBCASE("fields written as any JSON object are read too") {
        db->sql().exec(
            R"(UPDATE deals SET fields = '{ "n": 5, "s": "x\u00e9\ud83d\ude00", "b": true }')");
        const std::map<std::string, std::string> read = Load(*db, "d").deal.fields;
        CHECK(read.at("n") == "5");
        CHECK(read.at("s") == "x\xC3\xA9\xF0\x9F\x98\x80");
        CHECK(read.at("b") == "true");
    }
}

TEST_CASE("A deal's history, tasks and notes survive the document round trip") {
    auto db = Memory();
    const std::string odd("nul\0byte, \"quotes\", \xD0\xAF\xF0\x9F\x98\x80 \\", 24);
    // The document keeps any bytes, even a cut UTF-8 sequence; the fields are JSON, so UTF-8.
    const std::string odd_utf8("nul\0byte, \"quotes\", \xD0\xAF\xF0\x9F\x98\x80 \\", 28);
    Apply(*db, DealAt(-5, "d", odd, odd, {{odd_utf8, odd_utf8}}, odd));  // before 1970, odd names
    for (int i = 0; i < 300; ++i) {
        Apply(*db, TaskAt(i, fmt::format("t{:03}", i), "d",
                          i % 3 == 0 ? std::nullopt : std::optional<std::int64_t>(-i), i % 2 == 0,
                          i % 5 == 0 ? std::string() : odd + std::string(i, 'x')));
    }
    Apply(*db, TaskAt(400, "t001", "d", 5'000'000'000, false));
    Apply(*db, TaskAt(401, "t001", "d", 6'000'000'000, false));
    Apply(*db, NoteAt(7, "n", "d", std::string(100'000, 'y')));
    Apply(*db, NoteAt(7, "", "d", ""));
    const DealSnapshot snapshot = Load(*db, "d");
    CHECK(snapshot.deal.stage == odd);
    CHECK(snapshot.deal.fields.at(odd_utf8) == odd_utf8);
    REQUIRE(snapshot.history.size() == 1);
    CHECK(snapshot.history[0].pipeline == odd);
    CHECK(snapshot.history[0].at == T(-5));
    REQUIRE(snapshot.tasks.size() == 300);
    CHECK(snapshot.tasks[1].due == std::optional<Timestamp>(T(6'000'000'000)));
    CHECK(snapshot.tasks[1].reschedules == 2);  // -1 -> 5e9 -> 6e9
    CHECK(snapshot.tasks[2].due == std::optional<Timestamp>(T(-2)));
    CHECK(snapshot.tasks[2].text == odd + std::string(2, 'x'));
    CHECK_FALSE(snapshot.tasks[3].due.has_value());
    CHECK(snapshot.tasks[5].text.empty());
    REQUIRE(snapshot.notes.size() == 2);
    CHECK(snapshot.notes[0].id.empty());  // (7, "") before (7, "n")
    CHECK(snapshot.notes[1].text.size() == 100'000);
    const std::vector<DealSnapshot> streamed = Stream(*db);
    REQUIRE(streamed.size() == 1);
    CHECK(Describe(streamed[0]) == Describe(snapshot));

    SUBCASE("a damaged document is an error, not a silently different deal") {
        db->sql().exec("UPDATE deals SET doc = substr(doc, 1, length(doc) - 3)");
        CHECK_THROWS_AS(LoadSnapshot(*db, "acme", "d"), SQLite::Exception);
        CHECK_THROWS_AS(Stream(*db), SQLite::Exception);
        CHECK_THROWS_AS(Apply(*db, NoteAt(8, "n2", "d", "x")), SQLite::Exception);
    }
    SUBCASE("a document of an unknown format version is refused") {
        db->sql().exec("UPDATE deals SET doc = CAST(X'02' || substr(doc, 2) AS BLOB)");
        CHECK_THROWS_AS(LoadSnapshot(*db, "acme", "d"), SQLite::Exception);
    }
}

}  // namespace fg::storage
