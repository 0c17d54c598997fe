#include "src/storage/inbox.hpp"

#include <string>

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
