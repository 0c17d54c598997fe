#include <algorithm>
#include <cstddef>

#include "adapters/amocrm/sim/filters.hpp"
#include "adapters/amocrm/sim/render.hpp"
#include "adapters/amocrm/sim/respond.hpp"
#include "adapters/amocrm/sim/simulator_impl.hpp"
#include "adapters/amocrm/sim/validation.hpp"

namespace fg::adapters::amocrm::sim {

// GET /api/v4/events: the account's event log, newest first.

using nlohmann::json;

namespace {

constexpr int kMaxEventsPage = 100;  // the RU docs' limit for events (amocrm.md §2.7)

}  // namespace

void Simulator::Impl::ListEvents(const httplib::Request& req, httplib::Response& res) {
    const auto paging = ReadPaging(req, res, kMaxEventsPage, kMaxEventsPage);
    if (!paging) {
        return;
    }
    const IntFilter entity_ids = IntList(req, "filter[entity_id]");
    const IntFilter created_by = IntList(req, "filter[created_by]");
    const TimeRange created = Range(req, "filter[created_at]");
    if (entity_ids.bad || created_by.bad || created.bad) {
        ValidationProblem(res, {{"0", {InvalidType("filter", "int")}}});
        return;
    }
    const std::vector<std::string> entity = ParamList(req, "filter[entity]");
    // filter[entity_id] takes at most 10 ids and needs one filter[entity];
    // filter[created_by] 10.
    FieldErrors filter_errors;
    if (entity_ids.values.size() > 10) {
        filter_errors.push_back(NotSupported("filter[entity_id]"));
    }
    if (entity_ids.present && entity.size() != 1) {
        filter_errors.push_back(NotBlank("filter[entity]"));
    }
    if (created_by.values.size() > 10) {
        filter_errors.push_back(NotSupported("filter[created_by]"));
    }
    if (!filter_errors.empty()) {
        ValidationProblem(res, {{"0", filter_errors}});
        return;
    }
    if (!entity.empty() && std::find(entity.begin(), entity.end(), "lead") == entity.end() &&
        std::find(entity.begin(), entity.end(), "leads") == entity.end()) {
        res.status = 204;  // the simulator logs lead events only
        return;
    }
    const std::vector<std::string> type_names = ParamList(req, "filter[type]");
    const std::vector<std::string> id_filter = ParamList(req, "filter[id]");
    const Order order = ParseOrder(req, {"created_at", "id"});
    const bool ascending = !order.field.empty() && !order.descending;  // default: newest first
    std::lock_guard lock(mutex);
    const std::vector<SimEvent>& events = model.Events();
    // The log is sorted by time: narrow to the created_at range first.
    auto begin = events.begin();
    auto end = events.end();
    if (created.from) {
        begin = std::lower_bound(events.begin(), events.end(), FromEpoch(*created.from),
                                 [](const SimEvent& e, Timestamp t) { return e.created_at < t; });
    }
    if (created.to) {
        end = std::upper_bound(begin, events.end(), FromEpoch(*created.to),
                               [](Timestamp t, const SimEvent& e) { return t < e.created_at; });
    }
    auto accepts = [&](const SimEvent& event) {
        if (!entity_ids.Accepts(event.lead_id) || !created_by.Accepts(event.created_by)) {
            return false;
        }
        if (!type_names.empty() && std::find(type_names.begin(), type_names.end(),
                                             EventTypeName(event.type)) == type_names.end()) {
            return false;
        }
        return id_filter.empty() ||
               std::find(id_filter.begin(), id_filter.end(), event.Id()) != id_filter.end();
    };
    json items = json::array();
    std::size_t skipped = 0;
    const std::size_t offset = paging->Offset();
    const std::size_t count = static_cast<std::size_t>(end - begin);
    for (std::size_t k = 0; k < count && items.size() < static_cast<std::size_t>(paging->limit);
         ++k) {
        const SimEvent& event = ascending ? *(begin + static_cast<std::ptrdiff_t>(k))
                                          : *(end - 1 - static_cast<std::ptrdiff_t>(k));
        if (!accepts(event)) {
            continue;
        }
        if (skipped < offset) {
            ++skipped;
            continue;
        }
        items.push_back(EventJson(model, event));
    }
    RespondPage(model.base_url, req, res, *paging, "events", std::move(items));
}

}  // namespace fg::adapters::amocrm::sim
