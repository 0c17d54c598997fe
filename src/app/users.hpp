#pragma once

#include <ostream>

#include "src/common/clock.hpp"
#include "src/config/config.hpp"
#include "src/notify/port.hpp"
#include "src/storage/database.hpp"

namespace fg::app {

/// The table `funnelguard users` prints for `tenant`: each person's crm_user, name, role, team
/// and address on each of the tenant's chat channels (`notifiers` it uses): a linked one marked
/// "(linked)", a secret one shown as its host only. A person without an address on a channel
/// that links by code gets a one-time code (stored now in `db`, the same while unused) and its
/// deep link, or, when the channel's Check fails, the code and why there is no link.
void PrintUsers(const config::TenantConfig& tenant, const notify::NotifierList& notifiers,
                storage::Db& db, const Clock& clock, std::ostream& out);

}  // namespace fg::app
