#include "src/storage/inbox.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/unit/storage/storage_test_support.hpp"

namespace fg::storage {

// ---------------------------------------------------------------- inbox

TEST_CASE("Inbox deduplicates per (tenant, crm, key) and tracks processing") {
    auto db = Memory();
    const InboxItem item{.tenant = "acme",
                         .crm = "generic",
                         .dedupe_key = "k1",
                         .body = "{}",
                         .received_at = T(100)};
    CHECK(InsertInbox(*db, item));
    CHECK_FALSE(InsertInbox(*db, item));
    InboxItem other_tenant = item;
    other_tenant.tenant = "beta";
    CHECK(InsertInbox(*db, other_tenant));
    InboxItem other_crm = item;
    other_crm.crm = "amocrm";
    CHECK(InsertInbox(*db, other_crm));
    InboxItem later = item;
    later.dedupe_key = "k2";
    later.body = "{\"x\":1}";
    later.received_at = T(105);
    CHECK(InsertInbox(*db, later));
    CHECK(Count(*db, "inbox") == 4);

    std::vector<InboxItem> pending = PendingInbox(*db, 10);
    REQUIRE(pending.size() == 4);
    CHECK(pending[0].tenant == "acme");
    CHECK(pending[0].dedupe_key == "k1");
    CHECK(pending[0].seq < pending[1].seq);
    CHECK(pending[3].body.empty());  // bodies are read on demand
    CHECK(InboxBody(*db, pending[3].seq) == "{\"x\":1}");
    CHECK(pending[3].received_at == T(105));
    CHECK(PendingInbox(*db, 2).size() == 2);

    InboxStats stats = GetInboxStats(*db);
    CHECK(stats.pending == 4);
    CHECK(stats.oldest_pending == std::optional<Timestamp>(T(100)));

    SettleInbox(*db, pending[0].seq, T(200), {});
    SettleInbox(*db, pending[1].seq, T(200), {.state = InboxState::kIgnored});
    SettleInbox(*db, pending[2].seq, T(200),
                {.state = InboxState::kFailed, .reason = "decoder", .error = "cannot decode"});
    pending = PendingInbox(*db, 10);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].dedupe_key == "k2");
    stats = GetInboxStats(*db);
    CHECK(stats.pending == 1);
    CHECK(stats.oldest_pending == std::optional<Timestamp>(T(105)));
    CHECK(
        db->sql().execAndGet("SELECT COUNT(*) FROM inbox WHERE error = 'cannot decode'").getInt() ==
        1);
    CHECK(db->sql().execAndGet("SELECT COUNT(*) FROM inbox WHERE error IS NULL").getInt() == 3);
    CHECK_FALSE(InsertInbox(*db, item));  // processed items still deduplicate

    SettleInbox(*db, pending[0].seq, T(201), {});
    stats = GetInboxStats(*db);
    CHECK(stats.pending == 0);
    CHECK_FALSE(stats.oldest_pending.has_value());
}

