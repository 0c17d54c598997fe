#include "adapters/bitrix24/wire/references.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace fg::adapters::bitrix24 {
namespace {

constexpr std::array<std::pair<Reference::Kind, std::string_view>, 4> kPrefixes = {{
    {Reference::Kind::kDeal, "deal:"},
    {Reference::Kind::kActivity, "activity:"},
    {Reference::Kind::kTask, "task:"},
    {Reference::Kind::kComment, "comment:"},
}};

}  // namespace

bool IsId(std::string_view text) {
    return !text.empty() && text.size() <= 19 && text.front() != '0' &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Reference::ToString() const {
    for (const auto& [kind_of, prefix] : kPrefixes) {
        if (kind_of == kind) {
            return std::string(prefix) + id;
        }
    }
    return id;
}

std::optional<Reference> Reference::Parse(std::string_view text) {
    for (const auto& [kind, prefix] : kPrefixes) {
        if (text.starts_with(prefix) && IsId(text.substr(prefix.size()))) {
            return Reference{.kind = kind, .id = std::string(text.substr(prefix.size()))};
        }
    }
    return std::nullopt;
}

}  // namespace fg::adapters::bitrix24
