#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fg::adapters::amocrm {

/// Untrusted text made fit for an error message or a log line: at most `max_chars` code points
/// (then "..."), never splitting a multi-byte character; control characters and invalid UTF-8
/// bytes escaped as `\n`, `\xNN`.
std::string Snippet(std::string_view text, std::size_t max_chars = 200);

/// 3000 -> "3,000".
std::string GroupThousands(std::int64_t value);

}  // namespace fg::adapters::amocrm
