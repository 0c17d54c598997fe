#pragma once

// A tenant for the chat core's tests, built in code: a team "north" headed by Анна Смирнова
// (head, telegram 900), managers u1 Иван Петров (telegram 101), u2 Олег Сидоров (no address),
// the team's group -100500, on the channel "tg".

#include <memory>
#include <string>

#include "src/common/time.hpp"
#include "src/config/config.hpp"
#include "src/outbox/action.hpp"

namespace fg::notify::testing {

inline Timestamp At(const std::string& iso) { return *ParseIso8601(iso); }

inline config::TenantConfig Tenant(const std::string& locale = "ru") {
    config::TenantConfig tenant;
    tenant.id = "acme";
    tenant.locale = locale;
    tenant.timezone = "Europe/Moscow";
    tenant.deal_url = "https://acme.amocrm.ru/leads/detail/{deal}";
    tenant.chat.configured = true;
    tenant.chat_channels["tg"] = std::make_shared<config::ChannelSettings>();
    tenant.people.push_back(
        {.crm_user = "u1", .name = "Иван Петров", .team = "north", .addresses = {{"tg", "101"}}});
    tenant.people.push_back({.crm_user = "u2", .name = "Олег Сидоров", .team = "north"});
    tenant.people.push_back({.crm_user = "h1",
                             .name = "Анна Смирнова",
                             .role = config::Role::kHead,
                             .team = "north",
                             .addresses = {{"tg", "900"}}});
    tenant.teams.push_back({.id = "north", .head = "h1", .chats = {{"tg", "-100500"}}});
    return tenant;
}

/// A violation's notify (or escalate) action for CRM user `to`.
inline outbox::ActionBody Violation(std::int64_t id, const std::string& to,
                                    const std::string& rule = "deal_without_task",
                                    domain::ActionKind kind = domain::ActionKind::kNotify) {
    outbox::ActionBody body;
    body.kind = kind;
    body.tenant = "acme";
    body.deal = std::to_string(1000 + id);
    body.deal_title = "ООО «Ромашка» <" + std::to_string(id) + ">";
    body.responsible = to;
    body.idempotency_key = "acme:" + std::to_string(id) + ":" + std::string(ActionKindName(kind));
    body.violation.id = id;
    body.violation.rule = rule;
    body.violation.opened_at = At("2026-11-02T07:00:00Z");
    body.violation.message = "нет открытой задачи";
    body.text = body.violation.message;
    body.detail = outbox::MessageBody{.to = to};
    return body;
}

}  // namespace fg::notify::testing
