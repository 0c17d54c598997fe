#include "src/engine/chat_inbound.hpp"

#include <charconv>
#include <optional>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include "src/common/log.hpp"
#include "src/storage/chat.hpp"
#include "src/storage/violations.hpp"

namespace fg::engine {
namespace {

spdlog::logger& InboundLog() {
    static const auto logger = ModuleLogger("chat");
    return *logger;
}

constexpr std::string_view kAckPrefix = "ack:v:";

std::string_view Trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) {
        text.remove_suffix(1);
    }
    return text;
}

// "14:05" in the tenant's zone (UTC for an unknown one).
std::string LocalClock(Timestamp at, const std::string& time_zone) {
    const date::time_zone* zone = nullptr;
    try {
        zone = date::locate_zone(time_zone);
    } catch (const std::exception&) {
        zone = date::locate_zone("UTC");
    }
    return date::format("%H:%M", date::make_zoned(zone, at).get_local_time());
}

}  // namespace

std::string AckCallback(std::int64_t violation_id) {
    return fmt::format("{}{}", kAckPrefix, violation_id);
}

const config::Person* ChatInbound::PersonOf(const std::string& crm_user) const {
    for (const config::Person& person : parts_.tenant->people) {
        if (person.crm_user == crm_user) {
            return &person;
        }
    }
    return nullptr;
}

const config::Person* ChatInbound::PersonAt(const std::string& address) const {
    const std::string& channel = parts_.schema.name;
    for (const config::Person& person : parts_.tenant->people) {
        if (parts_.book->Linked(channel, person.crm_user) == address) {
            return &person;
        }
    }
    for (const config::Person& person : parts_.tenant->people) {
        const auto configured = person.addresses.find(parts_.schema.person_key);
        if (configured != person.addresses.end() && configured->second == address &&
            !parts_.book->Linked(channel, person.crm_user)) {
            return &person;
        }
    }
    return nullptr;
}

notify::Reply ChatInbound::Link(std::string_view code_in, const notify::Address& from,
                                std::string_view display_name) {
    const std::string code(Trim(code_in));
    const std::string& tenant = parts_.tenant->id;
    const std::string& channel = parts_.schema.name;
    const Timestamp now = parts_.clock->Now();
    const std::string stored_from = parts_.book->StoredForm(channel, from.value);
    // The code, its use, the link and the cleared broken mark commit together.
    auto linked =
        parts_.writer
            ->Transact([&](storage::Db& db) -> std::optional<std::string> {
                const auto found = storage::FindLinkCode(db, tenant, code);
                if (!found) {
                    return std::nullopt;
                }
                if (!storage::UseLinkCode(db, tenant, code, now)) {
                    // The same /start again (an update read twice): done already.
                    if (storage::ChatLinkOf(db, tenant, channel, found->crm_user) == from.value) {
                        return found->crm_user;
                    }
                    return std::nullopt;
                }
                storage::SaveChatLink(db, {.tenant = tenant,
                                           .channel = channel,
                                           .crm_user = found->crm_user,
                                           .address = from.value,
                                           .linked_at = now});
                storage::ClearAddressBroken(db, tenant, channel, stored_from);
                return found->crm_user;
            })
            .get();
    if (!linked) {
        InboundLog().error("Could not store a chat link. tenant={} channel={} error={}", tenant,
                           channel, linked.error().message);
        return {.done = false,
                .reply = English() ? "Something went wrong on our side; please try again later."
                                   : "Не получилось сохранить: попробуйте позже.",
                .note = {}};
    }
    if (!linked->has_value()) {
        InboundLog().info("Chat link refused: unknown or used code. tenant={} channel={} from={}",
                          tenant, channel, LogSafe(std::string(display_name)));
        return {.done = false,
                .reply = English() ? "This code did not work: it is unknown or was already used. "
                                     "Ask your administrator for a new link."
                                   : "Этот код не подошёл: он неизвестен или уже использован. "
                                     "Попросите у администратора новую ссылку.",
                .note = {}};
    }
    const std::string& crm_user = **linked;
    parts_.book->Linked(channel, crm_user, from.value);
    parts_.book->Unbroken(channel, from.value);
    const config::Person* person = PersonOf(crm_user);
    const std::string name = person != nullptr && !person->name.empty() ? person->name : crm_user;
    InboundLog().info("Chat linked. tenant={} channel={} crm_user={} sender={}", tenant, channel,
                      crm_user, LogSafe(std::string(display_name)));
    return {.done = true,
            .reply = English()
                         ? fmt::format("Done, {}: violations on your deals will come here", name)
                         : fmt::format("Готово, {}: сюда будут приходить нарушения по "
                                       "вашим сделкам",
                                       name),
            .note = {}};
}

