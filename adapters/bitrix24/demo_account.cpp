#include "adapters/bitrix24/demo_account.hpp"

#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "adapters/bitrix24/sim/activity.hpp"
#include "adapters/bitrix24/sim/simulator.hpp"

namespace fg::adapters::bitrix24 {
namespace {

class BitrixDemoAccount final : public SimDemoAccount {
public:
    explicit BitrixDemoAccount(const crm::DemoAccountOptions& options)
        : simulator_({.seed = options.seed,
                      .deals = options.deals,
                      .clock = options.clock,
                      .webhook_user = 1,
                      .webhook_token = "demo-webhook-token",
                      .application_token = "demo-application-token",
                      // The demo's clock jumps from one manager action to the next, so a
                      // bucket draining on it would refuse requests that a real portal, whose
                      // time runs, lets through: the demo's portal is as generous as the
                      // tenant's limiter (rate 2, burst 50) lets requests come in real time.
                      .rate = 0}) {}

    Result<void> Start() override {
        if (auto started = simulator_.Start(); !started) {
            return MakeError(started.error().code, "the Bitrix24 simulator: {}",
                             started.error().message);
        }
        return Ok{};
    }
    std::string ConfigSection() const override {
        const toml::table section{{"portal_url", simulator_.Url()},
                                  {"webhook_user", simulator_.WebhookUser()},
                                  {"webhook_token", simulator_.WebhookToken()},
                                  {"rate", 2.0},
                                  {"burst", 50}};
        std::ostringstream out;
        out << "[tenant.bitrix24]\n" << section << "\n";
        return out.str();
    }
    std::string ApplicationToken() const override { return simulator_.ApplicationToken(); }
    std::string Describe() const override {
        return fmt::format(
            "a Bitrix24 portal (the built-in simulator on loopback) with {} managers",
            sim::ActivityOptions{}.managers);
    }
    std::map<std::string, std::string> UserNames() const override {
        std::map<std::string, std::string> names;
        for (const sim::SimUser& user : simulator_.Users()) {
            names[std::to_string(user.id)] = fmt::format("{} {}", user.name, user.last_name);
        }
        return names;
    }
    std::size_t DealCount() const override { return simulator_.DealCount(); }
    bool WaitWebhooksIdle(std::chrono::milliseconds timeout) override {
        return simulator_.WaitEventsIdle(timeout);
    }
    void StartManagers(std::uint64_t seed) override {
        activity_.emplace(simulator_, sim::ActivityOptions{.seed = seed});
        (void)activity_->Step();  // picks the managers and when each acts first
    }
    std::optional<Timestamp> NextActionAt() override {
        return activity_ ? activity_->NextActionAt() : std::nullopt;
    }
    void Step() override {
        if (activity_) {
            (void)activity_->Step();
        }
    }
    void StopManagers() override {
        if (activity_) {
            managers_ = activity_->Stats();
            activity_.reset();
        }
    }
    std::vector<crm::OverdueTaskFact> TasksGoneOverdue(Timestamp from,
                                                       Timestamp until) const override {
        std::vector<crm::OverdueTaskFact> facts;
        for (const sim::OverdueItem& item : sim::ItemsGoneOverdue(simulator_, from, until)) {
            crm::OverdueTaskFact fact{.task_id = item.id,
                                      .deal_id = std::to_string(item.deal_id),
                                      .due = item.due,
                                      .overdue_at = item.overdue_at,
                                      .closed_at = item.closed_at,
                                      .deal_closed_at = std::nullopt};
            if (const std::optional<sim::SimDeal> deal = simulator_.GetDeal(item.deal_id)) {
                if (deal->deleted) {
                    fact.deal_closed_at = deal->modified;
                } else if (!IsOpen(*deal)) {
                    fact.deal_closed_at = deal->moved;
                }
            }
            facts.push_back(std::move(fact));
        }
        return facts;
    }
    void Stop() override {
        StopManagers();
        simulator_.Stop();
    }
    std::vector<std::string> Footer() const override {
        const sim::SimStats stats = simulator_.Stats();
        return {fmt::format("managers: {} actions ({} deals created, {} moves, {} stages "
                            "skipped, {} won, {} lost, {} moved to another pipeline, {} times "
                            "no next step planned, {} times the to-dos put off to a later visit)",
                            managers_.actions, managers_.deals_created, managers_.moves,
                            managers_.skips, managers_.won, managers_.lost,
                            managers_.pipeline_moves, managers_.forgotten, managers_.put_off),
                fmt::format("simulator: {} API requests, {} answered 503 QUERY_LIMIT_EXCEEDED, "
                            "{} events delivered, {} lost",
                            stats.requests, stats.limit_errors, stats.events.delivered,
                            stats.events.failed + stats.events.dropped)};
    }

private:
    bool IsOpen(const sim::SimDeal& deal) const {
        for (const sim::SimCategory& category : simulator_.Categories()) {
            for (const sim::SimStage& stage : category.stages) {
                if (stage.status_id == deal.stage_id) {
                    return stage.semantics == 'P';
                }
            }
        }
        return false;
    }

    sim::Simulator simulator_;
    std::optional<sim::Activity> activity_;
    sim::ActivityStats managers_{};
};

}  // namespace

std::unique_ptr<SimDemoAccount> MakeDemoAccount(const crm::DemoAccountOptions& options) {
    return std::make_unique<BitrixDemoAccount>(options);
}

}  // namespace fg::adapters::bitrix24
