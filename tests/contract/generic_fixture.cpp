// The generic adapter (JSON events of DESIGN.md §3, a bearer token, actions to actions_url).
#include <fmt/format.h>

#include "adapters/generic/adapter.hpp"
#include "tests/contract/fixtures.hpp"

namespace fg::contract {
namespace {

// DESIGN.md §3's example, with times where it elides them.
constexpr const char* kDesignExample = R"({"events": [
  {"id": "e1", "type": "deal.upserted", "at": "2026-11-02T09:00:00+03:00",
   "deal": {"id": "101", "title": "ООО Ромашка", "pipeline": "main", "stage": "Квалификация",
            "responsible": "u7", "fields": {"Бюджет": "500000"}}},
  {"id": "e2", "type": "task.upserted", "at": "2026-11-02T09:05:00+03:00",
   "task": {"id": "t1", "deal": "101", "due": "2026-11-03T12:00:00+03:00", "done": false, "responsible": "u7", "text": "Позвонить"}},
  {"id": "e3", "type": "note.added", "at": "2026-11-02T09:10:00+03:00", "note": {"id": "n1", "deal": "101", "text": "Клиент просит КП до пятницы"}},
  {"id": "e4", "type": "deal.deleted", "at": "2026-11-02T10:00:00+03:00", "deal": {"id": "101"}},
  {"id": "e5", "type": "task.deleted", "at": "2026-11-02T10:00:01+03:00", "task": {"id": "t1"}}
]})";

// The next step of the same deal: a card moved on and its task done.
constexpr const char* kMovedOn = R"({"events": [
  {"id": "e6", "type": "deal.upserted", "at": "2026-11-03T11:00:00+03:00",
   "deal": {"id": "101", "title": "ООО Ромашка", "pipeline": "main", "stage": "КП отправлено",
            "responsible": "u7", "fields": {"Бюджет": "500000", "Сумма КП": "480000"}}},
  {"id": "e7", "type": "task.upserted", "at": "2026-11-03T11:00:05+03:00",
   "task": {"id": "t1", "deal": "101", "due": "2026-11-03T12:00:00+03:00", "done": true, "responsible": "u7", "text": "Позвонить"}}
]})";

class GenericFixture final : public Fixture {
public:
    const crm::Adapter& adapter() const override { return adapters::generic::Adapter(); }

    std::string TenantToml(const std::string& api_url) const override {
        std::string toml = R"(  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Успешно"]
  won = ["Успешно"]
)";
        if (!api_url.empty()) {
            toml += fmt::format("  [tenant.generic]\n  actions_url = \"{}/actions\"\n", api_url);
        }
        return toml;
    }

    std::vector<Sample> Samples() const override {
        return {{.name = "DESIGN.md §3 example",
                 .body = kDesignExample,
                 .events = {"deal.upserted 101 main/Квалификация @2026-11-02T06:00:00Z",
                            "task.upserted t1 deal 101 open @2026-11-02T06:05:00Z",
                            "note.added n1 deal 101 @2026-11-02T06:10:00Z",
                            "deal.deleted 101 @2026-11-02T07:00:00Z",
                            "task.deleted t1 @2026-11-02T07:00:01Z"},
                 // The SHA-256 of the body's bytes, as inboxes of earlier builds keyed it.
                 .dedupe_key = "c6c7b87753098061351bac56905ef43308af3fa3db3fe87380bac18069b93616"},
                {.name = "moved on, task done",
                 .body = kMovedOn,
                 .events = {"deal.upserted 101 main/КП отправлено @2026-11-03T08:00:00Z",
                            "task.upserted t1 deal 101 done @2026-11-03T08:00:05Z"}}};
    }

    std::string WhyNoPull() const override {
        return "the generic adapter reads no CRM: events are pushed to it, and it has no API "
               "to reconcile against";
    }
    std::string WhyNoEcho() const override {
        return "its actions go to the integrator's own system at actions_url; whether that "
               "system posts them back as events is its business, not a CRM's behaviour";
    }
};

}  // namespace

std::unique_ptr<Fixture> MakeGenericFixture() { return std::make_unique<GenericFixture>(); }

}  // namespace fg::contract
