// When a person's next message may go: digest window, cooldown, working time.
#include "src/notify/schedule.hpp"

#include <doctest/doctest.h>

#include "tests/unit/notify/support.hpp"

namespace fg::notify {
namespace {

using testing::At;
using namespace std::chrono_literals;

TEST_CASE("Digest 0s and no earlier message: at once in working time") {
    const config::TenantConfig tenant = testing::Tenant();
    const Timestamp now = At("2026-11-02T10:00:00+03:00");
    CHECK(NextSendTime(tenant, now, now, std::nullopt) == now);
}

TEST_CASE("The digest window the first pending violation opened holds the message") {
    config::TenantConfig tenant = testing::Tenant();
    tenant.chat.digest = 30min;
    const Timestamp opened = At("2026-11-02T10:00:00+03:00");
    CHECK(NextSendTime(tenant, opened, opened, std::nullopt) == opened + 30min);
    CHECK(NextSendTime(tenant, opened + 20min, opened, std::nullopt) == opened + 30min);
    CHECK(NextSendTime(tenant, opened + 31min, opened, std::nullopt) == opened + 31min);
}

TEST_CASE("Cooldown counts from the last message") {
    const config::TenantConfig tenant = testing::Tenant();  // cooldown 10m
    const Timestamp last = At("2026-11-02T10:00:00+03:00");
    CHECK(NextSendTime(tenant, last + 3min, last + 3min, last) == last + 10min);
    CHECK(NextSendTime(tenant, last + 12min, last + 12min, last) == last + 12min);
}

TEST_CASE("Outside working time the message waits for the next start") {
    config::TenantConfig tenant = testing::Tenant();
    tenant.chat.digest = 30min;
    const Timestamp evening = At("2026-11-06T18:50:00+03:00");  // Friday
    CHECK(NextSendTime(tenant, evening, evening, std::nullopt) == At("2026-11-09T09:00:00+03:00"));
    // Cooldown ending after hours waits too.
    CHECK(NextSendTime(tenant, At("2026-11-02T18:55:00+03:00"), At("2026-11-02T18:55:00+03:00"),
                       At("2026-11-02T18:54:00+03:00")) == At("2026-11-03T09:00:00+03:00"));
}

}  // namespace
}  // namespace fg::notify
