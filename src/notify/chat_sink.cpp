#include "src/notify/chat_sink.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "src/config/section.hpp"
#include "src/notify/compose.hpp"
#include "src/notify/routing.hpp"
#include "src/notify/schedule.hpp"

namespace fg::notify {
namespace {

using outbox::Action;
using outbox::DeliveryResult;
using outbox::DeliveryStatus;

// The chat core accepts as many due messages as the outbox hands it: the channel's WaitFor keeps
// the service's real limits, per address.
constexpr std::size_t kMaxBatch = 50;
constexpr double kCallsPerSecond = 30;
constexpr Duration kChannelGoneRetry{60};

std::optional<MessageKind> KindOf(const Action& action) {
    if (action.body.summary() != nullptr) {
        return MessageKind::kSummary;
    }
    if (action.body.message() == nullptr) {
        return std::nullopt;
    }
    if (action.kind() == outbox::ActionKind::kNotify) {
        return MessageKind::kNotify;
    }
    if (action.kind() == outbox::ActionKind::kEscalate) {
        return MessageKind::kEscalate;
    }
    return std::nullopt;
}

std::string_view KindName(MessageKind kind) {
    switch (kind) {
        case MessageKind::kNotify:
            return "notify";
        case MessageKind::kEscalate:
            return "escalate";
        case MessageKind::kSummary:
            return "summary";
    }
    return "notify";
}

// Its outcome may have landed: sent, then no answer.
bool Ambiguous(const SendResult& result) {
    return result.delivery.status == DeliveryStatus::kRetry && !result.delivery.not_sent;
}

// Follows an attempt whose outcome is unknown: sent once more, never again.
bool FollowsAmbiguous(const Action& action) {
    return action.attempt > 1 && !action.previous_not_sent;
}

DeliveryResult Retry(Duration after, std::string error) {
    return {.status = DeliveryStatus::kRetry,
            .retry_after = std::max(after, Duration{1}),
            .error = std::move(error),
            .not_sent = true};
}

DeliveryResult Rejected(std::string error) {
    return {.status = DeliveryStatus::kRejected, .error = std::move(error)};
}

// Retry dominates (what is still to send goes again; what landed is remembered), then a
// delivery, then a refusal.
void Merge(std::optional<DeliveryResult>& into, DeliveryResult part) {
    if (!into) {
        into = std::move(part);
        return;
    }
    const auto rank = [](DeliveryStatus status) {
        return status == DeliveryStatus::kRetry ? 2 : status == DeliveryStatus::kDelivered ? 1 : 0;
    };
    if (rank(part.status) > rank(into->status)) {
        into = std::move(part);
    } else if (part.status == DeliveryStatus::kRetry && into->status == DeliveryStatus::kRetry) {
        into->not_sent = into->not_sent && part.not_sent;
        if (part.retry_after && (!into->retry_after || *part.retry_after < *into->retry_after)) {
            into->retry_after = part.retry_after;
        }
    }
}

class ChatSink final : public outbox::ActionSink {
public:
    explicit ChatSink(ChatSinkParts parts) : parts_(std::move(parts)) {}

    DeliveryResult Deliver(const Action& action) override { return DeliverBatch({action}).front(); }
    std::size_t MaxBatch(outbox::ActionKind kind) const override {
        (void)kind;
        return kMaxBatch;
    }
    std::vector<DeliveryResult> DeliverBatch(const std::vector<Action>& actions) override;

private:
    struct Item {
        std::size_t index = 0;
        const Action* action = nullptr;
        MessageKind kind = MessageKind::kNotify;
        const config::Person* covering_for = nullptr;
    };
    struct Group {
        Recipient recipient{};
        std::vector<Item> items{};
        bool resend = false;
        std::shared_ptr<const Message> cached{};  // the identical body of a resend
    };

    const config::TenantConfig& tenant() const { return *parts_.tenant; }
    const std::string& channel() const { return parts_.schema->name; }
    std::string Shown(const std::string& address) const;
    std::string NameOf(const std::string& crm_user) const;

    void Plan(const Item& item, std::map<std::string, Group>& groups,
              std::vector<std::optional<DeliveryResult>>& results);
    void Process(Group& group, bool may_fall_back,
                 std::vector<std::optional<DeliveryResult>>& results);
    Message Compose(const Group& group) const;
    void Conclude(const Group& group, const DeliveryResult& result,
                  std::vector<std::optional<DeliveryResult>>& results);
    void FallBack(const Group& group, const std::string& reason,
                  std::vector<std::optional<DeliveryResult>>& results);