TEST_CASE("Inbox states: waiting items are requeued, failed and waiting ones listed and retried") {
    auto db = Memory();
    const auto insert = [&](const std::string& tenant, const std::string& key) {
        InboxItem item{.tenant = tenant, .crm = "amocrm", .dedupe_key = key, .body = "b"};
        item.received_at = T(100);
        REQUIRE(InsertInbox(*db, item));
        return db->sql().getLastInsertRowid();
    };
    const std::int64_t waiting = insert("acme", "w");
    const std::int64_t failed = insert("acme", "f");
    const std::int64_t other = insert("beta", "w");
    const InboxOutcome park{.state = InboxState::kWaiting, .reason = "directory", .error = "no 5"};
    SettleInbox(*db, waiting, T(110), park);
    SettleInbox(*db, failed, T(110),
                {.state = InboxState::kFailed, .reason = "bad_element", .error = "x: bad"});
    SettleInbox(*db, other, T(120), park);

    auto listed = ListInbox(*db, {.tenant = "acme", .state = InboxState::kWaiting});
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].seq == waiting);
    CHECK(listed[0].waiting_since == std::optional<Timestamp>(T(110)));
    CHECK(listed[0].processed_at == std::optional<Timestamp>(T(110)));
    CHECK(listed[0].error == "no 5");
    CHECK(ListInbox(*db, {.tenant = "", .state = InboxState::kWaiting}).size() == 2);
    CHECK(ListInbox(*db, {.tenant = "", .state = InboxState::kFailed}).at(0).reason ==
          "bad_element");

    // A refresh requeues the tenant's waiting items; they keep when they were first parked.
    CHECK(RequeueWaitingInbox(*db, "acme") == 1);
    auto pending = PendingInbox(*db, 10);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].waiting_since == std::optional<Timestamp>(T(110)));
    SettleInbox(*db, waiting, T(130), park);  // still lacking: parked again, first time kept
    CHECK(ListInbox(*db, {.tenant = "acme", .state = InboxState::kWaiting})[0].waiting_since ==
          std::optional<Timestamp>(T(110)));

    // Past the limit: failed, with the reason it waited for.
    CHECK(FailWaitingSince(*db, T(115), T(140), "waited too long: ") == 1);
    const auto timed_out = ListInbox(*db, {.tenant = "acme", .state = InboxState::kFailed});
    REQUIRE(timed_out.size() == 2);  // newest first
    CHECK(timed_out[0].seq == failed);
    CHECK(timed_out[1].seq == waiting);
    CHECK(timed_out[1].reason == "directory_timeout");
    CHECK(timed_out[1].error == "waited too long: no 5");

    const auto counts = UnsettledInboxCounts(*db);
    CHECK(counts.size() == 3);  // acme failed x2 reasons, beta waiting

    // Retry: failed and waiting, of one tenant, back to stored as new.
    CHECK(RetryInbox(*db, "acme") == 2);
    pending = PendingInbox(*db, 10);
    REQUIRE(pending.size() == 2);
    CHECK_FALSE(pending[0].waiting_since.has_value());
    CHECK(RetryInbox(*db, "") == 1);  // beta's
    CHECK(UnsettledInboxCounts(*db).empty());
    CHECK(ParseInboxState("ignored") == InboxState::kIgnored);
    CHECK_FALSE(ParseInboxState("nonsense"));
}

}  // namespace fg::storage

