#pragma once

#include "src/common/time.hpp"
#include "src/config/config.hpp"

/// Working time of a tenant: its `[tenant.chat]` working_hours and working_days, in its time
/// zone. Messages wait for it, and escalate_after is counted in it.
namespace fg::notify {

/// `at` falls inside working hours on a working day.
bool IsWorkingTime(const config::TenantConfig& tenant, Timestamp at);
/// `at` itself when it is working time, else the start of the next working period.
Timestamp NextWorkingStart(const config::TenantConfig& tenant, Timestamp at);
/// How much working time lies between `from` and `to` (zero when to <= from).
Duration WorkingTimeBetween(const config::TenantConfig& tenant, Timestamp from, Timestamp to);

}  // namespace fg::notify
