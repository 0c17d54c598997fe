#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/time.hpp"
#include "src/config/config.hpp"
#include "src/notify/message.hpp"
#include "src/outbox/action.hpp"

/// What people read in chat: notify.Message values composed from the tenant's templates
/// (`[tenant.templates]` "chat.*" keys, else the Russian or English defaults by locale), with
/// every CRM string as plain text spans (the notifier escapes them). Pure.
namespace fg::notify {

/// A template's `{name}` placeholders and what they become: each a span (bold, a link, or
/// plain). Unknown placeholders stay as written, so a typo in an override shows.
using Spans = std::map<std::string, Span, std::less<>>;

/// Fills `text`: one Block per line, the literal text as plain spans, each placeholder as its
/// span.
std::vector<Block> Fill(std::string_view text, const Spans& values);

/// The tenant's text for `key` ("chat.notify", "chat.rule.<rule id>"...): its override, else
/// the default in its locale; empty for a key with no default.
std::string Text(const config::TenantConfig& tenant, std::string_view key);
/// The rule in plain words ("Сделка без задачи") and what to do about it.
std::string RuleTitle(const config::TenantConfig& tenant, std::string_view rule);
std::string RuleTodo(const config::TenantConfig& tenant, std::string_view rule);
/// The deal's address in the CRM (TenantConfig::deal_url with its id), or empty.
std::string DealUrl(const config::TenantConfig& tenant, std::string_view deal);
/// "#V-42".
std::string Reference(std::int64_t violation_id);
/// Every chat template key compose reads (for config checks and tests).
std::vector<std::string> ChatTemplateKeys();

/// A manager's message about one violation: the rule in bold, the deal as a link, what is
/// wrong, what to do, an "Open deal" button, reference "#V-<id>".
Message ComposeNotify(const config::TenantConfig& tenant, const outbox::ActionBody& action);
/// Several of a person's violations in one message: a header line, one block per violation,
/// the references of all.
Message ComposeDigest(const config::TenantConfig& tenant,
                      const std::vector<const outbox::ActionBody*>& actions);
/// The head's message about a violation open too long: the manager's name, how long it is
/// open, and an "Acknowledge" button whose callback is "ack:v:<id>".
Message ComposeEscalation(const config::TenantConfig& tenant, const outbox::ActionBody& action,
                          const std::string& manager, Duration open_for);
/// Several escalations to one head in one message: a header, one block per violation, an
/// "Acknowledge #V-<id>" button each.
Message ComposeEscalationDigest(const config::TenantConfig& tenant,
                                const std::vector<const outbox::ActionBody*>& actions,
                                const std::vector<std::string>& managers,
                                const std::vector<Duration>& open_for);
/// A manager's morning summary: their open violations (SummaryBody::open).
Message ComposeManagerSummary(const config::TenantConfig& tenant,
                              const outbox::SummaryBody& summary, const std::string& name);
/// A head's morning summary: one line per manager with their open and new violations by rule,
/// the day's worst offenders (most new, then most open) first. `manager_name` names a CRM
/// user.
Message ComposeHeadSummary(const config::TenantConfig& tenant, const outbox::SummaryBody& summary,
                           const std::string& name,
                           const std::function<std::string(const std::string&)>& manager_name);
/// Puts "<person> is not connected to the chat; this message is for them" first.
void AddCoveringLine(const config::TenantConfig& tenant, Message& message,
                     const std::string& covered_name);

}  // namespace fg::notify