namespace fg::storage {

// ---------------------------------------------------------------- the fetch stage's states

namespace {

std::int64_t InsertFetchItem(Db& db, const std::string& tenant, const std::string& key,
                             std::int64_t received_at = 100) {
    const InboxItem item{.tenant = tenant,
                         .crm = "thin",
                         .dedupe_key = key,
                         .body = "b",
                         .received_at = T(received_at)};
    REQUIRE(InsertInbox(db, item));
    return db.sql().getLastInsertRowid();
}

InboxEntry EntryOf(Db& db, std::int64_t seq, InboxState state) {
    for (const InboxEntry& entry : ListInbox(db, {.tenant = "", .state = state, .limit = 1000})) {
        if (entry.seq == seq) {
            return entry;
        }
    }
    FAIL("item " << seq << " is not " << InboxStateName(state));
    return {};
}

}  // namespace

TEST_CASE("Inbox fetch stage: waiting, put off, fetched, then applied by the writer") {
    auto db = Memory();
    const std::int64_t first = InsertFetchItem(*db, "acme", "a");
    const std::int64_t second = InsertFetchItem(*db, "acme", "b");
    const InboxOutcome wait{
        .state = InboxState::kWaiting, .reason = "fetch", .error = "1 to fetch"};
    SettleInbox(*db, first, T(110), wait);
    SettleInbox(*db, second, T(111), wait);
    CHECK(PendingInbox(*db, 10).empty());  // the writer has nothing to do with them now

    // Due at once, the longest due first.
    auto due = DueWaitingInbox(*db, T(111), 10);
    REQUIRE(due.size() == 2);
    CHECK(due[0].seq == first);
    CHECK(due[0].reason == "fetch");
    CHECK(due[0].waiting_since == T(110));
    CHECK(due[0].received_at == T(100));
    CHECK(due[0].attempts == 0);
    CHECK(DueWaitingInbox(*db, T(110), 10).size() == 1);
    CHECK(NextWaitingAttempt(*db) == std::optional<Timestamp>(T(110)));

    // A failed try puts the first off and counts; one put off uncounted keeps its error.
    CHECK(DeferWaitingInbox(*db, first, T(200), "HTTP 503", /*counted=*/true));
    CHECK(DeferWaitingInbox(*db, first, T(210), "", /*counted=*/false));
    InboxEntry entry = EntryOf(*db, first, InboxState::kWaiting);
    CHECK(entry.attempts == 1);
    CHECK(entry.fetch_error == "HTTP 503");
    CHECK(entry.next_attempt_at == std::optional<Timestamp>(T(210)));
    CHECK(entry.error == "1 to fetch");
    CHECK(DueWaitingInbox(*db, T(209), 10).size() == 1);  // the second only
    CHECK(NextWaitingAttempt(*db) == std::optional<Timestamp>(T(111)));

    // Fetched: pending for the writer again, with what was fetched.
    CHECK(MarkInboxFetched(*db, second, T(120), "fetch", std::string("{\"events\":[]}")));
    CHECK_FALSE(MarkInboxFetched(*db, second, T(121), "fetch", std::nullopt));  // not waiting
    CHECK_FALSE(DeferWaitingInbox(*db, second, T(300), "late", true));
    CHECK_FALSE(SettleWaitingInbox(*db, second, T(121), {.state = InboxState::kFailed}));
    auto pending = PendingInbox(*db, 10);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].seq == second);
    CHECK(pending[0].state == InboxState::kFetched);
    CHECK(pending[0].reason == "fetch");
    CHECK(InboxFetched(*db, second) == std::optional<std::string>("{\"events\":[]}"));
    CHECK_FALSE(InboxFetched(*db, first).has_value());
    entry = EntryOf(*db, second, InboxState::kFetched);
    CHECK(entry.fetched_at == std::optional<Timestamp>(T(120)));
    CHECK(entry.attempts == 1);
    CHECK_FALSE(entry.processed_at.has_value());
    CHECK(GetInboxStats(*db).pending == 1);

    // The writer settles it: applied, what was fetched dropped, when it was fetched kept.
    SettleInbox(*db, second, T(130), {.state = InboxState::kApplied, .reason = "fetch"});
    CHECK_FALSE(InboxFetched(*db, second).has_value());
    entry = EntryOf(*db, second, InboxState::kApplied);
    CHECK(entry.reason == "fetch");
    CHECK(entry.fetched_at == std::optional<Timestamp>(T(120)));
    CHECK_FALSE(entry.waiting_since.has_value());
    CHECK(PendingInbox(*db, 10).empty());

    // The fetch stage gives up on the first.
    CHECK(SettleWaitingInbox(*db, first, T(140),
                             {.state = InboxState::kFailed,
                              .reason = "fetch_timeout",
                              .error = "gave up after 8 attempts: HTTP 503"}));
    entry = EntryOf(*db, first, InboxState::kFailed);
    CHECK(entry.reason == "fetch_timeout");
    CHECK_FALSE(entry.next_attempt_at.has_value());
    CHECK(DueWaitingInbox(*db, T(1000), 10).empty());
    CHECK_FALSE(NextWaitingAttempt(*db).has_value());

    // `inbox retry` starts it over.
    CHECK(RetryInbox(*db, "acme") == 1);
    pending = PendingInbox(*db, 10);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].state == InboxState::kStored);
    entry = EntryOf(*db, first, InboxState::kStored);
    CHECK(entry.attempts == 0);
    CHECK(entry.fetch_error.empty());
}

