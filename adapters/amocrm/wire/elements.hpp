#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adapters/amocrm/wire/form.hpp"
#include "src/common/result.hpp"
#include "src/common/time.hpp"

/// The first half of decoding an amoCRM webhook: the form's elements read into typed items,
/// checked but not yet mapped through the account's catalog and time zone (decoder.cpp does
/// that). An element that cannot be read is recorded with its reason; the others are read all
/// the same.
namespace fg::adapters::amocrm::elements {

// A CRM time as read: unix seconds, or a wall-clock time still to be placed in the tenant's zone
// (kept in `value` as if it were UTC).
struct CrmTime {
    Timestamp value{};
    bool local = false;
};

struct FieldValue {
    std::optional<std::int64_t> id{};
    std::string name{};
    std::string code{};
    std::string value{};
};

struct LeadCard {
    std::string path{};  // "leads[status][0]", for errors that need the catalog
    bool status_change = false;
    bool has_card = true;  // false: a compact element with only ids (Digital Pipeline)
    std::int64_t id = 0;
    std::string name{};
    std::int64_t status_id = 0;
    std::optional<std::int64_t> pipeline_id{};
    std::optional<std::int64_t> old_status_id{};
    std::optional<std::int64_t> old_pipeline_id{};
    std::optional<std::int64_t> responsible{};
    std::optional<CrmTime> updated{};  // nullopt: the time of receipt
    std::optional<CrmTime> created{};
    std::vector<FieldValue> fields{};
};

struct LeadDeletion {
    std::int64_t id = 0;
};

struct TaskCard {
    std::string id{};
    std::int64_t lead_id = 0;
    bool done = false;
    std::string text{};
    std::optional<std::int64_t> responsible{};
    std::optional<CrmTime> updated{};  // nullopt: the time of receipt
    std::optional<CrmTime> created{};
    std::optional<CrmTime> due{};
};

struct TaskDeletion {
    std::int64_t id = 0;
};

struct NoteCard {
    std::string id{};
    std::int64_t lead_id = 0;
    std::string text{};
    std::optional<CrmTime> created{};  // nullopt: the time of receipt
};

// What a body says, checked but not yet mapped through the catalog and the time zone.
using Item = std::variant<LeadCard, LeadDeletion, TaskCard, TaskDeletion, NoteCard>;

// What reading a body gave: its items, and the elements it could not read or does not judge.
struct Extracted {
    std::vector<Item> items{};
    std::vector<std::string> failed{};
    std::map<std::string, int> ignored{};
};

/// Parses a body: kInvalidInput only when it is not a form with something in it.
Result<form::Node> ParseForm(std::string_view body);

/// Reads every element of a parsed body (see AmoDecoder for what each gives).
Extracted Extract(const form::Node& root);

inline std::string Decimal(std::int64_t value) { return std::to_string(value); }

}  // namespace fg::adapters::amocrm::elements
