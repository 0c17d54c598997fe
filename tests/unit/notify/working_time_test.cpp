// Working hours and days in the tenant's zone: messages wait for them, escalate_after counts them.
#include "src/notify/working_time.hpp"

#include <doctest/doctest.h>

#include "tests/unit/notify/support.hpp"

namespace fg::notify {
namespace {

using testing::At;
using namespace std::chrono_literals;

config::TenantConfig Zone(const std::string& timezone) {
    config::TenantConfig tenant = testing::Tenant();
    tenant.timezone = timezone;  // 09:00-19:00, mon-fri by default
    return tenant;
}

TEST_CASE("Working time in a zone without DST (Moscow, UTC+3)") {
    const config::TenantConfig tenant = Zone("Europe/Moscow");
    // Monday 2026-11-02.
    CHECK_FALSE(IsWorkingTime(tenant, At("2026-11-02T08:59:59+03:00")));
    CHECK(IsWorkingTime(tenant, At("2026-11-02T09:00:00+03:00")));
    CHECK(IsWorkingTime(tenant, At("2026-11-02T18:59:59+03:00")));
    CHECK_FALSE(IsWorkingTime(tenant, At("2026-11-02T19:00:00+03:00")));
    CHECK_FALSE(IsWorkingTime(tenant, At("2026-11-07T12:00:00+03:00")));  // Saturday

    CHECK(NextWorkingStart(tenant, At("2026-11-02T10:00:00+03:00")) ==
          At("2026-11-02T10:00:00+03:00"));
    CHECK(NextWorkingStart(tenant, At("2026-11-02T07:00:00+03:00")) ==
          At("2026-11-02T09:00:00+03:00"));
    CHECK(NextWorkingStart(tenant, At("2026-11-02T20:00:00+03:00")) ==
          At("2026-11-03T09:00:00+03:00"));
    // Friday evening and the weekend wait for Monday.
    CHECK(NextWorkingStart(tenant, At("2026-11-06T19:30:00+03:00")) ==
          At("2026-11-09T09:00:00+03:00"));
    CHECK(NextWorkingStart(tenant, At("2026-11-08T23:59:00+03:00")) ==
          At("2026-11-09T09:00:00+03:00"));
}

TEST_CASE("Working time between two instants skips nights and weekends") {
    const config::TenantConfig tenant = Zone("Europe/Moscow");
    CHECK(WorkingTimeBetween(tenant, At("2026-11-02T10:00:00+03:00"),
                             At("2026-11-02T12:30:00+03:00")) == 150min);
    CHECK(WorkingTimeBetween(tenant, At("2026-11-02T18:00:00+03:00"),
                             At("2026-11-03T10:00:00+03:00")) == 2h);
    // Friday 18:00 to Monday 10:00: one hour each side of the weekend.
    CHECK(WorkingTimeBetween(tenant, At("2026-11-06T18:00:00+03:00"),
                             At("2026-11-09T10:00:00+03:00")) == 2h);
    CHECK(WorkingTimeBetween(tenant, At("2026-11-07T10:00:00+03:00"),
                             At("2026-11-08T10:00:00+03:00")) == 0s);
    CHECK(WorkingTimeBetween(tenant, At("2026-11-03T10:00:00+03:00"),
                             At("2026-11-02T10:00:00+03:00")) == 0s);
    // A full week is five ten-hour days.
    CHECK(WorkingTimeBetween(tenant, At("2026-11-02T00:00:00+03:00"),
                             At("2026-11-09T00:00:00+03:00")) == 50h);
}

TEST_CASE("Midnight ends: 00:00-24:00 is all day, and a window ending at 24:00") {
    config::TenantConfig tenant = Zone("Europe/Moscow");
    tenant.chat.work_start_minute = 0;
    tenant.chat.work_end_minute = 24 * 60;
    tenant.chat.working_days = {true, true, true, true, true, true, true};
    CHECK(IsWorkingTime(tenant, At("2026-11-07T00:00:00+03:00")));
    CHECK(IsWorkingTime(tenant, At("2026-11-07T23:59:59+03:00")));
    CHECK(NextWorkingStart(tenant, At("2026-11-07T23:59:59+03:00")) ==
          At("2026-11-07T23:59:59+03:00"));
    CHECK(WorkingTimeBetween(tenant, At("2026-11-02T00:00:00+03:00"),
                             At("2026-11-09T00:00:00+03:00")) == 168h);

    tenant.chat.work_start_minute = 20 * 60;  // evenings only, mon-fri
    tenant.chat.working_days = {true, true, true, true, true, false, false};
    CHECK(IsWorkingTime(tenant, At("2026-11-02T23:59:59+03:00")));
    CHECK_FALSE(IsWorkingTime(tenant, At("2026-11-03T00:00:00+03:00")));
    CHECK(NextWorkingStart(tenant, At("2026-11-06T23:00:00+03:00")) ==
          At("2026-11-06T23:00:00+03:00"));
    CHECK(NextWorkingStart(tenant, At("2026-11-07T00:00:00+03:00")) ==
          At("2026-11-09T20:00:00+03:00"));
}

TEST_CASE("A zone with DST keeps local working hours across the change (Berlin)") {
    config::TenantConfig tenant = Zone("Europe/Berlin");
    // Friday 2026-03-27 is still CET (+01:00); Monday 2026-03-30 is CEST (+02:00).
    CHECK(NextWorkingStart(tenant, At("2026-03-27T19:00:00+01:00")) ==
          At("2026-03-30T09:00:00+02:00"));
    CHECK(IsWorkingTime(tenant, At("2026-03-30T07:00:00Z")));        // 09:00 local
    CHECK_FALSE(IsWorkingTime(tenant, At("2026-03-30T06:59:59Z")));  // 08:59 local
    // Autumn: Friday 2026-10-23 CEST, Monday 2026-10-26 CET.
    CHECK(NextWorkingStart(tenant, At("2026-10-23T20:00:00+02:00")) ==
          At("2026-10-26T09:00:00+01:00"));
    CHECK(WorkingTimeBetween(tenant, At("2026-10-23T18:00:00+02:00"),
                             At("2026-10-26T10:00:00+01:00")) == 2h);

    // A window across the spring gap (02:00-03:00 does not exist on Sunday 2026-03-29): from
    // 01:00 to 04:00 local is two real hours.
    tenant.chat.work_start_minute = 60;
    tenant.chat.work_end_minute = 4 * 60;
    tenant.chat.working_days = {false, false, false, false, false, false, true};
    CHECK(WorkingTimeBetween(tenant, At("2026-03-29T00:00:00+01:00"),
                             At("2026-03-29T12:00:00+02:00")) == 2h);
}

}  // namespace
}  // namespace fg::notify
