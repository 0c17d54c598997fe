#pragma once

// The fake's private shapes: its chats, its answers and typed reads of request parameters
// (query, form or JSON alike, the way the Bot API reads them).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/telegram/fake/fake_bot_api.hpp"

namespace fg::adapters::telegram::fake {

struct FakeBotApi::Chat {
    std::int64_t id = 0;
    bool group = false;
    bool blocked = false;
    std::optional<std::int64_t> migrated_to{};
    std::string name{};  // first name, or the group's title
    // Flood limits: a private chat's token bucket, a group's sends of the last minute.
    double tokens = 3;
    std::int64_t tokens_at = 0;
    std::vector<std::int64_t> recent_sends{};
    int too_many = 0;
};

struct FakeBotApi::Answer {
    int error_code = 0;  // 0: ok
    nlohmann::json result{};
    std::string description{};
    std::optional<int> retry_after{};
    bool retry_after_in_body = true;
    std::optional<std::int64_t> migrate_to{};

    static Answer Ok(nlohmann::json result) {
        Answer answer;
        answer.result = std::move(result);
        return answer;
    }
    static Answer Error(int code, std::string description) {
        Answer answer;
        answer.error_code = code;
        answer.description = std::move(description);
        return answer;
    }
};

struct FakeBotApi::StoredMessage {
    std::int64_t chat_id = 0;
    std::int64_t message_id = 0;
    std::string text{};
    std::string plain{};
    std::string parse_mode{};
    std::vector<std::vector<SentButton>> buttons{};
    std::int64_t date = 0;
};

namespace detail {

/// An integer parameter, given as a number or as a string of digits.
std::optional<std::int64_t> IntParam(const nlohmann::json& params, const char* key);
/// A string parameter (a number is its decimal text).
std::optional<std::string> StringParam(const nlohmann::json& params, const char* key);
std::optional<bool> BoolParam(const nlohmann::json& params, const char* key);
/// A JSON-serialized parameter: an object or array as is, or a string holding one. nullopt:
/// absent; a json `discarded` value: present but not JSON.
std::optional<nlohmann::json> ObjectParam(const nlohmann::json& params, const char* key);

/// The visible text of `text` under `parse_mode`, or the Bot API's 400 description.
struct TextCheck {
    std::string plain{};
    std::string error{};  // "Bad Request: ..."; empty: accepted
};
TextCheck CheckText(const std::optional<std::string>& text, const std::string& parse_mode);

/// reply_markup's inline keyboard, or the Bot API's 400 description in `error`.
struct KeyboardCheck {
    std::vector<std::vector<SentButton>> rows{};
    std::string error{};
};
KeyboardCheck CheckKeyboard(const std::optional<nlohmann::json>& markup);
nlohmann::json KeyboardJson(const std::vector<std::vector<SentButton>>& rows);

/// "Unauthorized: invalid token specified" applies: no ':', starts with '0', over 80 characters
/// or holds a '/' (reference/chat.md §1.8).
bool IsMalformedToken(const std::string& token);

}  // namespace detail
}  // namespace fg::adapters::telegram::fake
