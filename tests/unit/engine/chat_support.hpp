#pragma once

// What the engine's chat tests share: a fake chat channel, and a generic tenant with people, a
// team and a chat channel "testchat", on a manual clock, its engine working only when asked.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/generic/decoder.hpp"
#include "src/app/adapters.hpp"
#include "src/config/section.hpp"
#include "src/engine/engine.hpp"
#include "src/notify/chat_sink.hpp"
#include "tests/support/process.hpp"

namespace fg::chat_test {

using nlohmann::json;
using namespace std::chrono_literals;

// Monday 2026-11-02 12:00 in Moscow.
inline const Timestamp kMonday = *ParseIso8601("2026-11-02T12:00:00+03:00");

/// Waits for `done` with a deadline of real time (threads of the engine).
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds{10}) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    return true;
}

/// A chat channel that records what it is asked and answers as told.
class FakeChannel final : public notify::Channel {
public:
    notify::SendResult Send(const notify::Outgoing& outgoing) override {
        std::lock_guard lock(mutex_);
        sent.push_back(outgoing.to.value + " " + notify::PlainText(outgoing.message));
        return {.delivery = {.status = outbox::DeliveryStatus::kDelivered,
                             .retry_after = std::nullopt,
                             .error = {},
                             .not_sent = false},
                .failure = notify::Failure::kNone,
                .moved_to = {},
                .message_id = "1"};
    }
    Duration WaitFor(const notify::Address&) override { return Duration::zero(); }
    std::string Check() override {
        checks += 1;
        return problem;
    }
    std::string LinkUrl(std::string_view code) const override {
        return fmt::format("https://t.me/fg_test_bot?start={}", code);
    }
    void Listen(notify::Inbound& in) override { inbound = &in; }
    void Stop() override { stopped = true; }

    std::vector<std::string> Sent() {
        std::lock_guard lock(mutex_);
        return sent;
    }

    std::string problem{};
    std::atomic<int> checks{0};
    std::atomic<notify::Inbound*> inbound{nullptr};
    std::atomic<bool> stopped{false};

private:
    std::mutex mutex_;
    std::vector<std::string> sent;
};

inline config::NotifierSchema TestChat() {
    return {.name = "testchat",
            .person_key = "testchat",
            .links_by_code = true,
            .parse = [](config::TableReader& chat,
                        const std::string&) -> std::shared_ptr<const config::ChannelSettings> {
                bool on = false;
                chat.Read("testchat", on);
                return on ? std::make_shared<config::ChannelSettings>() : nullptr;
            }};
}

inline json DealEvent(const std::string& event_id, const std::string& deal,
                      const std::string& stage, Timestamp at,
                      const std::string& responsible = "ivanova") {
    return {{"id", event_id},
            {"type", "deal.upserted"},
            {"at", FormatIso8601(at, "Europe/Moscow")},
            {"deal",
             {{"id", deal},
              {"title", "ООО «Ромашка» " + deal},
              {"pipeline", "main"},
              {"stage", stage},
              {"responsible", responsible}}}};
}

/// Tenant "acme": managers ivanova (testchat "100") and sidorov (no address) in team "sales"
/// headed by petrov (no address: links by code). `rules` go after its pipeline.
struct ChatTenant {
    ChatTenant(testing::TempDir& dir, ManualClock& clock, const std::string& rules,
               const std::string& locale = "ru")
        : channel(std::make_shared<FakeChannel>()) {
        auto loaded = config::LoadConfigFromString(
            fmt::format(R"(
[storage]
path = "{}"
[[tenant]]
id = "acme"
secret = "s"
locale = "{}"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Успешно"]
  won = ["Успешно"]
  [tenant.chat]
  testchat = true
{})",
                        dir.File("fg.db"), locale, rules),
            "test.toml", config::Schemas(app::CrmSchemas(), {TestChat()}), dir.path());
        for (const auto& problem : loaded.problems) {
            FAIL(config::FormatProblem(problem));
        }
        config = std::move(loaded.config);
        // What the core's loader reads from [[tenant.person]] and [[tenant.team]].
        config::TenantConfig& tenant = config.tenants.at(0);
        tenant.chat.configured = true;
        tenant.people = {
            {.crm_user = "ivanova",
             .name = "Анна Иванова",
             .role = config::Role::kManager,
             .team = "sales",
             .addresses = {{"testchat", "100"}}},
            {.crm_user = "sidorov",
             .name = "Сергей Сидоров",
             .role = config::Role::kManager,
             .team = "sales"},
            {.crm_user = "petrov",
             .name = "Пётр Петров",
             .role = config::Role::kHead,
             .team = "sales"},
        };
        tenant.teams = {{.id = "sales", .head = "petrov"}};
        options.config = &config;
        options.clock = &clock;
        options.decoders.emplace("generic", std::make_unique<adapters::generic::GenericDecoder>());
        options.timers = false;
        options.deliver = false;
        options.background = false;
        std::shared_ptr<FakeChannel> shared = channel;
        options.make_chat_channels = [shared](const config::TenantConfig& tenant) {
            std::vector<engine::ChatChannel> channels;
            if (tenant.chat_channels.count("testchat") != 0) {
                channels.push_back({.schema = TestChat(), .channel = shared});
            }
            return channels;
        };
        options.make_chat_sink = [](notify::ChatSinkParts parts) {
            return notify::MakeChatSink(std::move(parts));
        };
    }

    config::AppConfig config{};
    engine::EngineOptions options{};
    std::shared_ptr<FakeChannel> channel;
};

/// Stores the webhook of `events` and processes it.
inline void Feed(engine::Engine& engine, const ManualClock& clock, json events) {
    const json body{{"events", std::move(events)}};
    REQUIRE(engine.Intake("acme", "generic", body.dump(), clock.Now()).get());
    REQUIRE(engine.Drain());
}

inline std::unique_ptr<storage::Db> OpenDb(testing::TempDir& dir, bool read_only = true) {
    auto db = storage::OpenDatabase(dir.File("fg.db"), read_only);
    REQUIRE(db);
    return std::move(db).value();
}

}  // namespace fg::chat_test
