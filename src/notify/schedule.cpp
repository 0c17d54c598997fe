#include "src/notify/schedule.hpp"

#include <algorithm>

#include "src/notify/working_time.hpp"

namespace fg::notify {

Timestamp NextSendTime(const config::TenantConfig& tenant, Timestamp now, Timestamp window_opened,
                       std::optional<Timestamp> last_sent) {
    Timestamp at = std::max(now, window_opened + tenant.chat.digest);
    if (last_sent) {
        at = std::max(at, *last_sent + tenant.chat.cooldown);
    }
    return NextWorkingStart(tenant, at);
}

}  // namespace fg::notify
