#include "src/notify/message.hpp"

namespace fg::notify {

std::string PlainText(const Message& message) {
    std::string text;
    for (const Block& block : message.blocks) {
        if (!text.empty()) {
            text += '\n';
        }
        for (const Span& span : block.spans) {
            text += span.text;
        }
    }
    if (!message.reference.empty()) {
        text += (text.empty() ? "" : "\n") + message.reference;
    }
    return text;
}

}  // namespace fg::notify
