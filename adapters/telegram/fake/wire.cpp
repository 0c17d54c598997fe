#include "adapters/telegram/fake/wire.hpp"

#include <algorithm>
#include <cctype>

#include "adapters/telegram/fake/html_entities.hpp"

namespace fg::adapters::telegram::fake::detail {
namespace {

constexpr std::size_t kMaxRawTextBytes = 32768;
constexpr std::size_t kMaxTextCodePoints = 4096;
constexpr std::size_t kMaxCallbackDataBytes = 64;

}  // namespace

std::optional<std::int64_t> IntParam(const nlohmann::json& params, const char* key) {
    const auto found = params.find(key);
    if (found == params.end()) {
        return std::nullopt;
    }
    if (found->is_number_integer()) {
        return found->get<std::int64_t>();
    }
    if (found->is_string()) {
        const std::string& text = found->get_ref<const std::string&>();
        if (text.empty() || text.size() > 20) {
            return std::nullopt;
        }
        std::size_t digits = text.front() == '-' ? 1 : 0;
        if (digits == text.size() ||
            !std::all_of(text.begin() + static_cast<std::ptrdiff_t>(digits), text.end(),
                         [](unsigned char c) { return std::isdigit(c) != 0; })) {
            return std::nullopt;
        }
        try {
            return std::stoll(text);
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

std::optional<std::string> StringParam(const nlohmann::json& params, const char* key) {
    const auto found = params.find(key);
    if (found == params.end() || found->is_null()) {
        return std::nullopt;
    }
    if (found->is_string()) {
        return found->get<std::string>();
    }
    if (found->is_number()) {
        return found->dump();
    }
    return std::nullopt;
}

std::optional<bool> BoolParam(const nlohmann::json& params, const char* key) {
    const auto found = params.find(key);
    if (found == params.end()) {
        return std::nullopt;
    }
    if (found->is_boolean()) {
        return found->get<bool>();
    }
    if (found->is_string()) {
        return *found == "true" || *found == "1";
    }
    return std::nullopt;
}

std::optional<nlohmann::json> ObjectParam(const nlohmann::json& params, const char* key) {
    const auto found = params.find(key);
    if (found == params.end() || found->is_null()) {
        return std::nullopt;
    }
    if (found->is_string()) {
        return nlohmann::json::parse(found->get<std::string>(), nullptr, false);
    }
    return *found;
}

TextCheck CheckText(const std::optional<std::string>& text, const std::string& parse_mode) {
    if (!text || text->empty()) {
        return TextCheck{.plain = {}, .error = "Bad Request: message text is empty"};
    }
    if (text->size() > kMaxRawTextBytes) {
        return TextCheck{.plain = {}, .error = "Bad Request: text is too long"};
    }
    std::string plain;
    if (parse_mode.empty() || parse_mode == "markdown" || parse_mode == "markdownv2") {
        // The fake checks HTML only; Markdown passes as written.
        plain = *text;
    } else if (parse_mode == "html") {
        ParsedHtml parsed = ParseHtml(*text);
        if (!parsed.ok) {
            return TextCheck{.plain = {},
                             .error = "Bad Request: can't parse entities: " + parsed.error};
        }
        plain = std::move(parsed.text);
    } else {
        return TextCheck{.plain = {}, .error = "Bad Request: unsupported parse_mode"};
    }
    if (plain.empty()) {
        return TextCheck{.plain = {}, .error = "Bad Request: message text is empty"};
    }
    if (CodePoints(plain) > kMaxTextCodePoints) {
        return TextCheck{.plain = {}, .error = "Bad Request: message is too long"};
    }
    return TextCheck{.plain = std::move(plain), .error = {}};
}

KeyboardCheck CheckKeyboard(const std::optional<nlohmann::json>& markup) {
    KeyboardCheck check;
    if (!markup) {
        return check;
    }
    if (markup->is_discarded() || !markup->is_object()) {
        check.error = "Bad Request: can't parse reply keyboard markup JSON object";
        return check;
    }
    const auto keyboard = markup->find("inline_keyboard");
    if (keyboard == markup->end()) {
        return check;  // another kind of markup: not what the notifier sends, accepted
    }
    if (!keyboard->is_array()) {
        check.error = "Bad Request: field \"inline_keyboard\" must be an Array";
        return check;
    }
    for (const auto& row : *keyboard) {
        if (!row.is_array()) {
            check.error = "Bad Request: field \"inline_keyboard\" must be an Array of Arrays";
            return check;
        }
        std::vector<SentButton> buttons;
        for (const auto& button : row) {
            if (!button.is_object() || !button.contains("text") || !button["text"].is_string()) {
                check.error =
                    "Bad Request: can't parse inline keyboard button: Field \"text\" "
                    "must be of type String";
                return check;
            }
            SentButton sent;
            sent.text = button["text"].get<std::string>();
            if (button.contains("url") && button["url"].is_string()) {
                sent.url = button["url"].get<std::string>();
            }
            if (button.contains("callback_data") && button["callback_data"].is_string()) {
                sent.callback_data = button["callback_data"].get<std::string>();
                if (sent.callback_data.empty() ||
                    sent.callback_data.size() > kMaxCallbackDataBytes) {
                    check.error = "Bad Request: BUTTON_DATA_INVALID";
                    return check;
                }
            }
            if (sent.url.empty() == sent.callback_data.empty()) {
                check.error =
                    "Bad Request: can't parse inline keyboard button: Text buttons are "
                    "unallowed in the inline keyboard";
                return check;
            }
            if (sent.text.empty()) {
                check.error = "Bad Request: BUTTON_TEXT_INVALID";
                return check;
            }
            buttons.push_back(std::move(sent));
        }
        check.rows.push_back(std::move(buttons));
    }
    return check;
}

nlohmann::json KeyboardJson(const std::vector<std::vector<SentButton>>& rows) {
    nlohmann::json keyboard = nlohmann::json::array();
    for (const auto& row : rows) {
        nlohmann::json buttons = nlohmann::json::array();
        for (const SentButton& button : row) {
            nlohmann::json json = {{"text", button.text}};
            if (!button.url.empty()) {
                json["url"] = button.url;
            } else {
                json["callback_data"] = button.callback_data;
            }
            buttons.push_back(std::move(json));
        }
        keyboard.push_back(std::move(buttons));
    }
    return {{"inline_keyboard", std::move(keyboard)}};
}

bool IsMalformedToken(const std::string& token) {
    return token.find(':') == std::string::npos || token.empty() || token.front() == '0' ||
           token.size() > 80 || token.find('/') != std::string::npos;
}

}  // namespace fg::adapters::telegram::fake::detail
