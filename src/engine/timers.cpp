// The timer thread: the minute sweep (grace periods, overdue tasks, escalations, morning
// summaries), WAL
// checkpoints, directory refreshes and each tenant's nightly run (reconciliation, or re-judging
// every deal when the tenant has no connector).
#include "src/common/log.hpp"
#include "src/engine/engine.hpp"
#include "src/engine/schedule.hpp"
#include "src/engine/summary.hpp"

namespace fg::engine {
namespace {

spdlog::logger& TimersLog() {
    static const auto logger = ModuleLogger("engine");
    return *logger;
}

// How often the timer looks at the clock (real time); the sweep itself runs once per clock minute.
constexpr auto kTimerPoll = std::chrono::milliseconds{100};
constexpr Duration kSweepEvery = std::chrono::minutes{1};
constexpr int kWakeBatch = 1000;
constexpr auto kCheckpointEvery = std::chrono::minutes{5};
// Pipelines and users change rarely; webhooks naming an unknown stage also trigger a refresh
// (the fetch stage's).
constexpr auto kDirectoryEvery = std::chrono::hours{1};

}  // namespace

Result<int> Engine::Sweep() {
    const Timestamp now = options_.clock->Now();
    const std::shared_ptr<const config::AppConfig> config = Config();
    int judged_deals = 0;
    for (;;) {
        auto result =
            writer_
                ->Transact([this, now, &config](storage::Db& db) {
                    std::vector<std::pair<std::string, JudgeOutcome>> outcomes;
                    const auto due = storage::DealsToWake(db, now, kWakeBatch);
                    std::map<std::string, std::vector<std::string>> by_tenant;
                    for (const storage::DealRef& ref : due) {
                        by_tenant[ref.tenant].push_back(ref.deal_id);
                    }
                    for (const auto& [tenant_id, deals] : by_tenant) {
                        const config::TenantConfig* tenant = config->FindTenant(tenant_id);
                        if (tenant == nullptr) {
                            for (const std::string& deal : deals) {
                                storage::SetWakeAt(db, tenant_id, deal, std::nullopt);
                            }
                            continue;
                        }
                        const JudgeContext context{
                            .tenant = *tenant, .channels = Channels(tenant_id), .now = now};
                        outcomes.emplace_back(tenant_id, JudgeDeals(db, context, deals));
                    }
                    return std::make_pair(static_cast<int>(due.size()), std::move(outcomes));
                })
                .get();
        if (!result) {
            return result.error();
        }
        for (const auto& [tenant, outcome] : result->second) {
            Report(tenant, outcome);
        }
        judged_deals += result->first;
        if (result->first < kWakeBatch) {
            break;
        }
    }
    // Escalations of violations that stayed open too long.
    auto escalated =
        writer_
            ->Transact([this, now, &config](storage::Db& db) {
                std::vector<std::pair<std::string, JudgeOutcome>> outcomes;
                for (const config::TenantConfig& tenant : config->tenants) {
                    const JudgeContext context{
                        .tenant = tenant, .channels = Channels(tenant.id), .now = now};
                    outcomes.emplace_back(tenant.id, EscalateDue(db, context));
                    PlanMorningSummaries(db, context, [this, &tenant](const std::string& user) {
                        return UserName(tenant.id, user);
                    });
                }
                storage::PruneOwnWrites(db, now);
                // Nothing waits for the fetch stage for ever (the directory may never load, or
                // lack an id for good; the API may stay down): past the limit the item fails,
                // and `inbox retry` brings it back.
                const int expired =
                    storage::FailWaitingSince(db, now - kWaitingLimit, now,
                                              fmt::format("waited over {} for the CRM directory: ",
                                                          FormatDuration(kWaitingLimit))) +
                    storage::FailWaitingSince(db, storage::inbox_reason::kFetch,
                                              storage::inbox_reason::kFetchTimeout,
                                              now - kWaitingLimit, now,
                                              fmt::format("waited over {} for the CRM's API: ",
                                                          FormatDuration(kWaitingLimit)));
                if (expired > 0) {
                    TimersLog().error(
                        "Inbox items waited too long for the CRM and failed; see "
                        "/api/v1/inbox?state=failed, then `funnelguard inbox retry`. items={}",
                        expired);
                }
                return outcomes;
            })
            .get();
    if (!escalated) {
        return escalated.error();
    }
    return judged_deals;
}

Result<int> Engine::JudgeAll(const std::string& tenant_filter, ReconcileReport* tally, bool act) {
    const Timestamp now = options_.clock->Now();
    const std::shared_ptr<const config::AppConfig> config = Config();
    int total = 0;
    for (const config::TenantConfig& tenant : config->tenants) {
        if (!tenant_filter.empty() && tenant.id != tenant_filter) {
            continue;
        }
        auto reader = OpenReader();
        if (!reader) {
            return reader.error();
        }
        const std::vector<storage::DealRef> deals = storage::AllDeals(**reader, tenant.id);
        constexpr std::size_t kChunk = 1000;
        for (std::size_t begin = 0; begin < deals.size(); begin += kChunk) {
            std::vector<std::string> ids;
            for (std::size_t i = begin; i < std::min(deals.size(), begin + kChunk); ++i) {
                ids.push_back(deals[i].deal_id);
            }
            const JudgeContext context{
                .tenant = tenant,
                .channels = act ? Channels(tenant.id) : std::vector<std::string>{},
                .now = now};
            auto outcome = writer_
                               ->Transact([&context, ids = std::move(ids)](storage::Db& db) {
                                   return JudgeDeals(db, context, ids);
                               })
                               .get();
            if (!outcome) {
                return outcome.error();
            }
            Report(tenant.id, *outcome);
            if (tally != nullptr) {
                for (const ViolationChange& change : outcome->changes) {
                    (change.opened ? tally->opened : tally->resolved) += 1;
                }
            }
        }
        total += static_cast<int>(deals.size());
    }
    return total;
}

void Engine::TimerLoop() {
    Timestamp next_sweep = options_.clock->Now();
    std::map<std::string, Timestamp> next_nightly;
    for (const config::TenantConfig& tenant : options_.config->tenants) {
        if (auto at = NextLocalTime(options_.clock->Now(), tenant.timezone, tenant.reconcile_at)) {
            next_nightly[tenant.id] = *at;
        }
    }
    auto next_checkpoint = std::chrono::steady_clock::now() + kCheckpointEvery;
    auto next_directory = std::chrono::steady_clock::now();
    std::unique_lock lock(stop_mutex_);
    while (!stopping_) {
        stop_cv_.wait_for(lock, kTimerPoll);
        if (stopping_) {
            break;
        }
        lock.unlock();
        const Timestamp now = options_.clock->Now();
        if (now >= next_sweep) {
            next_sweep = now + kSweepEvery;
            if (auto swept = Sweep(); !swept) {
                TimersLog().warn("Minute sweep failed, will retry. error={}",
                                 swept.error().message);
            }
            writer_->Kick();  // also retries inbox items a storage error left pending
        }
        if (!connectors_.empty() && std::chrono::steady_clock::now() >= next_directory) {
            next_directory = std::chrono::steady_clock::now() + kDirectoryEvery;
            RefreshDirectories();
        }
        if (std::chrono::steady_clock::now() >= next_checkpoint) {
            next_checkpoint = std::chrono::steady_clock::now() + kCheckpointEvery;
            Checkpoint();
        }
        for (auto& [tenant, at] : next_nightly) {
            if (now < at) {
                continue;
            }
            if (ConnectorOf(tenant) != nullptr) {
                TimersLog().info("Nightly reconciliation started. tenant={}", tenant);
                if (auto report = Reconcile(tenant, {}); report) {
                    TimersLog().info(
                        "Nightly reconciliation finished. tenant={} pages={} events={} "
                        "transitions={} deals={} opened={} resolved={}",
                        tenant, report->pages, report->events, report->transitions, report->judged,
                        report->opened, report->resolved);
                } else {
                    // The cursor is kept: the next run (or `reconcile`) resumes where it stopped.
                    TimersLog().error("Nightly reconciliation failed. tenant={} error={}", tenant,
                                      report.error().message);
                }
            } else {
                TimersLog().info("Nightly re-evaluation started. tenant={}", tenant);
                if (auto judged = JudgeAll(tenant); judged) {
                    TimersLog().info("Nightly re-evaluation finished. tenant={} deals={}", tenant,
                                     *judged);
                } else {
                    TimersLog().error("Nightly re-evaluation failed. tenant={} error={}", tenant,
                                      judged.error().message);
                }
            }
            const config::TenantConfig* config = options_.config->FindTenant(tenant);
            at = NextLocalTime(now, config->timezone, config->reconcile_at)
                     .value_or(now + Duration{86400});
        }
        lock.lock();
    }
}

void Engine::Checkpoint() {
    // Readers (API, check, a long sweep) can keep the WAL from being recycled; a periodic
    // TRUNCATE checkpoint keeps it bounded (reliability.md §2.2).
    try {
        writer_
            ->Call([](storage::Db& db) {
                SQLite::Statement checkpoint(db.sql(), "PRAGMA wal_checkpoint(TRUNCATE)");
                checkpoint.executeStep();
                return checkpoint.getColumn(0).getInt();
            })
            .get();
    } catch (const std::exception& error) {
        TimersLog().warn("WAL checkpoint failed, will retry. error={}", error.what());
    }
}

}  // namespace fg::engine
