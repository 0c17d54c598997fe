#include "adapters/amocrm/sim/filters.hpp"

#include "adapters/amocrm/sim/respond.hpp"

namespace fg::adapters::amocrm::sim {

IntFilter IntList(const httplib::Request& req, const std::string& name) {
    IntFilter filter;
    for (const std::string& text : ParamList(req, name)) {
        filter.present = true;
        if (const auto value = ParseInt(text)) {
            filter.values.insert(*value);
        } else {
            filter.bad = true;
        }
    }
    return filter;
}

TimeRange Range(const httplib::Request& req, const std::string& name) {
    TimeRange range;
    auto read = [&](const std::string& key, std::optional<std::int64_t>& slot) {
        if (req.has_param(key.c_str())) {
            slot = ParseInt(req.get_param_value(key.c_str()));
            range.bad = range.bad || !slot;
        }
    };
    read(name + "[from]", range.from);
    read(name + "[to]", range.to);
    if (req.has_param(name.c_str())) {
        const auto exact = ParseInt(req.get_param_value(name.c_str()));
        range.bad = range.bad || !exact;
        range.from = exact;
        range.to = exact;
    }
    return range;
}

Order ParseOrder(const httplib::Request& req, const std::vector<std::string>& fields) {
    for (const std::string& field : fields) {
        const std::string key = "order[" + field + "]";
        if (req.has_param(key.c_str())) {
            return {field, req.get_param_value(key.c_str()) == "desc"};
        }
    }
    return {};
}

}  // namespace fg::adapters::amocrm::sim
