#include "src/notify/compose.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

namespace fg::notify {
namespace {

void AppendPlain(Block& block, std::string_view text) {
    if (text.empty()) {
        return;
    }
    if (!block.spans.empty() && !block.spans.back().bold && block.spans.back().url.empty()) {
        block.spans.back().text.append(text);
        return;
    }
    block.spans.push_back(Span{.text = std::string(text)});
}

void FillLine(std::string_view line, const Spans& values, Block& block) {
    std::size_t i = 0;
    while (i < line.size()) {
        const std::size_t open = line.find('{', i);
        if (open == std::string_view::npos) {
            AppendPlain(block, line.substr(i));
            return;
        }
        AppendPlain(block, line.substr(i, open - i));
        const std::size_t close = line.find('}', open + 1);
        if (close == std::string_view::npos) {
            AppendPlain(block, line.substr(open));
            return;
        }
        const auto found = values.find(line.substr(open + 1, close - open - 1));
        if (found == values.end()) {
            AppendPlain(block, line.substr(open, close - open + 1));
        } else if (found->second.bold || !found->second.url.empty()) {
            if (!found->second.text.empty()) {
                block.spans.push_back(found->second);
            }
        } else {
            AppendPlain(block, found->second.text);
        }
        i = close + 1;
    }
}

std::string MessageOf(const outbox::ActionBody& action) {
    return action.violation.message.empty() ? action.text : action.violation.message;
}

// What the rule found, in the tenant's language, without the deal's name and the advice that the
// CRM note's full message adds (a chat message names the deal and says what to do in lines of
// its own); the full message when the rule gave no reason.
std::string ReasonOf(const config::TenantConfig& tenant, const outbox::ActionBody& action) {
    const nlohmann::json& details = action.violation.details;
    for (const char* key : {tenant.locale == "en" ? "reason_en" : "reason", "reason"}) {
        if (const auto found = details.find(key);
            found != details.end() && found->is_string() && !found->get<std::string>().empty()) {
            return found->get<std::string>();
        }
    }
    return MessageOf(action);
}

// The placeholders every violation's text may use.
Spans ViolationSpans(const config::TenantConfig& tenant, const outbox::ActionBody& action) {
    const std::string title = action.deal_title.empty() ? action.deal : action.deal_title;
    return {
        {"rule", Span{.text = RuleTitle(tenant, action.violation.rule), .bold = true}},
        {"deal", Span{.text = title, .url = DealUrl(tenant, action.deal)}},
        {"deal_id", Span{.text = action.deal}},
        {"message", Span{.text = MessageOf(action)}},
        {"reason", Span{.text = ReasonOf(tenant, action)}},
        {"todo", Span{.text = RuleTodo(tenant, action.violation.rule)}},
        {"reference", Span{.text = Reference(action.violation.id)}},
    };
}

void Append(std::vector<Block>& to, std::vector<Block> blocks) {
    for (Block& block : blocks) {
        to.push_back(std::move(block));
    }
}

std::string References(const std::vector<const outbox::ActionBody*>& actions) {
    std::string out;
    for (const outbox::ActionBody* action : actions) {
        out += (out.empty() ? "" : " ") + Reference(action->violation.id);
    }
    return out;
}

void AddOpenDeal(const config::TenantConfig& tenant, const outbox::ActionBody& action,
                 Message& message) {
    if (std::string url = DealUrl(tenant, action.deal); !url.empty()) {
        message.buttons.push_back(Button{.label = Text(tenant, "chat.open_deal"), .url = url});
    }
}

std::string AckCallback(std::int64_t id) { return fmt::format("ack:v:{}", id); }

}  // namespace

std::vector<Block> Fill(std::string_view text, const Spans& values) {
    std::vector<Block> blocks;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        Block block;
        FillLine(text.substr(start, end - start), values, block);
        if (!block.spans.empty()) {
            blocks.push_back(std::move(block));
        }
        start = end + 1;
    }
    return blocks;
}

std::string DealUrl(const config::TenantConfig& tenant, std::string_view deal) {
    std::string url = tenant.deal_url;
    const auto at = url.find("{deal}");
    if (url.empty() || at == std::string::npos || deal.empty()) {
        return {};
    }
    url.replace(at, 6, deal);
    return url;
}

std::string Reference(std::int64_t violation_id) { return fmt::format("#V-{}", violation_id); }

Message ComposeNotify(const config::TenantConfig& tenant, const outbox::ActionBody& action) {
    Message message;
    message.blocks = Fill(Text(tenant, "chat.notify"), ViolationSpans(tenant, action));
    AddOpenDeal(tenant, action, message);
    message.reference = Reference(action.violation.id);
    return message;
}

Message ComposeDigest(const config::TenantConfig& tenant,
                      const std::vector<const outbox::ActionBody*>& actions) {
    if (actions.size() == 1) {
        return ComposeNotify(tenant, *actions.front());
    }
    Message message;
    message.blocks = Fill(Text(tenant, "chat.digest_header"),
                          {{"count", Span{.text = std::to_string(actions.size())}}});
    const std::string item = Text(tenant, "chat.digest_item");
    for (const outbox::ActionBody* action : actions) {
        Append(message.blocks, Fill(item, ViolationSpans(tenant, *action)));
    }
    message.reference = References(actions);
    return message;
}

