#include "adapters/amocrm/demo_account.hpp"

#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "adapters/amocrm/sim/activity.hpp"
#include "adapters/amocrm/sim/simulator.hpp"

namespace fg::adapters::amocrm {
namespace {

// The token the demo's tenant presents; the account exists only for the demo's run.
constexpr const char* kDemoToken = "demo-token";

class AmoDemoAccount final : public crm::DemoAccount {
public:
    explicit AmoDemoAccount(const crm::DemoAccountOptions& options)
        : simulator_({.token = kDemoToken,
                      .seed = options.seed,
                      .leads = options.deals,
                      .rps = 7,
                      .clock = options.clock,
                      // funnelguard's pooled connections hold a server thread each until this;
                      // Stop() waits for them.
                      .keep_alive_seconds = 1}) {}

    Result<void> Start() override {
        if (auto started = simulator_.Start(); !started) {
            return MakeError(started.error().code, "the amoCRM simulator: {}",
                             started.error().message);
        }
        return Ok{};
    }
    std::string ConfigSection() const override {
        const toml::table section{
            {"base_url", simulator_.BaseUrl()}, {"token", simulator_.Token()}, {"rps", 6}};
        std::ostringstream out;
        out << "[tenant.amocrm]\n" << section << "\n";
        return out.str();
    }
    std::string Describe() const override {
        return fmt::format(
            "an amoCRM account (the built-in simulator on loopback) with {} managers",
            sim::ActivityOptions{}.managers);
    }
    std::map<std::string, std::string> UserNames() const override {
        std::map<std::string, std::string> names;
        for (const sim::SimUser& user : simulator_.Users()) {
            names[std::to_string(user.id)] = user.name;
        }
        return names;
    }
    std::size_t DealCount() const override { return simulator_.LeadCount(); }
    bool WaitWebhooksIdle(std::chrono::milliseconds timeout) override {
        return simulator_.WaitWebhooksIdle(timeout);
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
        for (const sim::OverdueTask& task : sim::TasksGoneOverdue(simulator_, from, until)) {
            crm::OverdueTaskFact fact{.task_id = std::to_string(task.task_id),
                                      .deal_id = std::to_string(task.lead_id),
                                      .due = task.due,
                                      .overdue_at = task.overdue_at,
                                      .closed_at = task.closed_at,
                                      .deal_closed_at = std::nullopt};
            if (const std::optional<sim::SimLead> lead = simulator_.GetLead(task.lead_id)) {
                if (lead->is_deleted) {
                    fact.deal_closed_at = lead->updated_at;
                } else if (lead->status_id == sim::kWon || lead->status_id == sim::kLost) {
                    fact.deal_closed_at = lead->closed_at.value_or(lead->updated_at);
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
        return {
            fmt::format("managers: {} actions ({} leads created, {} moves, {} stages skipped, {} "
                        "won, {} lost, {} times no next task planned, {} times a task put off to "
                        "a later visit)",
                        managers_.actions, managers_.leads_created, managers_.moves,
                        managers_.skips, managers_.won, managers_.lost, managers_.tasks_forgotten,
                        managers_.tasks_put_off),
            fmt::format("simulator: {} API requests, {} answered 429, {} webhooks sent",
                        stats.requests, stats.rate_limited, stats.webhooks.delivered)};
    }

private:
    sim::Simulator simulator_;
    std::optional<sim::Activity> activity_;
    sim::ActivityStats managers_{};
};

}  // namespace

std::unique_ptr<crm::DemoAccount> MakeDemoAccount(const crm::DemoAccountOptions& options) {
    return std::make_unique<AmoDemoAccount>(options);
}

}  // namespace fg::adapters::amocrm
