#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/filters.hpp"
#include "adapters/amocrm/sim/render.hpp"
#include "adapters/amocrm/sim/respond.hpp"
#include "adapters/amocrm/sim/simulator_impl.hpp"
#include "adapters/amocrm/sim/validation.hpp"

namespace fg::adapters::amocrm::sim {

// The notes routes: GET and POST /api/v4/leads/notes and /api/v4/leads/{id}/notes.

using nlohmann::json;

void Simulator::Impl::ListNotes(const httplib::Request& req, httplib::Response& res,
                                std::optional<std::int64_t> lead_id) {
    const auto paging = ReadPaging(req, res, kMaxPage, 50);
    if (!paging) {
        return;
    }
    const IntFilter ids = IntList(req, "filter[id]");
    const IntFilter entity_ids = IntList(req, "filter[entity_id]");
    const TimeRange updated = Range(req, "filter[updated_at]");
    if (ids.bad || entity_ids.bad || updated.bad) {
        ValidationProblem(res, {{"0", {InvalidType("filter", "int")}}});
        return;
    }
    const std::vector<std::string> types = ParamList(req, "filter[note_type]");
    const Order order = ParseOrder(req, {"updated_at", "id"});
    std::lock_guard lock(mutex);
    const std::vector<SimNote>& notes = model.Notes();
    auto accepts = [&](const SimNote& note) {
        return ids.Accepts(note.id) && entity_ids.Accepts(note.lead_id) &&
               updated.Accepts(note.updated_at) &&
               (types.empty() ||
                std::find(types.begin(), types.end(), note.note_type) != types.end());
    };
    std::vector<std::uint32_t> matches;
    if (lead_id) {
        const SimLead* lead = model.Lead(*lead_id);
        if (lead == nullptr || lead->is_deleted) {
            res.status = 204;
            return;
        }
        for (const std::int64_t note_id : model.LeadNoteIds(*lead_id)) {
            if (accepts(*model.Note(note_id))) {
                matches.push_back(static_cast<std::uint32_t>(note_id - Model::kNoteBase - 1));
            }
        }
    } else {
        for (std::size_t i = 0; i < notes.size(); ++i) {
            if (accepts(notes[i])) {
                matches.push_back(static_cast<std::uint32_t>(i));
            }
        }
    }
    if (order.field == "updated_at") {
        std::stable_sort(matches.begin(), matches.end(), [&](std::uint32_t a, std::uint32_t b) {
            return order.descending ? notes[b].updated_at < notes[a].updated_at
                                    : notes[a].updated_at < notes[b].updated_at;
        });
    } else if (order.descending) {
        std::reverse(matches.begin(), matches.end());
    }
    json items = json::array();
    for (std::size_t i = paging->Offset();
         i < matches.size() && items.size() < static_cast<std::size_t>(paging->limit); ++i) {
        items.push_back(NoteJson(model, notes[matches[i]]));
    }
    RespondPage(model.base_url, req, res, *paging, "notes", std::move(items));
}

void Simulator::Impl::CreateNotes(const httplib::Request& req, httplib::Response& res,
                                  std::optional<std::int64_t> lead_id) {
    const auto body = ReadBatch(req, res, kMaxBatch);
    if (!body) {
        return;
    }
    std::lock_guard lock(mutex);
    if (lead_id) {
        const SimLead* lead = model.Lead(*lead_id);
        if (lead == nullptr || lead->is_deleted) {
            Problem(res, 404, "Not Found", fmt::format("Lead {} not found", *lead_id));
            return;
        }
    }
    std::vector<NoteInput> inputs;
    std::vector<std::pair<std::string, FieldErrors>> problems;
    for (std::size_t i = 0; i < body->size(); ++i) {
        FieldErrors errors;
        NoteInput input = ParseNoteInput(model, (*body)[i], lead_id.value_or(0), errors);
        input.request_id = RequestIdOr(input.request_id, i);
        if (!errors.empty()) {
            problems.emplace_back(input.request_id, std::move(errors));
        }
        inputs.push_back(std::move(input));
    }
    if (!problems.empty()) {
        ValidationProblem(res, problems);
        return;
    }
    const Timestamp now = clock->Now();
    std::vector<HookItem> hooks;
    json created = json::array();
    for (const NoteInput& input : inputs) {
        const std::int64_t actor = Actor(input.created_by);
        const std::int64_t id =
            model.AddNote(SimNote{.lead_id = input.lead_id,
                                  .note_type = input.note_type,
                                  .text = input.text,
                                  .service = input.service,
                                  .created_by = actor,
                                  .responsible_user_id = input.responsible_user_id.value_or(
                                      model.Lead(input.lead_id)->responsible_user_id)},
                          now, hooks);
        created.push_back({{"id", id},
                           {"entity_id", input.lead_id},
                           {"request_id", input.request_id},
                           {"_links", Link(fmt::format("{}/api/v4/leads/{}/notes/{}",
                                                       model.base_url, input.lead_id, id))}});
    }
    Dispatch(hooks);
    Hal(res, {{"_links", Link(model.base_url + req.path)},
              {"_embedded", {{"notes", std::move(created)}}}});
}

}  // namespace fg::adapters::amocrm::sim
