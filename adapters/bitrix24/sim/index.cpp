#include "adapters/bitrix24/sim/index.hpp"

#include "adapters/bitrix24/sim/model.hpp"

namespace fg::adapters::bitrix24::sim {

std::vector<std::int64_t> KeyIndex::Ids(const std::vector<std::string>& keys) const {
    std::vector<std::int64_t> out;
    for (const std::string& key : keys) {
        if (const auto it = ids_.find(key); it != ids_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void KeyIndex::Clear() {
    ids_.clear();
    count = 0;
    last_id = std::numeric_limits<std::int64_t>::min();
}

namespace {

template <typename Entity, typename Keys>
void CatchUpMap(KeyIndex& index, const std::map<std::int64_t, Entity>& all, const Keys& keys) {
    if (index.count == all.size()) {
        return;
    }
    const auto add_from = [&](auto it) {
        for (; it != all.end(); ++it) {
            keys(it->second, [&](const std::string& key) { index.Add(key, it->first); });
            ++index.count;
            index.last_id = it->first;
        }
    };
    add_from(index.count == 0 ? all.begin() : all.upper_bound(index.last_id));
    if (index.count != all.size()) {
        index.Clear();
        add_from(all.begin());
    }
}

}  // namespace

void ListIndex::CatchUp(const Model& model) {
    CatchUpMap(activities, model.activities, [](const SimActivity& activity, const auto& add) {
        add(std::to_string(activity.owner_id));
    });
    CatchUpMap(tasks, model.tasks, [](const SimTask& task, const auto& add) {
        for (const std::string& binding : task.crm) {
            add(binding);
        }
    });
    CatchUpMap(comments, model.comments, [](const SimComment& comment, const auto& add) {
        add(std::to_string(comment.entity_id));
    });
    if (history.count > model.history.size()) {
        history.Clear();
        history_at.clear();
    }
    for (std::size_t i = history.count; i < model.history.size(); ++i) {
        const SimStageHistory& row = model.history[i];
        history.Add(std::to_string(row.owner_id), row.id);
        history_at[row.id] = i;
        ++history.count;
    }
}

NextId AmongIds(std::vector<std::int64_t> ids) {
    return [ids = std::move(ids)](std::int64_t at) -> std::optional<std::int64_t> {
        const auto it = std::lower_bound(ids.begin(), ids.end(), at);
        return it == ids.end() ? std::nullopt : std::optional<std::int64_t>{*it};
    };
}

}  // namespace fg::adapters::bitrix24::sim