TEST_CASE("Inbox fetch stage: waiting again keeps the tries of the same reason only") {
    auto db = Memory();
    const std::int64_t seq = InsertFetchItem(*db, "acme", "a");
    const InboxOutcome directory{
        .state = InboxState::kWaiting, .reason = "directory", .error = "pipeline 5"};
    SettleInbox(*db, seq, T(110), directory);
    CHECK(DeferWaitingInbox(*db, seq, T(170), "HTTP 502", true));

    SUBCASE("a directory load hands it back; waiting again, it keeps its next try") {
        CHECK(RequeueWaitingInbox(*db, "acme", T(150)) == 1);
        auto pending = PendingInbox(*db, 10);
        REQUIRE(pending.size() == 1);
        CHECK(pending[0].state == InboxState::kFetched);
        CHECK(pending[0].reason == "directory");
        CHECK_FALSE(InboxFetched(*db, seq).has_value());  // decode the body again
        SettleInbox(*db, seq, T(120), directory);
        const InboxEntry entry = EntryOf(*db, seq, InboxState::kWaiting);
        CHECK(entry.next_attempt_at == std::optional<Timestamp>(T(150)));
        CHECK(entry.attempts == 1);
        CHECK(entry.fetch_error == "HTTP 502");
        CHECK(entry.waiting_since == std::optional<Timestamp>(T(110)));
    }
    SUBCASE("waiting for another reason starts its tries over, due at once") {
        SettleInbox(*db, seq, T(120), {.state = InboxState::kWaiting, .reason = "fetch"});
        const InboxEntry entry = EntryOf(*db, seq, InboxState::kWaiting);
        CHECK(entry.next_attempt_at == std::optional<Timestamp>(T(120)));
        CHECK(entry.attempts == 0);
        CHECK(entry.fetch_error.empty());
        CHECK(entry.waiting_since == std::optional<Timestamp>(T(110)));
        // Only items waiting for the directory go back on a directory load.
        CHECK(RequeueWaitingInbox(*db, "acme") == 0);
    }
    SUBCASE("past the limit an item fails with its own reason and its last try's error") {
        const std::int64_t other = InsertFetchItem(*db, "acme", "b");
        SettleInbox(*db, other, T(110), {.state = InboxState::kWaiting, .reason = "fetch"});
        CHECK(FailWaitingSince(*db, "fetch", "fetch_timeout", T(111), T(200), "too long: ") == 1);
        CHECK(EntryOf(*db, other, InboxState::kFailed).reason == "fetch_timeout");
        CHECK(FailWaitingSince(*db, T(111), T(200), "waited: ") == 1);  // the directory's
        const InboxEntry entry = EntryOf(*db, seq, InboxState::kFailed);
        CHECK(entry.reason == "directory_timeout");
        CHECK(entry.error == "waited: pipeline 5 (last try: HTTP 502)");
    }
}

TEST_CASE("Inbox counts every state, by tenant; applied and ignored ones without a scan") {
    auto db = Memory();
    std::vector<std::int64_t> acme;
    for (int i = 0; i < 6; ++i) {
        acme.push_back(InsertFetchItem(*db, "acme", fmt::format("a{}", i)));
    }
    const std::int64_t beta = InsertFetchItem(*db, "beta", "b0");
    SettleInbox(*db, acme[0], T(110), {});
    SettleInbox(*db, acme[1], T(110), {.state = InboxState::kApplied, .reason = "fetch"});
    SettleInbox(*db, acme[2], T(110), {.state = InboxState::kIgnored, .reason = "gone"});
    SettleInbox(*db, acme[3], T(110), {.state = InboxState::kWaiting, .reason = "fetch"});
    SettleInbox(*db, acme[4], T(110), {.state = InboxState::kFailed, .reason = "decoder"});
    SettleInbox(*db, beta, T(110), {.state = InboxState::kWaiting, .reason = "fetch"});
    REQUIRE(MarkInboxFetched(*db, beta, T(120), "fetch", std::nullopt));
    SettleInbox(*db, acme[0], T(111), {});  // settled twice: counted once

    const auto counts = [&](const std::string& tenant) {
        std::vector<std::int64_t> out;
        for (const auto& [state, count] : InboxStateCounts(*db, tenant)) {
            out.push_back(count);
        }
        return out;
    };
    // stored, waiting, fetched, applied, ignored, failed
    CHECK(counts("acme") == std::vector<std::int64_t>{1, 1, 0, 2, 1, 1});
    CHECK(counts("beta") == std::vector<std::int64_t>{0, 0, 1, 0, 0, 0});
    CHECK(counts("") == std::vector<std::int64_t>{1, 1, 1, 2, 1, 1});
    CHECK(counts("nobody") == std::vector<std::int64_t>{0, 0, 0, 0, 0, 0});

    // Listing: any state, newest first.
    CHECK(ListInbox(*db, {.tenant = "acme", .state = InboxState::kStored}).at(0).seq == acme[5]);
    const auto applied = ListInbox(*db, {.tenant = "", .state = InboxState::kApplied});
    REQUIRE(applied.size() == 2);
    CHECK(applied[0].seq == acme[1]);
    CHECK(applied[1].seq == acme[0]);
    CHECK(ListInbox(*db, {.tenant = "", .state = InboxState::kIgnored}).at(0).reason == "gone");
    CHECK(ListInbox(*db, {.tenant = "beta", .state = InboxState::kFetched}).size() == 1);
    CHECK(ListInbox(*db, {.tenant = "acme", .state = InboxState::kFetched}).empty());

    // Every state by reason, for /metrics.
    std::vector<std::string> by_reason;
    for (const auto& [tenant, state, reason, count] : InboxCountsByReason(*db)) {
        by_reason.push_back(
            fmt::format("{} {} {} {}", tenant, InboxStateName(state), reason, count));
    }
    std::sort(by_reason.begin(), by_reason.end());
    CHECK(by_reason == std::vector<std::string>{"acme applied  1", "acme applied fetch 1",
                                                "acme failed decoder 1", "acme ignored gone 1",
                                                "acme stored  1", "acme waiting fetch 1",
                                                "beta fetched fetch 1"});

    // A retried item leaves the counts of its old state.
    SettleInbox(*db, acme[5], T(112), {.state = InboxState::kIgnored});
    CHECK(counts("acme") == std::vector<std::int64_t>{0, 1, 0, 2, 2, 1});
    CHECK(RetryInbox(*db, "acme") == 2);  // the waiting and the failed one
    CHECK(counts("acme") == std::vector<std::int64_t>{2, 0, 0, 2, 2, 0});
}

