// `funnelguard users`: people with their addresses, and one-time link codes for those who have
// none on a channel that links by code.
#include "src/app/users.hpp"

#include <sstream>

#include <doctest/doctest.h>

#include "src/storage/store.hpp"
#include "tests/unit/engine/chat_support.hpp"

namespace fg::chat_test {
namespace users_test_file {

class FakeNotifier final : public notify::Notifier {
public:
    FakeNotifier(std::string name, bool secret, bool by_code, std::string problem)
        : name_(std::move(name)),
          secret_(secret),
          by_code_(by_code),
          problem_(std::move(problem)) {}
    std::string_view Name() const override { return name_; }
    config::NotifierSchema Schema() const override {
        return {.name = name_,
                .person_key = name_,
                .secret_addresses = secret_,
                .links_by_code = by_code_};
    }
    std::unique_ptr<notify::Channel> MakeChannel(const config::TenantConfig&,
                                                 const Clock&) const override {
        auto channel = std::make_unique<FakeChannel>();
        channel->problem = problem_;
        return channel;
    }

private:
    std::string name_;
    bool secret_;
    bool by_code_;
    std::string problem_;
};

config::TenantConfig Tenant() {
    config::TenantConfig tenant;
    tenant.id = "acme";
    tenant.chat_channels = {{"testchat", nullptr}, {"hooks", nullptr}};
    tenant.people = {
        {.crm_user = "ivanova",
         .name = "Анна Иванова",
         .team = "sales",
         .addresses = {{"testchat", "100"},
                       {"hooks", "https://hooks.example.com/services/T0/B0/SECRET"}}},
        {.crm_user = "petrov", .name = "Пётр Петров", .role = config::Role::kHead, .team = "sales"},
    };
    return tenant;
}

TEST_CASE("users: addresses, secret ones redacted, codes and links for who has none") {
    ManualClock clock(kMonday);
    auto db = storage::OpenDatabase(":memory:");
    REQUIRE(db);
    const FakeNotifier testchat("testchat", false, true, "");
    const FakeNotifier hooks("hooks", true, false, "");
    const notify::NotifierList notifiers = {&testchat, &hooks};
    std::ostringstream first;
    app::PrintUsers(Tenant(), notifiers, **db, clock, first);
    const std::string text = first.str();
    CAPTURE(text);
    CHECK(text.find("ivanova") != std::string::npos);
    CHECK(text.find("head") != std::string::npos);
    CHECK(text.find("https://hooks.example.com/…") != std::string::npos);
    CHECK(text.find("SECRET") == std::string::npos);
    const auto code = storage::IssueLinkCode(**db, "acme", "petrov", clock.Now()).code;
    CHECK(text.find("code " + code) != std::string::npos);
    CHECK(text.find("petrov on testchat: https://t.me/fg_test_bot?start=" + code) !=
          std::string::npos);
    // The same code while it is unused; once linked, the address instead.
    std::ostringstream second;
    app::PrintUsers(Tenant(), notifiers, **db, clock, second);
    CHECK(second.str() == text);
    storage::SaveChatLink(**db, {.tenant = "acme",
                                 .channel = "testchat",
                                 .crm_user = "petrov",
                                 .address = "555",
                                 .linked_at = clock.Now()});
    std::ostringstream third;
    app::PrintUsers(Tenant(), notifiers, **db, clock, third);
    CHECK(third.str().find("555 (linked)") != std::string::npos);
    CHECK(third.str().find("code ") == std::string::npos);
}

TEST_CASE("users: a channel whose check fails still gives the code, and says why no link") {
    ManualClock clock(kMonday);
    auto db = storage::OpenDatabase(":memory:");
    REQUIRE(db);
    const FakeNotifier testchat("testchat", false, true, "the bot token was refused");
    std::ostringstream out;
    app::PrintUsers(Tenant(), {&testchat}, **db, clock, out);
    const std::string code = storage::IssueLinkCode(**db, "acme", "petrov", clock.Now()).code;
    CHECK(out.str().find("petrov on testchat: no link (the bot token was refused); they send "
                         "/start " +
                         code) != std::string::npos);
}

}  // namespace users_test_file
}  // namespace fg::chat_test
