#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fg::adapters::generic {

/// Untrusted bytes made fit for an error message, a log line and a JSON string: at most
/// `max_chars` code points (then "..."), valid UTF-8 kept, control characters and bytes that are
/// not valid UTF-8 escaped as `\n`, `\xNN`. Never splits a multi-byte character.
std::string SafeText(std::string_view text, std::size_t max_chars = 200);

}  // namespace fg::adapters::generic
