#pragma once

#include <optional>
#include <string>

#include "src/engine/judge.hpp"
#include "src/notify/routing.hpp"

namespace fg::engine {

/// The tenant's local calendar day of `at` ("2026-11-02"), its weekday (0 = Monday) and the
/// minute of the day.
struct LocalMoment {
    std::string day{};
    int weekday = 0;
    int minute = 0;
};
LocalMoment LocalMomentOf(Timestamp at, const std::string& time_zone);

/// The morning summaries, once per tenant and local working day from `[tenant.chat]
/// morning_summary` on (a day the service was down at that minute gets them at its first sweep
/// later that day): a summary action per person and chat channel, a manager's open violations
/// (none: no message), a head's team's open violations and those opened in the last 24 h. The
/// day is recorded as done in the same transaction, so a restart sends none twice. Nothing in
/// observe mode, without [tenant.chat], or without a chat channel that has a sink. Runs in the
/// caller's write transaction. A violation is a person's when its responsible is their crm_user
/// or, through `user_names` (the CRM's directory), the name the CRM shows for it.
JudgeOutcome PlanMorningSummaries(storage::Db& db, const JudgeContext& context,
                                  const notify::UserNames& user_names = {});

}  // namespace fg::engine
