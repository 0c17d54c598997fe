#include "adapters/bitrix24/api/directory.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace fg::adapters::bitrix24 {
namespace {

using nlohmann::json;

Result<std::vector<Category>> LoadCategories(Client& client) {
    std::vector<Category> categories;
    auto listed = client.Call("crm.category.list", {{"entityTypeId", 2}});
    if (listed) {
        const json list = ObjectOr(listed->result).value("categories", json::array());
        for (const json& row : list) {
            categories.push_back(
                {.id = FieldText(row, "id"), .name = FieldText(row, "name"), .stages = {}});
        }
    } else if (listed.error().code == ErrorCode::kInvalidInput ||
               listed.error().code == ErrorCode::kNotFound) {
        // An older portal: the deal-only method, which leaves out the default category.
        auto old = client.Call("crm.dealcategory.list", {{"order", {{"SORT", "ASC"}}}});
        if (!old) {
            return old.error();
        }
        categories.push_back({.id = "0", .name = "General", .stages = {}});
        if (old->result.is_array()) {
            for (const json& row : old->result) {
                categories.push_back(
                    {.id = FieldText(row, "ID"), .name = FieldText(row, "NAME"), .stages = {}});
            }
        }
    } else {
        return listed.error();
    }
    if (std::none_of(categories.begin(), categories.end(),
                     [](const Category& category) { return category.id == "0"; })) {
        categories.insert(categories.begin(), {.id = "0", .name = "General", .stages = {}});
    }
    return categories;
}

std::vector<Stage> StagesOf(const json& rows) {
    std::vector<Stage> stages;
    if (!rows.is_array()) {
        return stages;
    }
    for (const json& row : rows) {
        const std::string semantics = FieldText(row, "SEMANTICS");
        const std::string sort = FieldText(row, "SORT");
        stages.push_back({.status_id = FieldText(row, "STATUS_ID"),
                          .name = FieldText(row, "NAME"),
                          .sort = sort.empty() ? 0 : std::atoi(sort.c_str()),
                          .kind = semantics == "S"   ? domain::StageKind::kWon
                                  : semantics == "F" ? domain::StageKind::kLost
                                                     : domain::StageKind::kOpen});
    }
    std::stable_sort(stages.begin(), stages.end(),
                     [](const Stage& a, const Stage& b) { return a.sort < b.sort; });
    return stages;
}

// EDIT_FORM_LABEL is a string, or a map by language once LANG is asked for.
std::string LabelOf(const json& field) {
    for (const char* key : {"EDIT_FORM_LABEL", "LIST_COLUMN_LABEL", "LIST_FILTER_LABEL"}) {
        const json label = ObjectOr(field).value(key, json());
        if (label.is_string() && !label.get<std::string>().empty()) {
            return label.get<std::string>();
        }
        if (label.is_object()) {
            for (const char* language : {"ru", "en"}) {
                if (const std::string text = FieldText(label, language); !text.empty()) {
                    return text;
                }
            }
            for (const auto& [language, text] : label.items()) {
                if (!Text(text).empty()) {
                    return Text(text);
                }
            }
        }
    }
    return FieldText(field, "FIELD_NAME");
}

std::string UserName(const json& user) {
    std::string name = FieldText(user, "NAME");
    const std::string last = FieldText(user, "LAST_NAME");
    if (!last.empty()) {
        name += name.empty() ? last : " " + last;
    }
    return name.empty() ? FieldText(user, "EMAIL") : name;
}

}  // namespace

Result<Catalog> LoadCatalog(Client& client) {
    auto categories = LoadCategories(client);
    if (!categories) {
        return categories.error();
    }
    Catalog catalog;
    catalog.categories = std::move(categories).value();
    std::vector<BatchCommand> commands = {
        {"users", "user.get?" + BuildQuery({{"start", 0}})},
        {"fields", "crm.deal.userfield.list"},
    };
    for (const Category& category : catalog.categories) {
        const std::string entity =
            category.id == "0" ? "DEAL_STAGE" : fmt::format("DEAL_STAGE_{}", category.id);
        commands.push_back({"stages_" + category.id,
                            "crm.status.list?" + BuildQuery({{"filter", {{"ENTITY_ID", entity}}},
                                                             {"order", {{"SORT", "ASC"}}}})});
    }
    std::optional<std::int64_t> next_users;
    for (std::size_t start = 0; start < commands.size(); start += Client::kMaxBatch) {
        const std::vector<BatchCommand> chunk(
            commands.begin() + static_cast<std::ptrdiff_t>(start),
            commands.begin() +
                static_cast<std::ptrdiff_t>(std::min(commands.size(), start + Client::kMaxBatch)));
        auto items = client.Batch(chunk);
        if (!items) {
            return items.error();
        }
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            const BatchItem& item = (*items)[i];
            const std::string& key = chunk[i].key;
            if (item.failed) {
                if (key == "fields" || key == "users") {
                    continue;  // a webhook without the user scope still judges deals
                }
                return MakeError(
                    item.LimitExceeded() ? ErrorCode::kUnavailable : ErrorCode::kInvalidInput,
                    "crm.status.list: {} {}", item.error, item.description);
            }
            if (key == "users") {
                for (const json& user : item.result.is_array() ? item.result : json::array()) {
                    catalog.users[FieldText(user, "ID")] = UserName(user);
                }
                next_users = item.next;
            } else if (key == "fields") {
                for (const json& field : item.result.is_array() ? item.result : json::array()) {
                    catalog.field_labels[FieldText(field, "FIELD_NAME")] = LabelOf(field);
                }
            } else {
                const std::string id = key.substr(std::string("stages_").size());
                for (Category& category : catalog.categories) {
                    if (category.id == id) {
                        category.stages = StagesOf(item.result);
                    }
                }
            }
        }
    }
    // More than one page of users: the rest page by page (50 each).
    for (int page = 0; next_users && page < 1000; ++page) {
        auto users = client.Call("user.get", {{"start", *next_users}});
        if (!users) {
            return users.error();
        }
        for (const json& user : users->result.is_array() ? users->result : json::array()) {
            catalog.users[FieldText(user, "ID")] = UserName(user);
        }
        next_users = users->next;
    }
    catalog.loaded = true;
    return catalog;
}

}  // namespace fg::adapters::bitrix24
