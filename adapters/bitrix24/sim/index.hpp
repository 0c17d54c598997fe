#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "adapters/bitrix24/sim/listing.hpp"

namespace fg::adapters::bitrix24::sim {

class Model;

/// Ids of entities by a key they hold (its deal's id for a to-do, "D_<id>" for a task), so that
/// the list methods' OWNER_ID / UF_CRM_TASK / ENTITY_ID filters need not scan everything.
class KeyIndex {
public:
    /// The ids under any of `keys`, ascending, each once.
    std::vector<std::int64_t> Ids(const std::vector<std::string>& keys) const;
    void Add(const std::string& key, std::int64_t id) { ids_[key].push_back(id); }
    void Clear();

    std::size_t count = 0;  // entities indexed
    std::int64_t last_id = std::numeric_limits<std::int64_t>::min();

private:
    std::unordered_map<std::string, std::vector<std::int64_t>> ids_{};
};

/// The model's list indexes. The model only ever adds entities (deletion is a flag) with
/// growing ids, and an owner never changes, so CatchUp indexes what was added since the last
/// time; anything else (fewer or older entities than indexed) rebuilds from scratch.
struct ListIndex {
    KeyIndex activities{};                             // OWNER_ID
    KeyIndex tasks{};                                  // each UF_CRM_TASK binding
    KeyIndex comments{};                               // ENTITY_ID
    KeyIndex history{};                                // OWNER_ID
    std::map<std::int64_t, std::size_t> history_at{};  // stage-history ID -> Model::history[i]

    void CatchUp(const Model& model);
};

/// Candidates: every key of `all`, or the given ascending ids.
template <typename Entity>
NextId AllIds(const std::map<std::int64_t, Entity>& all) {
    return [&all](std::int64_t at) -> std::optional<std::int64_t> {
        const auto it = all.lower_bound(at);
        return it == all.end() ? std::nullopt : std::optional<std::int64_t>{it->first};
    };
}
NextId AmongIds(std::vector<std::int64_t> ids);

}  // namespace fg::adapters::bitrix24::sim