    ChatSinkParts parts_;
    std::map<std::string, Timestamp> windows_{};  // address -> when its digest window opened
    std::set<std::pair<std::string, std::string>> landed_{};             // (key, address) delivered
    std::map<std::string, std::shared_ptr<const Message>> ambiguous_{};  // key -> its body
    std::set<std::string> reported_unknown_{};
    bool channel_problem_ = false;
};

std::string ChatSink::Shown(const std::string& address) const {
    if (!parts_.schema->secret_addresses) {
        return address;
    }
    if (config::IsHttpUrl(address)) {
        const config::UrlParts url = config::PartsOf(address);
        return fmt::format("{}://{}/…", url.https ? "https" : "http", url.host);
    }
    return "…";
}

std::string ChatSink::NameOf(const std::string& crm_user) const {
    if (const config::Person* person = FindPerson(tenant(), crm_user)) {
        return DisplayName(*person, parts_.user_names);
    }
    if (parts_.user_names) {
        if (std::string shown = parts_.user_names(crm_user); !shown.empty()) {
            return shown;
        }
    }
    return crm_user;
}

std::vector<DeliveryResult> ChatSink::DeliverBatch(const std::vector<Action>& actions) {
    std::vector<std::optional<DeliveryResult>> results(actions.size());
    std::map<std::string, Group> groups;
    for (std::size_t i = 0; i < actions.size(); ++i) {
        const Action& action = actions[i];
        const auto kind = KindOf(action);
        if (tenant().mode == config::Mode::kObserve) {
            results[i] = Rejected("observe mode: the tenant gets no chat messages");
        } else if (!kind) {
            results[i] = Rejected(fmt::format("a {} action is not a chat message",
                                              domain::ActionKindName(action.kind())));
        } else {
            Plan({.index = i, .action = &action, .kind = *kind}, groups, results);
        }
    }
    for (auto& [key, group] : groups) {
        Process(group, /*may_fall_back=*/true, results);
    }
    std::vector<DeliveryResult> out;
    out.reserve(actions.size());
    for (std::size_t i = 0; i < actions.size(); ++i) {
        DeliveryResult result =
            results[i].value_or(DeliveryResult{.status = DeliveryStatus::kDelivered});
        if (result.status != DeliveryStatus::kRetry) {
            const std::string& key = actions[i].idempotency_key();
            ambiguous_.erase(key);
            std::erase_if(landed_, [&](const auto& landed) { return landed.first == key; });
        }
        out.push_back(std::move(result));
    }
    return out;
}

void ChatSink::Plan(const Item& item, std::map<std::string, Group>& groups,
                    std::vector<std::optional<DeliveryResult>>& results) {
    const outbox::ActionBody& body = item.action->body;
    const outbox::SummaryBody* summary = body.summary();
    const std::string to = summary != nullptr ? summary->to : body.message()->to;
    const Routing routing =
        Route(tenant(), *parts_.book, channel(), item.kind, to, parts_.user_names);
    if (!routing.unknown_person.empty()) {
        if (reported_unknown_.insert(routing.unknown_person).second) {
            parts_.observer->UnknownPerson(tenant().id, routing.unknown_person);
        }
        results[item.index] =
            Rejected(fmt::format("CRM user \"{}\" is not among the tenant's [[tenant.person]]: "
                                 "nobody to send the message to",
                                 routing.unknown_person));
        return;
    }
    const std::string& key = body.idempotency_key;
    bool planned = false;
    for (const Recipient& recipient : routing.recipients) {
        if (landed_.count({key, recipient.address.value}) != 0) {
            Merge(results[item.index], {.status = DeliveryStatus::kDelivered});
            continue;
        }
        planned = true;
        const bool resend = FollowsAmbiguous(*item.action);
        std::shared_ptr<const Message> cached;
        if (const auto found = ambiguous_.find(key); resend && found != ambiguous_.end()) {
            cached = found->second;
        }
        // A resend goes alone, or with the actions of the same ambiguous body; a summary alone.
        std::string group_key = recipient.address.value;
        if (summary != nullptr || (resend && !cached)) {
            group_key += "\n" + key;
        } else if (resend) {
            group_key += fmt::format("\n{}", static_cast<const void*>(cached.get()));
        }
        Group& group = groups[group_key];
        if (group.items.empty()) {
            group.recipient = recipient;
            group.resend = resend;
            group.cached = cached;
        }
        Item planned_item = item;
        planned_item.covering_for = recipient.covering_for;
        group.items.push_back(planned_item);
    }
    if (!planned && !results[item.index]) {
        // Found by routing, so by the name the CRM shows for `to` when not by id.
        const config::Person* person =
            FindPerson(tenant(), to, parts_.user_names ? parts_.user_names(to) : std::string());
        const config::Person* target = item.kind == MessageKind::kEscalate && person != nullptr
                                           ? HeadOf(tenant(), *person)
                                           : person;
        if (target != nullptr && Reachable(tenant(), *parts_.book, *target)) {
            results[item.index] = DeliveryResult{.status = DeliveryStatus::kDelivered};
        } else {
            results[item.index] = Rejected(
                item.kind == MessageKind::kEscalate
                    ? fmt::format("\"{}\" has no head with a chat address (and the team no group "
                                  "chat) on {}: the escalation reaches no one",
                                  to, channel())
                : item.kind == MessageKind::kSummary
                    // A summary is never covered: the head's own summary lists the team.
                    ? fmt::format("\"{}\" has no chat address: their morning summary reaches no "
                                  "one (their head's summary lists their violations)",
                                  to)
                    : fmt::format("\"{}\" has no chat address (nor a head with one): the message "
                                  "reaches no one",
                                  to));
        }
    }
}

Message ChatSink::Compose(const Group& group) const {
    std::vector<const outbox::ActionBody*> bodies;
    std::vector<const config::Person*> covered;
    for (const Item& item : group.items) {
        bodies.push_back(&item.action->body);
        if (item.covering_for != nullptr &&
            std::find(covered.begin(), covered.end(), item.covering_for) == covered.end()) {
            covered.push_back(item.covering_for);
        }
    }
    Message message;
    const Item& first = group.items.front();
    switch (first.kind) {
        case MessageKind::kNotify:
            message = ComposeDigest(tenant(), bodies);
            break;
        case MessageKind::kEscalate: {
            std::vector<std::string> managers;
            std::vector<Duration> open_for;
            const Timestamp now = parts_.clock->Now();
            for (const outbox::ActionBody* body : bodies) {
                managers.push_back(NameOf(body->message()->to));
                open_for.push_back(std::max(Duration::zero(), now - body->violation.opened_at));
            }
            message = ComposeEscalationDigest(tenant(), bodies, managers, open_for);
            break;
        }
        case MessageKind::kSummary: {
            const outbox::SummaryBody& summary = *first.action->body.summary();
            const config::Person* person = FindPerson(tenant(), summary.to);
            const std::string name = NameOf(summary.to);
            if (person != nullptr && person->role == config::Role::kHead) {
                message =
                    ComposeHeadSummary(tenant(), summary, name,
                                       [this](const std::string& user) { return NameOf(user); });
            } else {
                message = ComposeManagerSummary(tenant(), summary, name);
            }
            break;
        }
    }
    for (auto it = covered.rbegin(); it != covered.rend(); ++it) {
        AddCoveringLine(tenant(), message, DisplayName(**it, parts_.user_names));
    }
    return message;
}

void ChatSink::Process(Group& group, bool may_fall_back,
                       std::vector<std::optional<DeliveryResult>>& results) {
    const Timestamp now = parts_.clock->Now();
    const std::string address = group.recipient.address.value;  // before a move changes it
    const MessageKind kind = group.items.front().kind;
    if (kind != MessageKind::kSummary && !group.resend) {
        auto [open, opened] = windows_.try_emplace(address, now);
        // A window whose messages never came back (their violations were resolved) is over.
        const Duration slack = std::max<Duration>(tenant().chat.digest, Duration{60});
        if (!opened && now > open->second + tenant().chat.digest + slack) {
            open->second = now;
        }
        const Timestamp window = open->second;
        const Timestamp at =
            NextSendTime(tenant(), now, window, parts_.book->LastSent(channel(), address));
        if (at > now) {
            Conclude(group, Retry(at - now, "waits for its digest, cooldown or working time"),
                     results);
            return;
        }
    }
    if (const Duration wait = parts_.channel->WaitFor(group.recipient.address);
        wait > Duration::zero()) {
        Conclude(group, Retry(wait, "waits for the chat service's limits"), results);
        return;
    }
    Outgoing outgoing;
    outgoing.to = group.recipient.address;
    outgoing.message = group.cached ? *group.cached : Compose(group);
    outgoing.key = group.items.front().action->idempotency_key();
    outgoing.attempt = group.items.front().action->attempt;
    outgoing.previous_not_sent =
        std::all_of(group.items.begin(), group.items.end(),
                    [](const Item& item) { return item.action->previous_not_sent; });
    SendResult sent = parts_.channel->Send(outgoing);
    if (!sent.moved_to.empty() && sent.moved_to != address) {
        parts_.book->RecordMove(channel(), address, sent.moved_to);
        group.recipient.address.value = sent.moved_to;
        outgoing.to = group.recipient.address;
        if (const Duration wait = parts_.channel->WaitFor(outgoing.to); wait > Duration::zero()) {
            Conclude(group, Retry(wait, "moved; waits for the chat service's limits"), results);
            return;
        }
        sent = parts_.channel->Send(outgoing);
    }
    if (sent.failure == Failure::kChannelGone) {
        channel_problem_ = true;
        parts_.observer->ChannelProblem(tenant().id, channel(), sent.delivery.error);
        Conclude(group, Retry(kChannelGoneRetry, sent.delivery.error), results);
        return;
    }
    if (sent.delivery.status == DeliveryStatus::kDelivered && channel_problem_) {
        channel_problem_ = false;
        parts_.observer->ChannelProblem(tenant().id, channel(), "");
    }
    if (sent.failure == Failure::kAddressGone) {
        const std::string& current = group.recipient.address.value;
        parts_.book->MarkBroken(channel(), current, sent.delivery.error, now);
        parts_.observer->AddressBroken(tenant().id, channel(), Shown(current), sent.delivery.error);
        if (may_fall_back) {
            FallBack(group, sent.delivery.error, results);
        } else {
            Conclude(group, Rejected(fmt::format("address gone: {}", sent.delivery.error)),
                     results);
        }
        return;
    }
    if (Ambiguous(sent)) {
        if (group.resend) {
            Conclude(group,
                     Rejected(fmt::format("delivered-unknown: sent twice, neither outcome known "
                                          "({}); not sent again",
                                          sent.delivery.error)),
                     results);
            return;
        }
        auto body = std::make_shared<const Message>(outgoing.message);
        for (const Item& item : group.items) {
            ambiguous_[item.action->idempotency_key()] = body;
        }
    }
    if (sent.delivery.status == DeliveryStatus::kDelivered) {
        parts_.book->RecordSent(channel(), group.recipient.address.value, now);
        parts_.observer->Sent(tenant().id, channel(), KindName(kind));
        windows_.erase(address);
        for (const Item& item : group.items) {
            landed_.insert({item.action->idempotency_key(), group.recipient.address.value});
        }
    }
    Conclude(group, sent.delivery, results);
}

void ChatSink::FallBack(const Group& group, const std::string& reason,
                        std::vector<std::optional<DeliveryResult>>& results) {
    const auto head = FallbackToHead(tenant(), *parts_.book, channel(), group.recipient);
    if (!head) {
        Conclude(group,
                 Rejected(fmt::format("address gone ({}), and no head to fall back to", reason)),
                 results);
        return;
    }
    Group fallback;
    fallback.recipient = *head;
    for (Item item : group.items) {
        if (item.covering_for != nullptr) {
            Merge(results[item.index],
                  Rejected(fmt::format("address gone ({}) while covering", reason)));
            continue;
        }
        item.covering_for = head->covering_for;
        fallback.items.push_back(item);
    }
    if (!fallback.items.empty()) {
        Process(fallback, /*may_fall_back=*/false, results);
    }
}

void ChatSink::Conclude(const Group& group, const DeliveryResult& result,
                        std::vector<std::optional<DeliveryResult>>& results) {
    for (const Item& item : group.items) {
        Merge(results[item.index], result);
    }
}

}  // namespace

outbox::PacedSink MakeChatSink(ChatSinkParts parts) {
    return outbox::PacedSink(std::make_unique<ChatSink>(std::move(parts)), kCallsPerSecond);
}

}  // namespace fg::notify
