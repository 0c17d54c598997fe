#pragma once

#include <string_view>

namespace fg {

/// Compares a presented secret with the expected one in time independent of where they differ.
bool SecretEquals(std::string_view presented, std::string_view expected);

}  // namespace fg
