#pragma once

#include <string>
#include <string_view>

#include "src/common/result.hpp"
#include "src/outbox/action.hpp"

/// The one encoding of an ActionBody: the outbox row's payload, and the JSON document the generic
/// adapter posts to an `actions_url` (README, "Actions"). Keys: kind, tenant, deal, deal_title,
/// responsible, text, idempotency_key and violation {id, rule, opened_at, details, message} once
/// bound; task {text, responsible, due} for a task, revert {pipeline, from, to} for a revert, and
/// to for notify and escalate; to and summary {day, open, fresh} for a summary, each item
/// {violation_id, deal, deal_title, rule, responsible, opened_at, message}.
namespace fg::outbox {

std::string EncodeAction(const ActionBody& body);
/// kInvalidInput naming the key when `json` is not an action this build or an earlier one wrote.
Result<ActionBody> DecodeAction(std::string_view json);

}  // namespace fg::outbox
