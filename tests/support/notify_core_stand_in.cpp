// A stand-in for the chat core (src/notify: MakeChatSink and working time) while it is being
// written on its own branch: the build links it only while src/notify has no implementation of
// its own (tests/CMakeLists.txt), so that the engine, its tests and the program link meanwhile.
// The sink is deliberately plain: one message per action, to the person's linked or configured
// address, no routing to heads, digest, cooldown or pacing.
#include <algorithm>

#include <date/date.h>
#include <date/tz.h>

#include "src/notify/chat_sink.hpp"
#include "src/notify/working_time.hpp"

namespace fg::notify {
namespace {

const date::time_zone* ZoneOf(const config::TenantConfig& tenant) {
    try {
        return date::locate_zone(tenant.timezone);
    } catch (const std::exception&) {
        return date::locate_zone("UTC");
    }
}

// The working period of the local day `day`, in UTC; nullopt on a day off.
std::optional<std::pair<Timestamp, Timestamp>> PeriodOf(const config::TenantConfig& tenant,
                                                        const date::time_zone* zone,
                                                        date::local_days day) {
    const unsigned weekday = date::weekday{day}.iso_encoding() - 1;  // mon = 0
    if (!tenant.chat.working_days[weekday]) {
        return std::nullopt;
    }
    const auto start = zone->to_sys(day + std::chrono::minutes{tenant.chat.work_start_minute},
                                    date::choose::latest);
    const auto end =
        zone->to_sys(day + std::chrono::minutes{tenant.chat.work_end_minute}, date::choose::latest);
    return std::make_pair(std::chrono::time_point_cast<Duration>(start),
                          std::chrono::time_point_cast<Duration>(end));
}

date::local_days LocalDay(const date::time_zone* zone, Timestamp at) {
    return date::floor<date::days>(zone->to_local(at));
}

class StandInSink final : public outbox::ActionSink {
public:
    explicit StandInSink(ChatSinkParts parts) : parts_(std::move(parts)) {}

    outbox::DeliveryResult Deliver(const outbox::Action& action) override {
        std::string to;
        if (const outbox::MessageBody* message = action.body.message()) {
            to = message->to;
        } else if (const outbox::SummaryBody* summary = action.body.summary()) {
            to = summary->to;
        }
        std::string address;
        if (auto linked = parts_.book->Linked(parts_.schema->name, to)) {
            address = *linked;
        } else {
            for (const config::Person& person : parts_.tenant->people) {
                if (person.crm_user == to) {
                    const auto found = person.addresses.find(parts_.schema->person_key);
                    if (found != person.addresses.end()) {
                        address = found->second;
                    }
                }
            }
        }
        if (address.empty()) {
            return {.status = outbox::DeliveryStatus::kRejected,
                    .retry_after = std::nullopt,
                    .error = "no address for " + to,
                    .not_sent = false};
        }
        Outgoing outgoing;
        outgoing.to.value = address;
        outgoing.message.blocks.push_back({.spans = {{.text = action.body.text}}});
        outgoing.key = action.idempotency_key();
        outgoing.attempt = action.attempt;
        outgoing.previous_not_sent = action.previous_not_sent;
        SendResult result = parts_.channel->Send(outgoing);
        if (result.delivery.status == outbox::DeliveryStatus::kDelivered) {
            parts_.book->RecordSent(parts_.schema->name, address, parts_.clock->Now());
            parts_.observer->Sent(parts_.tenant->id, parts_.schema->name,
                                  domain::ActionKindName(action.kind()));
        }
        return result.delivery;
    }

private:
    ChatSinkParts parts_;
};

}  // namespace

bool IsWorkingTime(const config::TenantConfig& tenant, Timestamp at) {
    const date::time_zone* zone = ZoneOf(tenant);
    const auto period = PeriodOf(tenant, zone, LocalDay(zone, at));
    return period && period->first <= at && at < period->second;
}

Timestamp NextWorkingStart(const config::TenantConfig& tenant, Timestamp at) {
    if (IsWorkingTime(tenant, at)) {
        return at;
    }
    const date::time_zone* zone = ZoneOf(tenant);
    for (date::local_days day = LocalDay(zone, at); day < LocalDay(zone, at) + date::days{15};
         day += date::days{1}) {
        if (const auto period = PeriodOf(tenant, zone, day); period && period->first > at) {
            return period->first;
        }
    }
    return at;  // no working day at all
}

Duration WorkingTimeBetween(const config::TenantConfig& tenant, Timestamp from, Timestamp to) {
    if (to <= from) {
        return Duration::zero();
    }
    const date::time_zone* zone = ZoneOf(tenant);
    Duration total{0};
    for (date::local_days day = LocalDay(zone, from); day <= LocalDay(zone, to);
         day += date::days{1}) {
        if (const auto period = PeriodOf(tenant, zone, day)) {
            const Timestamp begin = std::max(period->first, from);
            const Timestamp end = std::min(period->second, to);
            if (end > begin) {
                total += end - begin;
            }
        }
    }
    return total;
}

outbox::PacedSink MakeChatSink(ChatSinkParts parts) {
    return outbox::PacedSink(std::make_unique<StandInSink>(std::move(parts)), 30);
}

}  // namespace fg::notify