notify::Reply ChatInbound::Press(std::string_view callback, const notify::Address& from,
                                 std::string_view display_name) {
    (void)display_name;
    const bool english = English();
    std::int64_t id = 0;
    const auto digits = callback.substr(std::min(callback.size(), kAckPrefix.size()));
    if (!callback.starts_with(kAckPrefix) ||
        std::from_chars(digits.data(), digits.data() + digits.size(), id).ptr !=
            digits.data() + digits.size() ||
        digits.empty()) {
        return {.done = false,
                .reply = english ? "This button is no longer supported." : "Эта кнопка устарела.",
                .note = {}};
    }
    const config::Person* person = PersonAt(from.value);
    std::optional<storage::Violation> violation;
    try {
        violation =
            parts_.writer->Call([id](storage::Db& db) { return storage::GetViolation(db, id); })
                .get();
    } catch (const std::exception& error) {
        InboundLog().warn("Could not read a violation for a chat ack. id={} error={}", id,
                          error.what());
        return {.done = false,
                .reply = english ? "Something went wrong on our side; please try again later."
                                 : "Не получилось: попробуйте позже.",
                .note = {}};
    }
    if (!violation || violation->tenant != parts_.tenant->id) {
        return {.done = false,
                .reply = english ? "This violation is not known." : "Такого нарушения нет.",
                .note = {}};
    }
    // The responsible, or the head of the responsible's team.
    bool allowed = false;
    if (person != nullptr) {
        allowed = person->crm_user == violation->responsible;
        const config::Person* responsible = PersonOf(violation->responsible);
        for (const config::Team& team : parts_.tenant->teams) {
            if (responsible != nullptr && team.id == responsible->team &&
                team.head == person->crm_user) {
                allowed = true;
            }
        }
    }
    if (!allowed) {
        InboundLog().info("Chat ack refused: not the responsible or their head. tenant={} id={}",
                          parts_.tenant->id, id);
        return {.done = false,
                .reply = english ? "Only the responsible manager or their head can acknowledge it."
                                 : "Отметить может только ответственный или его руководитель.",
                .note = {}};
    }
    if (violation->resolved_at) {
        return {.done = false, .reply = english ? "Already closed." : "Уже закрыто.", .note = {}};
    }
    const Result<bool> acknowledged = parts_.acknowledge(id);
    if (!acknowledged) {
        if (acknowledged.error().code == ErrorCode::kConflict) {
            return {
                .done = false, .reply = english ? "Already closed." : "Уже закрыто.", .note = {}};
        }
        return {.done = false,
                .reply = english ? "Something went wrong on our side; please try again later."
                                 : "Не получилось: попробуйте позже.",
                .note = {}};
    }
    const std::string name = person->name.empty() ? person->crm_user : person->name;
    const std::string at = LocalClock(parts_.clock->Now(), parts_.tenant->timezone);
    InboundLog().info("Violation acknowledged in chat. tenant={} id={} by={}", parts_.tenant->id,
                      id, person->crm_user);
    return {.done = true,
            .reply = english ? "Acknowledged" : "Отмечено",
            .note = english ? fmt::format("✅ Acknowledged: {}, {}", name, at)
                            : fmt::format("✅ Принято: {}, {}", name, at)};
}

std::string ChatInbound::Cursor() {
    const std::string tenant = parts_.tenant->id;
    const std::string channel = parts_.schema.name;
    try {
        return parts_.writer
            ->Call([&tenant, &channel](storage::Db& db) {
                return storage::ListenerCursor(db, tenant, channel);
            })
            .get();
    } catch (const std::exception& error) {
        InboundLog().warn("Could not read a chat listener's cursor. tenant={} channel={} error={}",
                          tenant, channel, error.what());
        return {};
    }
}

void ChatInbound::SaveCursor(const std::string& cursor) {
    const std::string tenant = parts_.tenant->id;
    const std::string channel = parts_.schema.name;
    auto saved = parts_.writer
                     ->Transact([&](storage::Db& db) {
                         storage::SaveListenerCursor(db, tenant, channel, cursor);
                         return 0;
                     })
                     .get();
    if (!saved) {
        // The updates since the last saved cursor come again: links and acks are idempotent.
        InboundLog().warn("Could not save a chat listener's cursor. tenant={} channel={} error={}",
                          tenant, channel, saved.error().message);
    }
}

}  // namespace fg::engine
