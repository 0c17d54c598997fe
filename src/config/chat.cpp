// [tenant.chat]: the keys every notifier shares (when and how often people hear from
// funnelguard), then each notifier's own keys; which notifiers the tenant really uses.
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "src/config/reader.hpp"

namespace fg::config::detail {
namespace {

constexpr std::array<std::string_view, 7> kDayNames = {"mon", "tue", "wed", "thu",
                                                       "fri", "sat", "sun"};

// "HH:MM" as minutes of the day; "24:00" only when `allow_midnight_end`.
std::optional<int> ClockMinutes(std::string_view text, bool allow_midnight_end) {
    if (text.size() != 5 || text[2] != ':') {
        return std::nullopt;
    }
    for (const std::size_t i : {0, 1, 3, 4}) {
        if (text[i] < '0' || text[i] > '9') {
            return std::nullopt;
        }
    }
    const int hours = (text[0] - '0') * 10 + (text[1] - '0');
    const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
    if (allow_midnight_end && hours == 24 && minutes == 0) {
        return 24 * 60;
    }
    if (hours >= 24 || minutes >= 60) {
        return std::nullopt;
    }
    return hours * 60 + minutes;
}

void ReadWorkingHours(TableReader& chat, ChatSettings& settings) {
    auto hours = chat.String("working_hours");
    if (!hours) {
        return;
    }
    const auto dash = hours->find('-');
    const auto start = dash == std::string::npos
                           ? std::nullopt
                           : ClockMinutes(std::string_view(*hours).substr(0, dash), false);
    const auto end = dash == std::string::npos
                         ? std::nullopt
                         : ClockMinutes(std::string_view(*hours).substr(dash + 1), true);
    if (!start || !end) {
        chat.Problem("working_hours", fmt::format("invalid hours \"{}\" (use \"HH:MM-HH:MM\", e.g. "
                                                  "\"09:00-19:00\"; \"00:00-24:00\" for all day)",
                                                  *hours));
        return;
    }
    if (*start >= *end) {
        chat.Problem("working_hours",
                     fmt::format("\"{}\" ends before it starts (hours may not cross midnight; "
                                 "\"00:00-24:00\" is all day)",
                                 *hours));
        return;
    }
    settings.work_start_minute = *start;
    settings.work_end_minute = *end;
}

void ReadWorkingDays(TableReader& chat, ChatSettings& settings) {
    auto days = chat.StringList("working_days");
    if (!days) {
        return;
    }
    const std::vector<std::string> names(kDayNames.begin(), kDayNames.end());
    std::array<bool, 7> working{};
    bool ok = true;
    const std::string path = chat.Path("working_days");
    for (std::size_t i = 0; i < days->size(); ++i) {
        const auto& [day, line] = (*days)[i];
        const auto found = std::find(kDayNames.begin(), kDayNames.end(), day);
        if (found == kDayNames.end()) {
            chat.sink().Add(line, IndexKey(path, i),
                            WithSuggestion(fmt::format("unknown day \"{}\" (use mon, tue, wed, "
                                                       "thu, fri, sat, sun)",
                                                       day),
                                           day, names));
            ok = false;
            continue;
        }
        const auto index = static_cast<std::size_t>(found - kDayNames.begin());
        if (working[index]) {
            chat.sink().Add(line, IndexKey(path, i), fmt::format("\"{}\" is listed twice", day));
            ok = false;
        }
        working[index] = true;
    }
    if (ok && days->empty()) {
        chat.Problem("working_days", "must list at least one day");
        return;
    }
    if (ok) {
        settings.working_days = working;
    }
}

void ReadCommonKeys(TableReader& chat, ChatSettings& settings) {
    settings.configured = true;
    if (auto digest = chat.DurationValue("digest")) {
        settings.digest = *digest;
    }
    if (auto cooldown = chat.DurationValue("cooldown")) {
        settings.cooldown = *cooldown;
    }
    ReadWorkingHours(chat, settings);
    ReadWorkingDays(chat, settings);
    if (auto at = chat.String("morning_summary")) {
        if (at->empty()) {
            settings.morning_summary_minute = std::nullopt;
        } else if (auto minute = ClockMinutes(*at, false)) {
            settings.morning_summary_minute = *minute;
        } else {
            chat.Problem("morning_summary",
                         fmt::format("invalid time \"{}\" (use HH:MM, e.g. \"09:30\"; \"\" turns "
                                     "the summary off)",
                                     *at));
        }
    }
}

// A notifier is used when it is set up and there is someone to send to: an address in the
// config, or people who can link one themselves.
bool HasAddressee(const TenantConfig& config, const NotifierSchema& notifier) {
    if (notifier.links_by_code) {
        return true;
    }
    for (const Person& person : config.people) {
        if (person.addresses.count(notifier.name) != 0) {
            return true;
        }
    }
    for (const Team& team : config.teams) {
        if (team.chats.count(notifier.name) != 0) {
            return true;
        }
    }
    return false;
}

}  // namespace

void ParseChat(TableReader& tenant, TenantConfig& config, const NotifierSchemas& notifiers,
               const std::string& base_dir) {
    const toml::table* chat = tenant.Table("chat");
    if (chat == nullptr) {
        return;
    }
    TableReader reader(*chat, tenant.Path("chat"), tenant.sink(), tenant.Line("chat"));
    ReadCommonKeys(reader, config.chat);
    for (const NotifierSchema& notifier : notifiers) {
        if (!notifier.parse) {
            continue;
        }
        auto settings = notifier.parse(reader, base_dir);
        if (settings && !notifier.crm.empty() && config.crm != notifier.crm) {
            reader.Problem(notifier.switch_key,
                           fmt::format("{} is for crm = \"{}\" tenants; this tenant's crm is "
                                       "\"{}\"",
                                       notifier.switch_key, notifier.crm, config.crm));
            continue;
        }
        if (settings && notifier.implied_address) {
            for (Person& person : config.people) {
                if (person.addresses.count(notifier.name) == 0) {
                    if (std::string implied = notifier.implied_address(person); !implied.empty()) {
                        person.addresses.emplace(notifier.name, std::move(implied));
                    }
                }
            }
        }
        if (settings && HasAddressee(config, notifier)) {
            config.chat_channels.emplace(notifier.name, std::move(settings));
        }
    }
    reader.RejectUnknownKeys();
}

}  // namespace fg::config::detail