// A Bitrix24 event as the inbox stores it: only ids, so the same bytes can mean a later change.
InboxItem ThinDealUpdate() {
    return {.tenant = "acme",
            .crm = "bitrix24",
            .dedupe_key = "ONCRMDEALUPDATE|410|1733600000",
            .body = "event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=410",
            .received_at = T(100)};
}

TEST_CASE(
    "A thin item gives up its dedupe key once fetched: the same bytes after are a new change") {
    auto db = Memory();
    const InboxItem item = ThinDealUpdate();
    REQUIRE(InsertInbox(*db, item));
    const std::int64_t seq = PendingInbox(*db, 10).at(0).seq;
    SettleInbox(*db, seq, T(101), {.state = InboxState::kWaiting, .reason = "fetch"});
    // Before the fetch a copy is a duplicate: the fetch to come reads the later state too.
    CHECK_FALSE(InsertInbox(*db, item));
    REQUIRE(MarkInboxFetched(*db, seq, T(102), "fetch", std::string("[]")));
    // After it, the same bytes are a later change (Bitrix24 never redelivers): stored anew.
    CHECK(InsertInbox(*db, item));
    CHECK(Count(*db, "inbox") == 2);
    CHECK_FALSE(InsertInbox(*db, item));  // and that one deduplicates until its own fetch
}

TEST_CASE("A thin item gives up its dedupe key when its read starts, once") {
    auto db = Memory();
    const InboxItem item = ThinDealUpdate();
    REQUIRE(InsertInbox(*db, item));
    const std::int64_t seq = PendingInbox(*db, 10).at(0).seq;
    CHECK_FALSE(ReleaseInboxDedupe(*db, seq));  // stored, not waiting: nothing reads it yet
    SettleInbox(*db, seq, T(101), {.state = InboxState::kWaiting, .reason = "fetch"});
    REQUIRE(ReleaseInboxDedupe(*db, seq));
    CHECK_FALSE(ReleaseInboxDedupe(*db, seq));  // given up already
    CHECK(InsertInbox(*db, item));              // a copy during the read is stored
    REQUIRE(MarkInboxFetched(*db, seq, T(102), "fetch", std::string("[]")));
    SQLite::Statement keys(db->sql(), "SELECT dedupe_key FROM inbox ORDER BY seq");
    std::vector<std::string> stored;
    while (keys.executeStep()) {
        stored.push_back(keys.getColumn(0).getString());
    }
    CHECK(stored == std::vector<std::string>{fmt::format("{}#fetched:{}", item.dedupe_key, seq),
                                             item.dedupe_key});
}

}  // namespace fg::storage
