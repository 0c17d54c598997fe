#pragma once

#include <optional>

#include "src/common/time.hpp"
#include "src/config/config.hpp"

namespace fg::notify {

/// When the next message to one address may go out, under the tenant's `[tenant.chat]`: not
/// before the digest window that `window_opened` began ends (digest "0s": at once), not within
/// `cooldown` of `last_sent`, and only in working time (else at the next working start).
/// A result at or before `now` means "now". Pure.
Timestamp NextSendTime(const config::TenantConfig& tenant, Timestamp now, Timestamp window_opened,
                       std::optional<Timestamp> last_sent);

}  // namespace fg::notify
