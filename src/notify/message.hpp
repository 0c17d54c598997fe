#pragma once

#include <string>
#include <vector>

/// What a chat message says, independent of any chat service's markup: the core composes it
/// (templates, routing), each notifier renders it in its own markup (Telegram HTML, Slack mrkdwn,
/// Bitrix24 BB-code), escaping every span, and splits it between blocks when it is too long.
namespace fg::notify {

/// A run of text: always plain text (never markup; the notifier escapes it), optionally bold,
/// optionally a link to `url`.
struct Span {
    std::string text{};
    bool bold = false;
    std::string url{};  // empty: not a link
};

/// One paragraph (a line, or one violation of a digest). A long message is split between
/// blocks; a block is cut only when it alone is over the service's limit.
struct Block {
    std::vector<Span> spans{};
};

/// A button under the message: opens `url`, or sends `callback` back to the notifier's listener
/// (an opaque id of at most 64 bytes, e.g. "ack:v:42"). Exactly one of the two is set.
struct Button {
    std::string label{};
    std::string url{};
    std::string callback{};
};

struct Message {
    std::vector<Block> blocks{};
    std::vector<Button> buttons{};  // a split message carries them on its last part only
    /// A short stable reference shown in the text (e.g. "#V-42"), so a person can tell a
    /// duplicate after an ambiguous send apart from a new message.
    std::string reference{};
    bool silent = false;  // delivered without a sound where the service allows it
};

/// The message as plain text, one block per line (fallback rendering, logs, tests).
std::string PlainText(const Message& message);

}  // namespace fg::notify
