// The fake's Bot API methods (reference/chat.md §1.3-§1.10).
#include <algorithm>

#include <fmt/format.h>

#include "adapters/telegram/fake/fake_bot_api.hpp"
#include "adapters/telegram/fake/wire.hpp"

namespace fg::adapters::telegram::fake {
namespace {

std::string LowerParseMode(const nlohmann::json& params) {
    std::string mode = detail::StringParam(params, "parse_mode").value_or("");
    std::transform(mode.begin(), mode.end(), mode.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return mode;
}

bool SameKeyboard(const std::vector<std::vector<SentButton>>& a,
                  const std::vector<std::vector<SentButton>>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return std::equal(
            x.begin(), x.end(), y.begin(), y.end(), [](const SentButton& p, const SentButton& q) {
                return p.text == q.text && p.url == q.url && p.callback_data == q.callback_data;
            });
    });
}

std::string UpdateKind(const nlohmann::json& update) {
    for (const char* kind : {"message", "callback_query", "my_chat_member", "edited_message"}) {
        if (update.contains(kind)) {
            return kind;
        }
    }
    return {};
}

}  // namespace

FakeBotApi::Answer FakeBotApi::SendMessage(const nlohmann::json& params) {
    const auto chat_id = detail::IntParam(params, "chat_id");
    if (!chat_id) {
        return Answer::Error(400, "Bad Request: chat_id is empty");
    }
    const std::string parse_mode = LowerParseMode(params);
    detail::TextCheck text = detail::CheckText(detail::StringParam(params, "text"), parse_mode);
    detail::KeyboardCheck keyboard =
        detail::CheckKeyboard(detail::ObjectParam(params, "reply_markup"));
    const auto preview = detail::ObjectParam(params, "link_preview_options");
    std::lock_guard lock(mutex_);
    const auto found = chats_.find(*chat_id);
    if (found == chats_.end()) {
        return Answer::Error(400, "Bad Request: chat not found");
    }
    const Chat& chat = *found->second;
    if (chat.migrated_to) {
        Answer answer =
            Answer::Error(400, "Bad Request: group chat was upgraded to a supergroup chat");
        answer.migrate_to = *chat.migrated_to;
        return answer;
    }
    if (chat.blocked) {
        return Answer::Error(403, "Forbidden: bot was blocked by the user");
    }
    if (!text.error.empty()) {
        return Answer::Error(400, text.error);
    }
    if (!keyboard.error.empty()) {
        return Answer::Error(400, keyboard.error);
    }
    if (preview && (preview->is_discarded() || !preview->is_object())) {
        return Answer::Error(400, "Bad Request: can't parse link preview options JSON object");
    }
    if (options_.enforce_limits) {
        if (auto refused = CheckLimits(*chat_id)) {
            changed_.notify_all();
            return *refused;
        }
    }
    SentMessage sent{
        .chat_id = *chat_id,
        .message_id = next_message_id_++,
        .text = detail::StringParam(params, "text").value_or(""),
        .plain = text.plain,
        .parse_mode = detail::StringParam(params, "parse_mode").value_or(""),
        .buttons = keyboard.rows,
        .silent = detail::BoolParam(params, "disable_notification").value_or(false),
        .preview_disabled = preview && preview->value("is_disabled", false),
        .date = Now(),
    };
    nlohmann::json result = {{"message_id", sent.message_id},
                             {"from",
                              {{"id", options_.bot_id},
                               {"is_bot", true},
                               {"first_name", "Funnelguard"},
                               {"username", options_.username}}},
                             {"chat", ChatJson(*chat_id)},
                             {"date", sent.date},
                             {"text", sent.plain}};
    if (!sent.buttons.empty()) {
        result["reply_markup"] = detail::KeyboardJson(sent.buttons);
    }
    stored_.push_back(StoredMessage{.chat_id = sent.chat_id,
                                    .message_id = sent.message_id,
                                    .text = sent.text,
                                    .plain = sent.plain,
                                    .parse_mode = parse_mode,
                                    .buttons = sent.buttons,
                                    .date = sent.date});
    messages_.push_back(std::move(sent));
    changed_.notify_all();
    return Answer::Ok(std::move(result));
}

