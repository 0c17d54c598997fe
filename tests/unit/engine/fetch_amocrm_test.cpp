// The fetch stage with the real amoCRM adapter against its simulator: a body naming a pipeline
// the tenant's catalog lacks waits for the directory, which the fetch stage loads; then the body
// is decoded again and applied.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>

#include "adapters/amocrm/sim/simulator.hpp"
#include "src/app/adapters.hpp"
#include "src/app/wiring.hpp"
#include "src/engine/engine.hpp"
#include "tests/support/process.hpp"

// Named, not anonymous: the test files are compiled together (FG_UNITY).
namespace fetch_amocrm_test_file {

namespace sim = fg::adapters::amocrm::sim;
using fg::storage::InboxState;

std::string AmoForm(const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::string body;
    for (const auto& [key, value] : pairs) {
        body += (body.empty() ? "" : "&") + httplib::detail::encode_query_param(key) + "=" +
                httplib::detail::encode_query_param(value);
    }
    return body;
}

std::uint64_t PipelineReads(const sim::Simulator& crm) {
    const auto stats = crm.Stats();
    const auto found = stats.endpoints.find("GET /api/v4/leads/pipelines");
    return found == stats.endpoints.end() ? 0 : found->second;
}

TEST_CASE("Fetch stage: an amoCRM body naming a pipeline the catalog lacks applies once loaded") {
    sim::Simulator crm({.token = "sim-token-fetch", .seed = 3});
    REQUIRE(crm.Start());
    const sim::SimPipeline* main = nullptr;
    const std::vector<sim::SimPipeline> pipelines = crm.Pipelines();
    for (const sim::SimPipeline& pipeline : pipelines) {
        main = pipeline.is_main ? &pipeline : main;
    }
    REQUIRE(main != nullptr);
    const sim::SimStatus* first = main->Find(main->OpenStages().at(0));
    REQUIRE(first != nullptr);

    fg::testing::TempDir dir;
    auto loaded = fg::config::LoadConfigFromString(fmt::format(R"(
[storage]
path = "{}"
[[tenant]]
id = "acme"
crm = "amocrm"
secret = "s"
mode = "observe"
  [tenant.amocrm]
  base_url = "{}"
  token = "sim-token-fetch"
)",
                                                               dir.File("fg.db"), crm.BaseUrl()),
                                                   "test.toml", fg::app::CrmSchemas(), dir.path());
    for (const auto& problem : loaded.problems) {
        FAIL(fg::config::FormatProblem(problem));
    }
    fg::ManualClock clock(*fg::ParseIso8601("2026-11-02T09:00:00+03:00"));
    fg::app::Adapters adapters(loaded.config, clock);
    fg::engine::EngineOptions options = adapters.EngineOptionsFor(clock);
    options.timers = false;  // no start-up load: the catalog stays empty until the fetch stage
    options.deliver = false;
    options.background = false;
    fg::engine::Engine engine(std::move(options));
    REQUIRE(engine.Start());
    const auto items = [&](InboxState state) {
        auto db = engine.OpenReader();
        REQUIRE(db);
        return fg::storage::ListInbox(**db, {.tenant = "acme", .state = state, .limit = 10});
    };

    const std::string body = AmoForm({{"leads[add][0][id]", "9100001"},
                                      {"leads[add][0][name]", "ООО «Новая воронка»"},
                                      {"leads[add][0][status_id]", std::to_string(first->id)},
                                      {"leads[add][0][pipeline_id]", std::to_string(main->id)},
                                      {"leads[add][0][updated_at]", "1793599200"}});
    REQUIRE(engine.Intake("acme", "amocrm", body, clock.Now()).get());
    REQUIRE(engine.Drain());
    auto waiting = items(InboxState::kWaiting);
    REQUIRE(waiting.size() == 1);
    CHECK(waiting[0].reason == "directory");
    CHECK(waiting[0].error.find(fmt::format("pipeline {} is not in the amoCRM catalog",
                                            main->id)) != std::string::npos);
    CHECK(PipelineReads(crm) == 0);
    CHECK_FALSE(engine.Ready().ready);

    const fg::Result<int> fetched = engine.Fetch();
    REQUIRE(fetched);
    CHECK(*fetched == 1);
    CHECK(PipelineReads(crm) == 1);  // the directory, loaded by the fetch stage
    CHECK(engine.Ready().ready);
    const auto handed_back = items(InboxState::kFetched);
    REQUIRE(handed_back.size() == 1);
    CHECK(handed_back[0].reason == "directory");

    const fg::Result<int> drained = engine.Drain();
    REQUIRE(drained);
    CHECK(*drained == 1);
    auto db = engine.OpenReader();
    REQUIRE(db);
    const auto deal = fg::storage::LoadSnapshot(**db, "acme", "9100001");
    REQUIRE(deal.has_value());
    CHECK(deal->deal.stage == first->name);
    CHECK(deal->deal.pipeline == std::to_string(main->id));
    const auto applied = items(InboxState::kApplied);
    REQUIRE(applied.size() == 1);
    CHECK(applied[0].reason == "directory");
    CHECK(items(InboxState::kWaiting).empty());
    const fg::Result<int> again = engine.Fetch();
    REQUIRE(again);
    CHECK(*again == 0);
    CHECK(PipelineReads(crm) == 1);
    engine.Stop();
}

}  // namespace fetch_amocrm_test_file
