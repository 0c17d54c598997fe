// Outbox delivery: a tenant's CRM sink and its chat notifiers' sinks, each getting only its own
// actions; an outbox item nobody can read going dead instead of being sent; and what a sink is
// told of earlier attempts.
#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/generic/decoder.hpp"
#include "src/app/adapters.hpp"
#include "src/config/section.hpp"
#include "src/engine/engine.hpp"
#include "tests/support/process.hpp"

// Named, not anonymous: the test files are compiled together (FG_UNITY).
namespace channels_test_file {

using nlohmann::json;
using namespace std::chrono_literals;

const fg::Timestamp kMonday = *fg::ParseIso8601("2026-11-02T09:00:00+03:00");

// What one sink was handed: "<channel> <kind> <idempotency key>".
class RecordingSink final : public fg::outbox::ActionSink {
public:
    explicit RecordingSink(std::vector<std::string>& log) : log_(log) {}
    fg::outbox::DeliveryResult Deliver(const fg::outbox::Action& action) override {
        log_.push_back(fmt::format("{} {} {}", action.channel,
                                   fg::domain::ActionKindName(action.kind()),
                                   action.idempotency_key()));
        return {.status = fg::outbox::DeliveryStatus::kDelivered, .retry_after = {}, .error = {}};
    }

private:
    std::vector<std::string>& log_;
};

// A chat notifier's schema: the tenant uses it when [tenant.chat] has `testchat = true`.
fg::config::NotifierSchema TestChat() {
    return {.name = "testchat",
            .links_by_code = true,  // used with no address in the config (issue 10's rule)
            .parse = [](fg::config::TableReader& chat,
                        const std::string&) -> std::shared_ptr<const fg::config::ChannelSettings> {
                bool on = false;
                chat.Read("testchat", on);
                return on ? std::make_shared<fg::config::ChannelSettings>() : nullptr;
            }};
}

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

struct Run {
    std::vector<std::string> crm{};
    std::vector<std::string> chat{};
};

// A generic tenant "acme" (its database in `dir`, `tenant_keys` after its pipeline), loaded with
// the test chat's schema, and an engine on `clock` that works only when asked (Drain, Deliver),
// its CRM sink recording into `crm` when not null.
struct SteppedEngine {
    SteppedEngine(fg::testing::TempDir& dir, fg::ManualClock& clock, const std::string& tenant_keys,
                  std::vector<std::string>* crm) {
        auto loaded = fg::config::LoadConfigFromString(
            fmt::format(R"(
[storage]
path = "{}"
[[tenant]]
id = "acme"
secret = "s"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Успешно"]
  won = ["Успешно"]
{})",
                        dir.File("fg.db"), tenant_keys),
            "test.toml", fg::config::Schemas(fg::app::CrmSchemas(), {TestChat()}), dir.path());
        for (const auto& problem : loaded.problems) {
            FAIL(fg::config::FormatProblem(problem));
        }
        config = std::move(loaded.config);
        options.config = &config;
        options.clock = &clock;
        options.decoders.emplace("generic",
                                 std::make_unique<fg::adapters::generic::GenericDecoder>());
        if (crm != nullptr) {
            options.make_sink = [crm](const fg::config::TenantConfig&) {
                return std::make_unique<RecordingSink>(*crm);
            };
        }
        options.timers = false;
        options.deliver = false;
        options.background = false;
    }

    fg::config::AppConfig config{};
    fg::engine::EngineOptions options{};
};

// A generic tenant whose stage_order notes and notifies, with a CRM sink when `crm_sink`, and
// the test chat when `chat`; one skipped stage, processed and delivered.
Run SkipAndDeliver(bool crm_sink, bool chat) {
    fg::testing::TempDir dir;
    fg::ManualClock clock(kMonday + 5min);
    Run run;
    SteppedEngine stepped(dir, clock,
                          fmt::format("  [tenant.rules.stage_order]\n  actions = [\"note\", "
                                      "\"notify\"]\n  [tenant.chat]\n  testchat = {}\n",
                                      chat),
                          crm_sink ? &run.crm : nullptr);
    fg::engine::EngineOptions& options = stepped.options;
    options.make_notifier_sinks = [&run](const fg::config::TenantConfig& tenant) {
        std::map<std::string, fg::outbox::PacedSink> sinks;
        if (tenant.chat_channels.count("testchat") != 0) {
            sinks.emplace("testchat",
                          fg::outbox::PacedSink(std::make_unique<RecordingSink>(run.chat), 1.0));
        }
        return sinks;
    };
    fg::engine::Engine engine(std::move(options));
    REQUIRE(engine.Start());
    const json body{
        {"events", json::array({Deal("e1", "Новая", 0min), Deal("e2", "КП отправлено", 1min)})}};
    REQUIRE(engine.Intake("acme", "generic", body.dump(), clock.Now()).get());
    REQUIRE(engine.Drain());
    REQUIRE(engine.Deliver());
    engine.Stop();
    std::sort(run.crm.begin(), run.crm.end());
    return run;
}