FakeBotApi::Answer FakeBotApi::EditMessageText(const nlohmann::json& params) {
    const auto chat_id = detail::IntParam(params, "chat_id");
    const auto message_id = detail::IntParam(params, "message_id");
    if (!chat_id) {
        return Answer::Error(400, "Bad Request: chat_id is empty");
    }
    if (!message_id) {
        return Answer::Error(400, "Bad Request: message identifier is not specified");
    }
    const std::string parse_mode = LowerParseMode(params);
    const std::string raw = detail::StringParam(params, "text").value_or("");
    detail::TextCheck text = detail::CheckText(raw, parse_mode);
    detail::KeyboardCheck keyboard =
        detail::CheckKeyboard(detail::ObjectParam(params, "reply_markup"));
    std::lock_guard lock(mutex_);
    if (chats_.find(*chat_id) == chats_.end()) {
        return Answer::Error(400, "Bad Request: chat not found");
    }
    const auto stored = std::find_if(stored_.begin(), stored_.end(), [&](const StoredMessage& m) {
        return m.chat_id == *chat_id && m.message_id == *message_id;
    });
    if (stored == stored_.end()) {
        return Answer::Error(400, "Bad Request: message to edit not found");
    }
    if (!text.error.empty()) {
        return Answer::Error(400, text.error);
    }
    if (!keyboard.error.empty()) {
        return Answer::Error(400, keyboard.error);
    }
    if (stored->text == raw && stored->parse_mode == parse_mode &&
        SameKeyboard(stored->buttons, keyboard.rows)) {
        return Answer::Error(400,
                             "Bad Request: message is not modified: specified new message content "
                             "and reply markup are exactly the same as a current content and "
                             "reply markup of the message");
    }
    stored->text = raw;
    stored->plain = text.plain;
    stored->parse_mode = parse_mode;
    stored->buttons = keyboard.rows;
    edits_.push_back(
        EditedMessage{.chat_id = *chat_id,
                      .message_id = *message_id,
                      .text = raw,
                      .parse_mode = detail::StringParam(params, "parse_mode").value_or(""),
                      .buttons = keyboard.rows});
    changed_.notify_all();
    nlohmann::json result = {{"message_id", *message_id},
                             {"chat", ChatJson(*chat_id)},
                             {"date", stored->date},
                             {"edit_date", Now()},
                             {"text", stored->plain}};
    return Answer::Ok(std::move(result));
}

FakeBotApi::Answer FakeBotApi::AnswerCallbackQuery(const nlohmann::json& params) {
    const std::string id = detail::StringParam(params, "callback_query_id").value_or("");
    std::lock_guard lock(mutex_);
    const auto found = callbacks_.find(id);
    if (found == callbacks_.end() || found->second) {
        return Answer::Error(400,
                             "Bad Request: query is too old and response timeout expired or query "
                             "ID is invalid");
    }
    found->second = true;
    answers_.push_back(AnsweredCallback{.callback_query_id = id,
                                        .text = detail::StringParam(params, "text").value_or("")});
    changed_.notify_all();
    return Answer::Ok(true);
}

// Long polling as the Bot API server does it (reference/chat.md §1.9): updates below `offset`
// are confirmed and forgotten, the rest wait for a higher offset; a new poll ends an older one
// with 409.
FakeBotApi::Answer FakeBotApi::GetUpdates(const nlohmann::json& params) {
    const auto offset = detail::IntParam(params, "offset");
    const auto limit =
        std::clamp<std::int64_t>(detail::IntParam(params, "limit").value_or(100), 1, 100);
    const auto timeout = std::clamp<std::int64_t>(detail::IntParam(params, "timeout").value_or(0),
                                                  0, options_.max_poll_timeout.count());
    const auto allowed = detail::ObjectParam(params, "allowed_updates");
    std::unique_lock lock(mutex_);
    if (webhook_active_) {
        ++conflicts_;
        return Answer::Error(409,
                             "Conflict: can't use getUpdates method while webhook is active; use "
                             "deleteWebhook to delete the webhook first");
    }
    const std::uint64_t generation = ++poll_generation_;
    changed_.notify_all();
    if (allowed && allowed->is_array()) {
        std::vector<std::string> kinds;
        for (const auto& kind : *allowed) {
            if (kind.is_string()) {
                kinds.push_back(kind.get<std::string>());
            }
        }
        allowed_updates_ = kinds.empty() ? std::nullopt : std::optional(kinds);
    }
    if (offset && *offset < 0) {
        const auto keep = static_cast<std::size_t>(-*offset);
        if (updates_.size() > keep) {
            updates_.erase(updates_.begin(), updates_.end() - static_cast<std::ptrdiff_t>(keep));
        }
    } else if (offset) {
        std::erase_if(updates_, [&](const nlohmann::json& update) {
            return update["update_id"].get<std::int64_t>() < *offset;
        });
    }
    auto eligible = [&] {
        std::vector<nlohmann::json> out;
        for (const nlohmann::json& update : updates_) {
            if (offset && *offset < 0) {
                // a negative offset returns from the end; nothing is filtered by id
            } else if (offset && update["update_id"].get<std::int64_t>() < *offset) {
                continue;
            }
            if (allowed_updates_ && std::find(allowed_updates_->begin(), allowed_updates_->end(),
                                              UpdateKind(update)) == allowed_updates_->end()) {
                continue;
            }
            out.push_back(update);
            if (static_cast<std::int64_t>(out.size()) >= limit) {
                break;
            }
        }
        return out;
    };
    ++waiting_polls_;
    changed_.notify_all();
    changed_.wait_for(lock, std::chrono::seconds{timeout}, [&] {
        return stopping_ || generation != poll_generation_ || !eligible().empty();
    });
    --waiting_polls_;
    changed_.notify_all();
    if (generation != poll_generation_) {
        ++conflicts_;
        return Answer::Error(409,
                             "Conflict: terminated by other getUpdates request; make sure that "
                             "only one bot instance is running");
    }
    return Answer::Ok(eligible());
}

}  // namespace fg::adapters::telegram::fake
