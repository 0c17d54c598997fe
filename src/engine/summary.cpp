#include "src/engine/summary.hpp"

#include <algorithm>
#include <set>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include "src/outbox/action_codec.hpp"
#include "src/storage/chat.hpp"
#include "src/storage/outbox.hpp"

namespace fg::engine {
namespace {

// What "fresh" covers in a head's summary.
constexpr Duration kFreshWindow = std::chrono::hours{24};
// Open violations a summary reads at most (a tenant with more has other problems).
constexpr int kMaxViolations = 100'000;

outbox::SummaryItem ItemOf(const config::TenantConfig& tenant,
                           const storage::Violation& violation) {
    std::string reason;
    const char* key = tenant.locale == "en" ? "reason_en" : "reason";
    if (const auto found = violation.details.find(key);
        found != violation.details.end() && found->is_string()) {
        reason = found->get<std::string>();
    }
    return {.violation_id = violation.id,
            .deal = violation.deal_id,
            .deal_title = violation.deal_title,
            .rule = violation.rule,
            .responsible = violation.responsible,
            .opened_at = violation.opened_at,
            .message = violation.message,
            .reason = std::move(reason)};
}

std::string SummaryText(const config::TenantConfig& tenant, const outbox::SummaryBody& body) {
    if (tenant.locale == "en") {
        return fmt::format("Morning summary {}: {} open violation(s), {} new in the last 24 h",
                           body.day, body.open.size(), body.fresh.size());
    }
    return fmt::format("Сводка на {}: открытых нарушений {}, новых за сутки {}", body.day,
                       body.open.size(), body.fresh.size());
}

}  // namespace

LocalMoment LocalMomentOf(Timestamp at, const std::string& time_zone) {
    const date::time_zone* zone = nullptr;
    try {
        zone = date::locate_zone(time_zone);
    } catch (const std::exception&) {
        zone = date::locate_zone("UTC");
    }
    const auto local = zone->to_local(at);
    const date::local_days day = date::floor<date::days>(local);
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(local - day);
    return {.day = date::format("%F", day),
            .weekday = static_cast<int>(date::weekday{day}.iso_encoding()) - 1,
            .minute = static_cast<int>(minutes.count())};
}

JudgeOutcome PlanMorningSummaries(storage::Db& db, const JudgeContext& context,
                                  const notify::UserNames& user_names) {
    JudgeOutcome outcome;
    const config::TenantConfig& tenant = context.tenant;
    if (tenant.mode == config::Mode::kObserve || !tenant.chat.configured ||
        !tenant.chat.morning_summary_minute) {
        return outcome;
    }
    std::vector<std::string> channels;
    for (const auto& [channel, settings] : tenant.chat_channels) {
        if (std::find(context.channels.begin(), context.channels.end(), channel) !=
            context.channels.end()) {
            channels.push_back(channel);
        }
    }
    if (channels.empty()) {
        return outcome;
    }
    const LocalMoment moment = LocalMomentOf(context.now, tenant.timezone);
    if (!tenant.chat.working_days[moment.weekday] ||
        moment.minute < *tenant.chat.morning_summary_minute ||
        storage::SummaryDone(db, tenant.id, moment.day)) {
        return outcome;
    }
    storage::ViolationFilter filter{.tenant = tenant.id, .limit = kMaxViolations};
    const std::vector<storage::Violation> open = storage::ListViolations(db, filter);
    filter.state = storage::ViolationFilter::State::kAll;
    filter.opened_since = context.now - kFreshWindow;
    const std::vector<storage::Violation> fresh = storage::ListViolations(db, filter);

    // Whose a violation is: its responsible is a CRM user id, a person may be named by the name
    // the CRM shows for it.
    const auto person_of = [&](const storage::Violation& violation) {
        return notify::FindPerson(tenant, violation.responsible,
                                  user_names ? user_names(violation.responsible) : std::string());
    };
    for (const config::Person& person : tenant.people) {
        outbox::SummaryBody body{.to = person.crm_user, .day = moment.day, .open = {}, .fresh = {}};
        std::set<const config::Person*> whose;  // the people the summary covers
        if (person.role == config::Role::kHead) {
            std::set<std::string> teams;
            for (const config::Team& team : tenant.teams) {
                if (team.head == person.crm_user) {
                    teams.insert(team.id);
                }
            }
            for (const config::Person& member : tenant.people) {
                if (teams.count(member.team) != 0) {
                    whose.insert(&member);
                }
            }
        } else {
            whose.insert(&person);
        }
        // Oldest first: what has waited longest leads.
        for (auto it = open.rbegin(); it != open.rend(); ++it) {
            if (whose.count(person_of(*it)) != 0) {
                body.open.push_back(ItemOf(tenant, *it));
            }
        }
        if (person.role == config::Role::kHead) {
            for (auto it = fresh.rbegin(); it != fresh.rend(); ++it) {
                if (whose.count(person_of(*it)) != 0) {
                    body.fresh.push_back(ItemOf(tenant, *it));
                }
            }
        }
        if (body.open.empty() && body.fresh.empty()) {
            continue;  // nothing to say: no message
        }
        for (const std::string& channel : channels) {
            PlannedAction action;
            action.channel = channel;
            action.body.kind = outbox::ActionKind::kSummary;
            action.body.tenant = tenant.id;
            action.body.responsible = person.crm_user;
            action.body.idempotency_key =
                fmt::format("{}:summary:{}:{}:{}", tenant.id, moment.day, person.crm_user, channel);
            action.body.text = SummaryText(tenant, body);
            action.body.detail = body;
            storage::OutboxItem item;
            item.tenant = tenant.id;
            item.kind = "summary";
            item.channel = channel;
            item.idempotency_key = action.body.idempotency_key;
            item.payload = outbox::EncodeAction(action.body);
            item.next_attempt_at = context.now;
            item.created_at = context.now;
            if (storage::EnqueueOutbox(db, item)) {
                outcome.actions.push_back(std::move(action));
            }
        }
    }
    storage::MarkSummaryDone(db, tenant.id, moment.day, context.now);
    return outcome;
}

}  // namespace fg::engine