Message ComposeEscalation(const config::TenantConfig& tenant, const outbox::ActionBody& action,
                          const std::string& manager, Duration open_for) {
    Spans spans = ViolationSpans(tenant, action);
    spans.emplace("manager", Span{.text = manager});
    spans.emplace("open_for", Span{.text = HumanDuration(open_for, tenant.locale)});
    Message message;
    message.blocks = Fill(Text(tenant, "chat.escalate"), spans);
    AddOpenDeal(tenant, action, message);
    message.buttons.push_back(
        Button{.label = Text(tenant, "chat.ack"), .callback = AckCallback(action.violation.id)});
    message.reference = Reference(action.violation.id);
    return message;
}

Message ComposeEscalationDigest(const config::TenantConfig& tenant,
                                const std::vector<const outbox::ActionBody*>& actions,
                                const std::vector<std::string>& managers,
                                const std::vector<Duration>& open_for) {
    if (actions.size() == 1) {
        return ComposeEscalation(tenant, *actions.front(), managers.front(), open_for.front());
    }
    Message message;
    message.blocks = Fill(Text(tenant, "chat.escalate_header"),
                          {{"count", Span{.text = std::to_string(actions.size())}}});
    const std::string item = Text(tenant, "chat.escalate_item");
    const std::string ack = Text(tenant, "chat.ack");
    for (std::size_t i = 0; i < actions.size(); ++i) {
        Spans spans = ViolationSpans(tenant, *actions[i]);
        spans.emplace("manager", Span{.text = managers[i]});
        spans.emplace("open_for", Span{.text = HumanDuration(open_for[i], tenant.locale)});
        Append(message.blocks, Fill(item, spans));
        message.buttons.push_back(
            Button{.label = fmt::format("{} {}", ack, Reference(actions[i]->violation.id)),
                   .callback = AckCallback(actions[i]->violation.id)});
    }
    message.reference = References(actions);
    return message;
}

Message ComposeManagerSummary(const config::TenantConfig& tenant,
                              const outbox::SummaryBody& summary, const std::string& name) {
    Message message;
    message.silent = true;
    message.blocks = Fill(Text(tenant, "chat.summary_manager"),
                          {{"name", Span{.text = name}},
                           {"day", Span{.text = summary.day}},
                           {"count", Span{.text = std::to_string(summary.open.size())}}});
    const std::string item = Text(tenant, "chat.digest_item");
    for (const outbox::SummaryItem& open : summary.open) {
        outbox::ActionBody action;
        action.deal = open.deal;
        action.deal_title = open.deal_title;
        action.violation.id = open.violation_id;
        action.violation.rule = open.rule;
        action.violation.message = open.message;
        if (!open.reason.empty()) {
            action.violation.details = {{"reason", open.reason}};
        }
        Append(message.blocks, Fill(item, ViolationSpans(tenant, action)));
    }
    return message;
}

Message ComposeHeadSummary(const config::TenantConfig& tenant, const outbox::SummaryBody& summary,
                           const std::string& name,
                           const std::function<std::string(const std::string&)>& manager_name) {
    struct Counts {
        std::map<std::string, std::pair<int, int>> by_rule{};  // rule -> (open, new)
        int open = 0;
        int fresh = 0;
    };
    std::map<std::string, Counts> managers;
    for (const outbox::SummaryItem& item : summary.open) {
        Counts& counts = managers[item.responsible];
        ++counts.open;
        ++counts.by_rule[item.rule].first;
    }
    for (const outbox::SummaryItem& item : summary.fresh) {
        Counts& counts = managers[item.responsible];
        ++counts.fresh;
        ++counts.by_rule[item.rule].second;
    }
    std::vector<std::pair<std::string, const Counts*>> order;
    for (const auto& [manager, counts] : managers) {
        order.emplace_back(manager_name ? manager_name(manager) : manager, &counts);
    }
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        if (a.second->fresh != b.second->fresh) {
            return a.second->fresh > b.second->fresh;
        }
        if (a.second->open != b.second->open) {
            return a.second->open > b.second->open;
        }
        return a.first < b.first;
    });

    Message message;
    message.silent = true;
    message.blocks = Fill(Text(tenant, "chat.summary_head"),
                          {{"name", Span{.text = name}},
                           {"day", Span{.text = summary.day}},
                           {"open", Span{.text = std::to_string(summary.open.size())}},
                           {"fresh", Span{.text = std::to_string(summary.fresh.size())}}});
    const std::string line = Text(tenant, "chat.summary_head_line");
    for (const auto& [manager, counts] : order) {
        std::string rules;
        for (const auto& [rule, numbers] : counts->by_rule) {
            rules += fmt::format("{}{} {}/+{}", rules.empty() ? "" : ", ", RuleTitle(tenant, rule),
                                 numbers.first, numbers.second);
        }
        Append(message.blocks, Fill(line, {{"manager", Span{.text = manager, .bold = true}},
                                           {"open", Span{.text = std::to_string(counts->open)}},
                                           {"fresh", Span{.text = std::to_string(counts->fresh)}},
                                           {"rules", Span{.text = rules}}}));
    }
    return message;
}

void AddCoveringLine(const config::TenantConfig& tenant, Message& message,
                     const std::string& covered_name) {
    std::vector<Block> line =
        Fill(Text(tenant, "chat.covering"), {{"person", Span{.text = covered_name}}});
    message.blocks.insert(message.blocks.begin(), line.begin(), line.end());
}

}  // namespace fg::notify
