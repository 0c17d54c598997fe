// The engine driven step by step, as the demo drives it: no background processing of the inbox
// (EngineOptions::background = false), no outbox worker, Deliver() by hand.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/generic/decoder.hpp"
#include "src/app/adapters.hpp"
#include "src/engine/engine.hpp"
#include "tests/support/process.hpp"

// Named, not anonymous: the test files are compiled together (FG_UNITY).
namespace stepping_test_file {

using nlohmann::json;
using namespace std::chrono_literals;

const fg::Timestamp kMonday = *fg::ParseIso8601("2026-11-02T09:00:00+03:00");

json Deal(const std::string& event_id, const std::string& stage, fg::Duration at) {
    return {{"id", event_id},
            {"type", "deal.upserted"},
            {"at", fg::FormatIso8601(kMonday + at, "Europe/Moscow")},
            {"deal",
             {{"id", "101"},
              {"title", "ООО «Ромашка»"},
              {"pipeline", "main"},
              {"stage", stage},
              {"responsible", "ivanova"}}}};
}

class CountingSink final : public fg::outbox::ActionSink {
public:
    explicit CountingSink(std::vector<std::string>& kinds) : kinds_(kinds) {}
    fg::outbox::DeliveryResult Deliver(const fg::outbox::Action& action) override {
        kinds_.emplace_back(fg::domain::ActionKindName(action.kind()));
        return {.status = fg::outbox::DeliveryStatus::kDelivered, .retry_after = {}, .error = {}};
    }

private:
    std::vector<std::string>& kinds_;
};

TEST_CASE("Engine without background work processes the inbox only in Drain, delivers in Deliver") {
    fg::testing::TempDir dir;
    fg::ManualClock clock(kMonday + 5min);  // the events are in the past
    auto loaded = fg::config::LoadConfigFromString(fmt::format(R"(
[storage]
path = "{}"
[[tenant]]
id = "acme"
secret = "s"
mode = "enforce"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Успешно"]
  won = ["Успешно"]
  lost = ["Отказ"]
  [tenant.rules.stage_order]
  actions = ["note", "revert"]
)",
                                                               dir.File("fg.db")),
                                                   "test.toml", fg::app::CrmSchemas(), dir.path());
    REQUIRE(loaded.ok());
    std::vector<std::string> delivered;
    std::vector<std::string> opened;
    fg::engine::EngineOptions options;
    options.config = &loaded.config;
    options.clock = &clock;
    options.decoders.emplace("generic", std::make_unique<fg::adapters::generic::GenericDecoder>());
    options.make_sink = [&delivered](const fg::config::TenantConfig&) {
        return std::make_unique<CountingSink>(delivered);
    };
    options.timers = false;
    options.deliver = false;
    options.background = false;
    options.observer.on_violation = [&opened](const std::string&,
                                              const fg::engine::ViolationChange& change) {
        if (change.opened) {
            opened.push_back(change.violation.rule);
        }
    };
    fg::engine::Engine engine(std::move(options));
    REQUIRE(engine.Start());

    // A skipped stage: Новая, then КП отправлено.
    const json body{
        {"events", json::array({Deal("e1", "Новая", 0min), Deal("e2", "КП отправлено", 1min)})}};
    REQUIRE(engine.Intake("acme", "generic", body.dump(), clock.Now()).get());
    // Jobs on the writer thread after the intake's commit: background work would have run.
    REQUIRE(engine.Sweep());
    REQUIRE(engine.Sweep());
    CHECK(opened.empty());
    {
        auto reader = engine.OpenReader();
        REQUIRE(reader);
        CHECK(fg::storage::PendingInbox(**reader, 10).size() == 1);
    }

    const auto drained = engine.Drain();
    REQUIRE(drained);
    CHECK(*drained == 2);
    CHECK(opened == std::vector<std::string>{"stage_order"});
    CHECK(delivered.empty());  // no outbox worker

    const auto first = engine.Deliver();
    REQUIRE(first);
    CHECK(*first == 2);
    std::sort(delivered.begin(), delivered.end());
    CHECK(delivered == std::vector<std::string>{"note", "revert"});
    const auto second = engine.Deliver();
    REQUIRE(second);
    CHECK(*second == 0);  // nothing left due
    engine.Stop();
}

}  // namespace stepping_test_file
