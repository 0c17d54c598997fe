#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/config/config.hpp"
#include "src/demo/overdue.hpp"
#include "src/engine/engine.hpp"
#include "src/storage/store.hpp"

// The CRM-neutral half of `funnelguard demo`: its config, the live narration and the summary.
// src/app/demo.cpp wires it to the amoCRM simulator and its simulated managers.
namespace fg::demo {

/// The demo's tenant id.
inline constexpr const char* kTenant = "demo";

/// The embedded src/demo/data/demo.toml for the tenant of crm `crm` whose `[tenant.<crm>]`
/// table (TOML) is `crm_section`, storage.path = `db_path`, read with the adapters and notifiers
/// of `schemas`; `chat_section` (DemoChat::ConfigSection: [tenant.chat], people, team) goes in
/// the tenant, and without it no chat message is planned. Problems are in the error.
Result<config::AppConfig> DemoConfig(std::string_view crm, const std::string& crm_section,
                                     const std::string& db_path, const config::Schemas& schemas,
                                     const std::string& chat_section = {});

/// A database path for the demo: `requested`, or a file in a new temporary folder, which the
/// destructor removes.
class DemoDatabase {
public:
    explicit DemoDatabase(const std::string& requested);
    ~DemoDatabase();
    DemoDatabase(const DemoDatabase&) = delete;
    DemoDatabase& operator=(const DemoDatabase&) = delete;

    bool ok() const { return !path_.empty(); }
    const std::string& path() const { return path_; }
    bool temporary() const { return !dir_.empty(); }

private:
    std::string dir_;
    std::string path_;
};

/// What made the change the engine judges now. The demo runs one step at a time (the managers'
/// actions due at a time, then funnelguard's write-backs, then their echoes), so it knows.
enum class Cause {
    kManagers,     // the simulated managers' actions
    kFunnelguard,  // funnelguard's own write-backs (task, note, revert) coming back as webhooks
    kClock,        // the minute check: time passed (a grace period, a deadline)
};

/// Prints what happens as it happens, stamped with the clock's local time (HH:MM), and counts it
/// for the summary. Thread-safe: the engine's callbacks come from its threads.
class Narrator {
public:
    /// `name_of` turns a user id (a deal's responsible) into the name to print.
    Narrator(const Clock& clock, std::string time_zone,
             std::function<std::string(const std::string& user_id)> name_of);

    /// The engine callbacks: violations opened and resolved, actions delivered.
    engine::Observer Observer();
    /// While quiet, violations are neither printed nor counted (the first reconcile's findings
    /// are reported as one line instead).
    void SetQuiet(bool quiet);
    /// Counts what is open in `db` now as "found" (call once, after the first reconcile), and
    /// remembers those violations.
    void RecordFound(storage::Db& db);
    /// From here to EndBatch the violation lines are held, and what opens or resolves is
    /// credited to `cause`; for kFunnelguard, to the actions delivered since the last EndBatch.
    void BeginBatch(Cause cause);
    /// Prints the echoes of funnelguard's own stage reverts the batch brought (their cause comes
    /// first), then the held lines; forgets the delivered actions.
    void EndBatch(storage::Db& db);
    /// Prints `text` stamped with the current clock time.
    void Say(const std::string& text);
    /// Prints a plain line (no time stamp).
    void Print(const std::string& text);
    const std::string& time_zone() const { return time_zone_; }
    /// Prints the echoes of funnelguard's own stage reverts the mirror has recognised since the
    /// last call (read from the database's stage history, where they are flagged `own`). The
    /// first call only remembers what is there.
    void ReportEchoes(storage::Db& db);
    /// Sets `facts` (the tasks the CRM says were overdue in [start, until)) against the
    /// overdue_task violations in `db`, knowing which of them were opened while quiet.
    OverdueAccount AccountOverdue(storage::Db& db, const std::vector<OverdueFact>& facts,
                                  Duration grace, Timestamp start, Timestamp until);
    /// The summary: per rule found + opened - resolved (by the managers, by funnelguard) = still
    /// open, opened per manager, resolutions and actions by kind, the account of overdue tasks,
    /// the `footer` lines, then every violation still open by manager and deal. `db` gives what
    /// is still open.
    void PrintSummary(storage::Db& db, const OverdueAccount& overdue,
                      const std::vector<std::string>& footer);

private:
    void OnViolation(const engine::ViolationChange& change);
    void OnDelivery(const outbox::Action& action, const outbox::DeliveryResult& result);
    void Emit(std::string line);  // prints, or holds while in a batch; mutex_ held
    void ReportEchoesLocked(storage::Db& db);
    std::string Now() const;
    std::string Local(Timestamp t) const;  // HH:MM, or DD.MM HH:MM on another day than now
    std::string Name(const std::string& user_id) const;
    // The kind of funnelguard's write delivered to the deal since EndBatch; mutex_ held.
    std::string OwnWrite(const std::string& deal_id) const;
    std::string CreditedTo(const std::string& deal_id) const;  // mutex_ held

    const Clock& clock_;
    std::string time_zone_;
    std::function<std::string(const std::string&)> name_of_;

    std::mutex mutex_;  // guards everything below and stdout
    bool quiet_ = false;
    bool in_batch_ = false;
    Cause cause_ = Cause::kManagers;
    std::vector<std::string> held_;
    std::map<std::string, std::set<std::string>> delivered_;  // deal -> kinds, since EndBatch
    std::set<std::int64_t> opened_quietly_;                   // violation ids
    std::set<std::int64_t> found_;                            // open after the first reconcile
    std::string found_at_;                                    // HH:MM
    std::map<std::string, int> found_by_rule_;
    std::map<std::string, int> opened_by_rule_;
    std::map<std::string, int> opened_on_own_changes_;  // rule -> n, of opened_by_rule_
    std::map<std::string, std::map<std::string, int>> opened_by_manager_;  // name -> rule -> n
    std::map<std::string, std::map<Cause, int>> resolved_by_rule_;
    std::map<Cause, std::map<std::string, int>> resolutions_;  // cause -> "cleared by ..." -> n
    std::map<std::string, int> actions_;
    std::map<std::string, int> failed_actions_;
    std::map<std::string, std::string> titles_;              // deal id -> title, from violations
    std::set<std::pair<std::string, std::int64_t>> echoes_;  // (deal, history seq) reported
    bool echoes_primed_ = false;
    int echoes_seen_ = 0;
};

/// The message of a violation as a narration line after the deal's title shows it: without the
/// leading "Сделка «title»: " (or "Deal “title”: "), and the title, where it comes again (a
/// task's text naming the deal), as «…». Exposed for tests.
std::string ShortMessage(const std::string& message, const std::string& title);

}  // namespace fg::demo
