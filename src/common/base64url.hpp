#pragma once

#include <string>
#include <string_view>

namespace fg {

/// `bytes` in base64url (RFC 4648 §5) without padding: link codes, JWT parts.
std::string Base64Url(std::string_view bytes);

}  // namespace fg