TEST_CASE("Each channel's sink gets its own actions, keyed per channel") {
    SUBCASE("the CRM's receiver takes messages and a chat is configured: notify goes to both") {
        const Run run = SkipAndDeliver(/*crm_sink=*/true, /*chat=*/true);
        CHECK(run.crm ==
              std::vector<std::string>{"crm note acme:v1:note", "crm notify acme:v1:notify"});
        CHECK(run.chat == std::vector<std::string>{"testchat notify acme:v1:notify:testchat"});
    }
    SUBCASE("no CRM sink: no note, and the message still reaches the chat") {
        const Run run = SkipAndDeliver(/*crm_sink=*/false, /*chat=*/true);
        CHECK(run.crm.empty());
        CHECK(run.chat == std::vector<std::string>{"testchat notify acme:v1:notify:testchat"});
    }
    SUBCASE("no chat: the generic receiver alone") {
        const Run run = SkipAndDeliver(/*crm_sink=*/true, /*chat=*/false);
        CHECK(run.crm ==
              std::vector<std::string>{"crm note acme:v1:note", "crm notify acme:v1:notify"});
        CHECK(run.chat.empty());
    }
}

TEST_CASE("An outbox item whose payload cannot be read goes dead with the reason, unsent") {
    fg::testing::TempDir dir;
    fg::ManualClock clock(kMonday);
    std::vector<std::string> sent;
    SteppedEngine stepped(dir, clock, "", &sent);
    fg::engine::EngineOptions& options = stepped.options;
    fg::engine::Engine engine(std::move(options));
    REQUIRE(engine.Start());
    {
        auto db = fg::storage::OpenDatabase(dir.File("fg.db"));
        REQUIRE(db);
        fg::storage::OutboxItem broken;
        broken.tenant = "acme";
        broken.kind = "note";
        broken.idempotency_key = "acme:v9:note";
        broken.payload = R"({"kind":"note","tenant":"acme"})";
        broken.next_attempt_at = kMonday;
        broken.created_at = kMonday;
        fg::storage::WriteTransaction transaction(**db);
        REQUIRE(fg::storage::EnqueueOutbox(**db, broken));
        transaction.Commit();
    }
    REQUIRE(engine.Deliver());
    engine.Stop();
    CHECK(sent.empty());
    auto reader = fg::storage::OpenDatabase(dir.File("fg.db"), /*read_only=*/true);
    REQUIRE(reader);
    const auto stats = fg::storage::GetOutboxStats(**reader);
    CHECK(stats.dead == 1);
    CHECK(stats.pending == 0);
    CHECK((*reader)->sql().execAndGet("SELECT last_error FROM outbox").getString() ==
          "action payload: deal: missing");
}

// Answers each call as scripted and records whether it was told to check the receiver first:
// not the first attempt, and an earlier one may have landed. (A refusal with a wait, like a
// 429, spends no attempt: the next is still the first.)
class ScriptedAttempts final : public fg::outbox::ActionSink {
public:
    explicit ScriptedAttempts(std::vector<fg::outbox::DeliveryResult> answers)
        : answers_(std::move(answers)) {}
    fg::outbox::DeliveryResult Deliver(const fg::outbox::Action& action) override {
        told_.push_back(action.attempt > 1 && !action.previous_not_sent);
        const std::size_t index = told_.size() - 1;
        return index < answers_.size()
                   ? answers_[index]
                   : fg::outbox::DeliveryResult{.status = fg::outbox::DeliveryStatus::kDelivered};
    }
    std::vector<bool> told_{};

private:
    std::vector<fg::outbox::DeliveryResult> answers_;
};

TEST_CASE("One ambiguous attempt keeps every later one checking, however many are refused") {
    const fg::outbox::DeliveryResult ambiguous{
        .status = fg::outbox::DeliveryStatus::kRetry, .retry_after = 1s, .error = "timeout"};
    const fg::outbox::DeliveryResult refused{.status = fg::outbox::DeliveryStatus::kRetry,
                                             .retry_after = 1s,
                                             .error = "HTTP 429",
                                             .not_sent = true};
    const auto attempts = [&](std::vector<fg::outbox::DeliveryResult> answers) {
        fg::testing::TempDir dir;
        fg::ManualClock clock(kMonday + 5min);
        SteppedEngine stepped(dir, clock, "  [tenant.rules.stage_order]\n  actions = [\"note\"]\n",
                              nullptr);
        auto* sink = new ScriptedAttempts(std::move(answers));
        stepped.options.make_sink = [sink](const fg::config::TenantConfig&) {
            return std::unique_ptr<ScriptedAttempts>(sink);
        };
        fg::engine::Engine engine(std::move(stepped.options));
        REQUIRE(engine.Start());
        const json body{{"events", json::array({Deal("e1", "Новая", 0min),
                                                Deal("e2", "КП отправлено", 1min)})}};
        REQUIRE(engine.Intake("acme", "generic", body.dump(), clock.Now()).get());
        REQUIRE(engine.Drain());
        for (int i = 0; i < 4; ++i) {
            REQUIRE(engine.Deliver());
            clock.Advance(2s);
        }
        std::vector<bool> told = sink->told_;
        engine.Stop();
        return told;
    };
    // Refused (429) each time: nothing can have landed, so no attempt needs a check first.
    CHECK(attempts({refused, refused, refused}) == std::vector<bool>{false, false, false, false});
    // Ambiguous first: the second and every later attempt check, though the second was refused.
    CHECK(attempts({ambiguous, refused, refused}) == std::vector<bool>{false, true, true, true});
    // Refused, then ambiguous: from then on, checked.
    CHECK(attempts({refused, ambiguous, refused}) == std::vector<bool>{false, false, true, true});
}

}  // namespace channels_test_file
