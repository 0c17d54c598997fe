#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <httplib.h>

#include "src/common/time.hpp"

namespace fg::adapters::amocrm::sim {

// The filter[...] and order[...] query parameters the list routes share.

/// An integer list filter (filter[x], filter[x][], filter[x][n], comma lists).
struct IntFilter {
    bool present = false;
    bool bad = false;  // a value is not an integer
    std::set<std::int64_t> values{};
    bool Accepts(std::int64_t value) const { return !present || values.count(value) > 0; }
};

IntFilter IntList(const httplib::Request& req, const std::string& name);

/// filter[x][from] / filter[x][to] / filter[x]=exact.
struct TimeRange {
    std::optional<std::int64_t> from{};
    std::optional<std::int64_t> to{};
    bool bad = false;
    bool Accepts(Timestamp t) const {
        const std::int64_t s = ToEpoch(t);
        return (!from || s >= *from) && (!to || s <= *to);
    }
    bool Present() const { return from || to; }
};

TimeRange Range(const httplib::Request& req, const std::string& name);

struct Order {
    std::string field{};  // empty = default
    bool descending = false;
};

/// The first order[<field>] present of `fields` (desc or asc).
Order ParseOrder(const httplib::Request& req, const std::vector<std::string>& fields);

}  // namespace fg::adapters::amocrm::sim
