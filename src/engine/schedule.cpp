#include "src/engine/schedule.hpp"

#include <date/tz.h>

namespace fg::engine {

std::optional<Timestamp> NextLocalTime(Timestamp after, const std::string& time_zone,
                                       const std::string& hh_mm) {
    if (hh_mm.size() != 5 || hh_mm[2] != ':') {
        return std::nullopt;
    }
    const int hour = std::stoi(hh_mm.substr(0, 2));
    const int minute = std::stoi(hh_mm.substr(3, 2));
    try {
        const date::time_zone* zone = date::locate_zone(time_zone);
        const auto local_now = zone->to_local(after);
        auto day = date::floor<date::days>(local_now);
        for (int i = 0; i < 3; ++i, day += date::days{1}) {
            const date::local_seconds local =
                day + std::chrono::hours{hour} + std::chrono::minutes{minute};
            const Timestamp at =
                std::chrono::time_point_cast<Duration>(zone->to_sys(local, date::choose::earliest));
            if (at > after) {
                return at;
            }
        }
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace fg::engine
