// What the chat core keeps beyond the config: linked chats, one-time link codes, broken and
// moved addresses, send times, listener cursors and the morning summaries done.
#include "src/storage/chat.hpp"

#include <set>

#include <doctest/doctest.h>

#include "tests/unit/storage/storage_test_support.hpp"

namespace fg::storage {
namespace {

TEST_CASE("Chat: a link replaces the earlier one and survives a reopen") {
    TempDir dir;
    const std::string path = dir.File("fg.db");
    {
        auto db = Open(path);
        CHECK_FALSE(ChatLinkOf(*db, "acme", "telegram", "u1"));
        SaveChatLink(*db, {.tenant = "acme",
                           .channel = "telegram",
                           .crm_user = "u1",
                           .address = "100",
                           .linked_at = T(5)});
        SaveChatLink(*db, {.tenant = "acme",
                           .channel = "telegram",
                           .crm_user = "u1",
                           .address = "200",
                           .linked_at = T(6)});
        SaveChatLink(*db, {.tenant = "beta",
                           .channel = "telegram",
                           .crm_user = "u1",
                           .address = "300",
                           .linked_at = T(6)});
    }
    auto db = Open(path);
    CHECK(ChatLinkOf(*db, "acme", "telegram", "u1") == "200");
    CHECK_FALSE(ChatLinkOf(*db, "acme", "slack", "u1"));
    const auto links = ChatLinks(*db, "acme");
    REQUIRE(links.size() == 1);
    CHECK(links[0].address == "200");
    CHECK(links[0].linked_at == T(6));
    CHECK(ChatLinks(*db, "").size() == 2);
}

TEST_CASE("Chat: link codes are random base64url, reused while unused, used once") {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const std::string code = NewLinkCode();
        CHECK(code.size() >= 8);
        CHECK(code.size() <= 12);
        CHECK(code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_") == std::string::npos);
        seen.insert(code);
    }
    CHECK(seen.size() == 200);

    auto db = Memory();
    const LinkCode first = IssueLinkCode(*db, "acme", "u1", T(10));
    CHECK(first.created_at == T(10));
    CHECK(IssueLinkCode(*db, "acme", "u1", T(20)).code == first.code);  // still unused
    CHECK(IssueLinkCode(*db, "acme", "u2", T(20)).code != first.code);
    CHECK_FALSE(FindLinkCode(*db, "beta", first.code));  // another tenant's
    const auto found = FindLinkCode(*db, "acme", first.code);
    REQUIRE(found);
    CHECK(found->crm_user == "u1");
    CHECK_FALSE(found->used_at);
    CHECK_FALSE(UseLinkCode(*db, "beta", first.code, T(30)));
    CHECK(UseLinkCode(*db, "acme", first.code, T(30)));
    CHECK_FALSE(UseLinkCode(*db, "acme", first.code, T(31)));  // once
    CHECK(FindLinkCode(*db, "acme", first.code)->used_at == T(30));
    CHECK(IssueLinkCode(*db, "acme", "u1", T(40)).code != first.code);  // a fresh one
}

TEST_CASE("Chat: broken and moved addresses, send times, cursors, summaries done") {
    auto db = Memory();
    CHECK_FALSE(BrokenReason(*db, "acme", "telegram", "100"));
    MarkAddressBroken(*db, {.tenant = "acme",
                            .channel = "telegram",
                            .address = "100",
                            .shown = "100",
                            .reason = "bot was blocked by the user",
                            .at = T(5)});
    CHECK(BrokenReason(*db, "acme", "telegram", "100") == "bot was blocked by the user");
    CHECK_FALSE(BrokenReason(*db, "acme", "slack", "100"));
    REQUIRE(BrokenAddresses(*db, "acme").size() == 1);
    CHECK(BrokenAddresses(*db, "beta").empty());
    CHECK(ClearAddressBroken(*db, "acme", "telegram", "100"));
    CHECK_FALSE(ClearAddressBroken(*db, "acme", "telegram", "100"));
    CHECK_FALSE(BrokenReason(*db, "acme", "telegram", "100"));

    RecordAddressMove(*db, "acme", "telegram", "-100", "-1001", T(7));
    CHECK(AddressMovedTo(*db, "acme", "telegram", "-100") == "-1001");
    CHECK_FALSE(AddressMovedTo(*db, "acme", "telegram", "-1001"));

    RecordAddressSent(*db, "acme", "telegram", "100", T(50));
    RecordAddressSent(*db, "acme", "telegram", "100", T(40));  // late: the later time stays
    CHECK(AddressLastSent(*db, "acme", "telegram", "100") == T(50));
    CHECK_FALSE(AddressLastSent(*db, "acme", "telegram", "200"));

    CHECK(ListenerCursor(*db, "acme", "telegram").empty());
    SaveListenerCursor(*db, "acme", "telegram", "5001");
    SaveListenerCursor(*db, "acme", "telegram", "5002");
    CHECK(ListenerCursor(*db, "acme", "telegram") == "5002");
    CHECK(ListenerCursor(*db, "beta", "telegram").empty());

    CHECK_FALSE(SummaryDone(*db, "acme", "2026-11-02"));
    CHECK(MarkSummaryDone(*db, "acme", "2026-11-02", T(60)));
    CHECK_FALSE(MarkSummaryDone(*db, "acme", "2026-11-02", T(61)));
    CHECK(SummaryDone(*db, "acme", "2026-11-02"));
    CHECK_FALSE(SummaryDone(*db, "acme", "2026-11-03"));
}

}  // namespace
}  // namespace fg::storage
