#include "src/demo/demo.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "src/rules/catalog.hpp"
#include "src/storage/store.hpp"

namespace fg::demo {

extern const std::string_view kDemoToml;

namespace {

void ReplaceAll(std::string& text, std::string_view from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

}  // namespace

Result<config::AppConfig> DemoConfig(std::string_view crm, const std::string& crm_section,
                                     const std::string& db_path, const config::Schemas& schemas,
                                     const std::string& chat_section) {
    std::string text(kDemoToml);
    ReplaceAll(text, "@CRM@", std::string(crm));
    ReplaceAll(text, "# @CHAT_SECTION@\n", chat_section);
    ReplaceAll(text, "# @CRM_SECTION@\n", crm_section);
    config::LoadResult loaded = config::LoadConfigFromString(text, "demo.toml", schemas);
    if (!loaded.ok()) {
        std::string problems;
        for (const auto& problem : loaded.problems) {
            problems += config::FormatProblem(problem) + "\n";
        }
        return MakeError(ErrorCode::kInvalidInput, "{}", problems);
    }
    loaded.config.storage.path = db_path;
    return std::move(loaded.config);
}

DemoDatabase::DemoDatabase(const std::string& requested) {
    if (!requested.empty()) {
        path_ = requested;
        return;
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "funnelguard-demo-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
        return;
    }
    dir_ = pattern;
    path_ = (std::filesystem::path(dir_) / "demo.db").string();
}

DemoDatabase::~DemoDatabase() {
    if (!dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
}

namespace {

// Letters, not bytes: Cyrillic names are two bytes a letter.
std::size_t Letters(const std::string& text) {
    std::size_t letters = 0;
    for (unsigned char c : text) {
        letters += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    return letters;
}

std::string PadRight(const std::string& text, std::size_t width) {
    const std::size_t letters = Letters(text);
    return text + std::string(letters < width ? width - letters : 0, ' ');
}

const char* CauseName(Cause cause) {
    switch (cause) {
        case Cause::kManagers:
            return "by the managers";
        case Cause::kFunnelguard:
            return "by funnelguard";
        case Cause::kClock:
            return "at the minute check";
    }
    return "";
}

}  // namespace

std::string ShortMessage(const std::string& message, const std::string& title) {
    std::string text = message;
    if (title.empty()) {
        return text;
    }
    for (const std::string& lead : {"Сделка «" + title + "»", "Deal “" + title + "”"}) {
        if (text.starts_with(lead)) {
            text.erase(0, lead.size());
            if (text.starts_with(":")) {
                text.erase(0, 1);
            }
            if (text.starts_with(" ")) {
                text.erase(0, 1);
            }
            break;
        }
    }
    ReplaceAll(text, "«" + title + "»", "«…»");
    ReplaceAll(text, "“" + title + "”", "“…”");
    return text;
}

Narrator::Narrator(const Clock& clock, std::string time_zone,
                   std::function<std::string(const std::string& user_id)> name_of)
    : clock_(clock), time_zone_(std::move(time_zone)), name_of_(std::move(name_of)) {}

engine::Observer Narrator::Observer() {
    engine::Observer observer;
    observer.on_violation = [this](const std::string&, const engine::ViolationChange& change) {
        OnViolation(change);
    };
    observer.on_delivery = [this](const outbox::Action& action,
                                  const outbox::DeliveryResult& result) {
        OnDelivery(action, result);
    };
    return observer;
}

void Narrator::SetQuiet(bool quiet) {
    std::lock_guard lock(mutex_);
    quiet_ = quiet;
}

std::string Narrator::Now() const { return Local(clock_.Now()); }

std::string Narrator::Local(Timestamp t) const {
    const std::string at = FormatIso8601(t, time_zone_);
    const std::string now = FormatIso8601(clock_.Now(), time_zone_);
    if (at.substr(0, 10) == now.substr(0, 10)) {
        return at.substr(11, 5);
    }
    return at.substr(8, 2) + "." + at.substr(5, 2) + " " + at.substr(11, 5);
}

std::string Narrator::Name(const std::string& user_id) const {
    std::string name = name_of_ ? name_of_(user_id) : std::string{};
    return name.empty() ? user_id : name;
}

void Narrator::Say(const std::string& text) {
    std::lock_guard lock(mutex_);
    std::cout << Now() << "  " << text << std::endl;
}

void Narrator::Print(const std::string& text) {
    std::lock_guard lock(mutex_);
    std::cout << text << std::endl;
}

void Narrator::Emit(std::string line) {
    if (in_batch_) {
        held_.push_back(std::move(line));
    } else {
        std::cout << line << std::endl;
    }
}

void Narrator::RecordFound(storage::Db& db) {
    storage::ViolationFilter filter;
    filter.tenant = kTenant;
    filter.limit = 100000;
    const std::vector<storage::Violation> open = storage::ListViolations(db, filter);
    std::lock_guard lock(mutex_);
    found_at_ = Now();
    for (const storage::Violation& v : open) {
        found_.insert(v.id);
        ++found_by_rule_[v.rule];
        if (!v.deal_title.empty()) {
            titles_[v.deal_id] = v.deal_title;
        }
    }
}

void Narrator::BeginBatch(Cause cause) {
    std::lock_guard lock(mutex_);
    in_batch_ = true;
    cause_ = cause;
}

void Narrator::EndBatch(storage::Db& db) {
    std::lock_guard lock(mutex_);
    in_batch_ = false;
    ReportEchoesLocked(db);
    for (const std::string& line : held_) {
        std::cout << line << "\n";
    }
    std::cout << std::flush;
    held_.clear();
    delivered_.clear();
}

std::string Narrator::OwnWrite(const std::string& deal_id) const {
    const auto found = delivered_.find(deal_id);
    if (found != delivered_.end()) {
        // The write that changes what the rules look at most.
        for (const char* kind : {"revert", "task", "note"}) {
            if (found->second.count(kind) != 0) {
                return kind;
            }
        }
    }
    return "write-back";
}

std::string Narrator::CreditedTo(const std::string& deal_id) const {
    switch (cause_) {
        case Cause::kManagers:
            return "by the manager";
        case Cause::kClock:
            return "at the minute check";
        case Cause::kFunnelguard:
            break;
    }
    return "by funnelguard's " + OwnWrite(deal_id);
}

void Narrator::OnViolation(const engine::ViolationChange& change) {
    const storage::Violation& v = change.violation;
    const std::string manager = Name(v.responsible);
    std::lock_guard lock(mutex_);
    if (!v.deal_title.empty()) {
        titles_[v.deal_id] = v.deal_title;
    }
    if (quiet_) {
        if (change.opened) {
            opened_quietly_.insert(v.id);
        }
        return;
    }
    if (change.opened) {
        ++opened_by_rule_[v.rule];
        ++opened_by_manager_[manager][v.rule];
        std::string on_own;
        if (cause_ == Cause::kFunnelguard) {
            ++opened_on_own_changes_[v.rule];
            on_own = fmt::format(" (raised on funnelguard's own {})", OwnWrite(v.deal_id));
        }
        Emit(fmt::format("{}  ! {:<17} {} — «{}»: {}{}", Now(), v.rule, manager, v.deal_title,
                         ShortMessage(v.message, v.deal_title), on_own));
    } else {
        const std::string by = CreditedTo(v.deal_id);
        ++resolved_by_rule_[v.rule][cause_];
        ++resolutions_[cause_][cause_ == Cause::kFunnelguard
                                   ? fmt::format("{} by its {}", v.resolution, OwnWrite(v.deal_id))
                                   : v.resolution];
        Emit(fmt::format("{}  ✓ {:<17} {} — «{}»: {} {}", Now(), v.rule, manager, v.deal_title,
                         v.resolution, by));
    }
}

void Narrator::OnDelivery(const outbox::Action& action, const outbox::DeliveryResult& result) {
    const outbox::ActionBody& body = action.body;
    const std::string kind(domain::ActionKindName(body.kind));
    const std::string& deal_id = body.deal;
    const std::string& deal = body.deal_title.empty() ? deal_id : body.deal_title;
    // A chat message's lines are the fake Telegram's (DemoChat), as its reader sees it; one
    // that waits (the person's cooldown, working hours, the chat's pace) is no failure.
    const bool chat = body.kind == outbox::ActionKind::kNotify ||
                      body.kind == outbox::ActionKind::kEscalate ||
                      body.kind == outbox::ActionKind::kSummary;
    std::lock_guard lock(mutex_);
    if (chat && result.status == outbox::DeliveryStatus::kRetry && result.not_sent &&
        result.retry_after) {
        return;
    }
    if (chat && result.status == outbox::DeliveryStatus::kDelivered) {
        ++actions_[kind];
        return;
    }
    if (result.status != outbox::DeliveryStatus::kDelivered) {
        ++failed_actions_[kind];
        Emit(fmt::format("{}    × {:<8} «{}» not delivered{}: {}", Now(), kind, deal,
                         result.status == outbox::DeliveryStatus::kRetry ? " (will retry)" : "",
                         result.error));
        return;
    }
    ++actions_[kind];
    delivered_[deal_id].insert(kind);
    std::string line;
    if (const outbox::RevertBody* revert = body.revert()) {
        line = fmt::format("↩ revert   «{}»: {} → {}", deal, revert->from, revert->to);
    } else if (body.task() != nullptr) {
        line = fmt::format("+ task     «{}» for {}: {}", deal, Name(body.responsible),
                           ShortMessage(body.text, deal));
    } else if (body.kind == outbox::ActionKind::kNote) {
        line = fmt::format("✎ note     in «{}»", deal);
    } else {
        line = fmt::format("· {:<8} «{}»", kind, deal);
    }
    Emit(Now() + "    " + line);
}

void Narrator::ReportEchoes(storage::Db& db) {
    std::lock_guard lock(mutex_);
    ReportEchoesLocked(db);
}

void Narrator::ReportEchoesLocked(storage::Db& db) {
    try {
        SQLite::Statement query(db.sql(),
                                "SELECT deal_id, seq, stage FROM stage_history "
                                "WHERE tenant = ?1 AND own = 1 ORDER BY seq");
        query.bind(1, kTenant);
        while (query.executeStep()) {
            std::pair<std::string, std::int64_t> key{query.getColumn(0).getString(),
                                                     query.getColumn(1).getInt64()};
            if (!echoes_.insert(key).second || !echoes_primed_) {
                continue;
            }
            ++echoes_seen_;
            const auto title = titles_.find(key.first);
            std::cout << fmt::format(
                             "{}    ↺ echo     «{}» back in {}: recognised as funnelguard's own "
                             "revert",
                             Now(), title == titles_.end() ? key.first : title->second,
                             query.getColumn(2).getString())
                      << "\n";
        }
        echoes_primed_ = true;
    } catch (const std::exception&) {
        // The history table is an analytics mirror; the demo goes on without the echo lines.
    }
}

OverdueAccount Narrator::AccountOverdue(storage::Db& db, const std::vector<OverdueFact>& facts,
                                        Duration grace, Timestamp start, Timestamp until) {
    std::vector<MirrorView> views;
    views.reserve(facts.size());
    for (const OverdueFact& fact : facts) {
        views.push_back(ViewOf(db, kTenant, fact));
    }
    storage::ViolationFilter filter;
    filter.tenant = kTenant;
    filter.rule = "overdue_task";
    filter.state = storage::ViolationFilter::State::kAll;
    filter.limit = 100000;
    const std::vector<storage::Violation> violations = storage::ListViolations(db, filter);
    std::lock_guard lock(mutex_);
    return demo::AccountOverdue(facts, views, violations, opened_quietly_, grace, start, until);
}

void Narrator::PrintSummary(storage::Db& db, const OverdueAccount& overdue,
                            const std::vector<std::string>& footer) {
    storage::ViolationFilter open_filter;
    open_filter.tenant = kTenant;
    open_filter.limit = 100000;
    std::vector<storage::Violation> open = storage::ListViolations(db, open_filter);
    std::map<std::string, int> open_by_rule;
    for (const storage::Violation& v : open) {
        ++open_by_rule[v.rule];
    }
    std::lock_guard lock(mutex_);
    const std::string end = Now();

    // The causes with a resolution, in a fixed order: the columns of the table.
    std::vector<Cause> causes{Cause::kManagers, Cause::kFunnelguard};
    for (const auto& [rule, by_cause] : resolved_by_rule_) {
        if (by_cause.count(Cause::kClock) != 0 && causes.size() == 2) {
            causes.push_back(Cause::kClock);
        }
    }
    std::cout << "\nSummary\n\n";
    std::cout << fmt::format("violations by rule   {:>8}  {:>6}", "found", "opened");
    for (std::size_t i = 0; i < causes.size(); ++i) {
        std::cout << fmt::format("  {:>14}", "resolved");
    }
    std::cout << fmt::format("  {:>10}\n", "still open");
    std::cout << fmt::format("                     {:>8}  {:>6}", "at " + found_at_, "");
    for (const Cause cause : causes) {
        const std::string name = CauseName(cause);
        std::cout << "  " << std::string(name.size() < 14 ? 14 - name.size() : 0, ' ') << name;
    }
    std::cout << "\n";
    struct Row {
        int found = 0;
        int opened = 0;
        std::vector<int> resolved{};
        int open = 0;
    };
    auto print_row = [&](const std::string& name, const Row& row) {
        std::cout << fmt::format("  {:<18} {:>8}  {:>6}", name, row.found, row.opened);
        for (const int n : row.resolved) {
            std::cout << fmt::format("  {:>14}", n);
        }
        std::cout << fmt::format("  {:>10}\n", row.open);
    };
    Row total{.resolved = std::vector<int>(causes.size(), 0)};
    std::vector<std::string> not_adding_up;
    for (const rules::RuleSpec* spec : rules::AllRules()) {
        const std::string id(spec->id);
        Row row{
            .found = found_by_rule_[id], .opened = opened_by_rule_[id], .open = open_by_rule[id]};
        int resolved = 0;
        for (const Cause cause : causes) {
            row.resolved.push_back(resolved_by_rule_[id][cause]);
            resolved += row.resolved.back();
        }
        if (row.found + row.opened - resolved != row.open) {
            not_adding_up.push_back(id);
        }
        total.found += row.found;
        total.opened += row.opened;
        total.open += row.open;
        for (std::size_t i = 0; i < causes.size(); ++i) {
            total.resolved[i] += row.resolved[i];
        }
        print_row(id, row);
    }
    print_row("total", total);
    std::cout << fmt::format(
        "  per rule: found (by the first reconcile, before the managers started) + opened − "
        "resolved = still open\n");
    if (!not_adding_up.empty()) {
        std::string rules;
        for (const std::string& rule : not_adding_up) {
            rules += (rules.empty() ? "" : ", ") + rule;
        }
        std::cout << "  DOES NOT ADD UP for " << rules
                  << ": a change the narration missed (a funnelguard bug)\n";
    }
    int on_own = 0;
    for (const auto& [rule, n] : opened_on_own_changes_) {
        on_own += n;
    }
    if (on_own > 0) {
        std::cout << fmt::format("  of the opened, {} raised on funnelguard's own changes:",
                                 on_own);
        for (const auto& [rule, n] : opened_on_own_changes_) {
            std::cout << fmt::format(" {} {};", rule, n);
        }
        std::cout << "\n";
    }

    std::cout << "\nopened by manager:\n";
    std::cout << fmt::format("  {:<18}", "");
    for (const rules::RuleSpec* spec : rules::AllRules()) {
        std::cout << fmt::format(" {:>17}", spec->id);
    }
    std::cout << "\n";
    for (const auto& [manager, by_rule] : opened_by_manager_) {
        std::cout << "  " << PadRight(manager, 18);
        for (const rules::RuleSpec* spec : rules::AllRules()) {
            const auto found = by_rule.find(std::string(spec->id));
            std::cout << fmt::format(" {:>17}", found == by_rule.end() ? 0 : found->second);
        }
        std::cout << "\n";
    }
    std::cout << "\nresolved:";
    if (resolutions_.empty()) {
        std::cout << " none";
    }
    for (const auto& [cause, kinds] : resolutions_) {
        std::cout << "\n  " << CauseName(cause) << ":";
        for (const auto& [resolution, n] : kinds) {
            std::cout << fmt::format(" {} {};", resolution, n);
        }
    }
    std::cout << "\nactions delivered:";
    if (actions_.empty()) {
        std::cout << " none";
    }
    for (const auto& [kind, n] : actions_) {
        std::cout << fmt::format(" {} {};", kind, n);
    }
    for (const auto& [kind, n] : failed_actions_) {
        std::cout << fmt::format(" ({} {} not delivered)", n, kind);
    }
    std::cout << fmt::format("\nechoes of reverts recognised: {}\n", echoes_seen_);
    std::cout << "\n";
    for (const std::string& line :
         OverdueLines(overdue, opened_by_rule_["overdue_task"],
                      [this](Timestamp t) { return FormatIso8601(t, time_zone_).substr(11, 5); })) {
        std::cout << line << "\n";
    }
    std::cout << "\n";
    for (const std::string& line : footer) {
        std::cout << line << "\n";
    }

    // Still open, by manager, then deal, then rule.
    struct Open {
        std::string manager;
        std::string deal;
        std::string rule;
        Timestamp since;
        bool found;
    };
    std::vector<Open> rows;
    rows.reserve(open.size());
    for (const storage::Violation& v : open) {
        const auto title = titles_.find(v.deal_id);
        rows.push_back({.manager = Name(v.responsible),
                        .deal = !v.deal_title.empty()    ? v.deal_title
                                : title != titles_.end() ? title->second
                                                         : v.deal_id,
                        .rule = v.rule,
                        .since = v.opened_at,
                        .found = found_.count(v.id) != 0});
    }
    std::sort(rows.begin(), rows.end(), [](const Open& a, const Open& b) {
        return std::tie(a.manager, a.deal, a.rule, a.since) <
               std::tie(b.manager, b.deal, b.rule, b.since);
    });
    std::cout << fmt::format("\nstill open at {}, by manager and deal: {}\n", end, rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Open& row = rows[i];
        if (i == 0 || rows[i - 1].manager != row.manager) {
            std::cout << "  " << row.manager << "\n";
        }
        if (i == 0 || rows[i - 1].manager != row.manager || rows[i - 1].deal != row.deal) {
            std::cout << "    «" << row.deal << "»\n";
        }
        std::cout << fmt::format("      - {:<17} since {}{}\n", row.rule, Local(row.since),
                                 row.found ? " (found by the first reconcile)" : "");
    }
    std::cout << std::flush;
}

}  // namespace fg::demo
