#include "src/demo/demo.hpp"

#include <filesystem>
#include <iostream>

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

// A TOML basic string's content.
std::string TomlEscape(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

}  // namespace

Result<config::AppConfig> DemoConfig(const std::string& base_url, const std::string& token,
                                     const std::string& db_path) {
    std::string text(kDemoToml);
    ReplaceAll(text, "@BASE_URL@", TomlEscape(base_url));
    ReplaceAll(text, "@TOKEN@", TomlEscape(token));
    config::LoadResult loaded = config::LoadConfigFromString(text, "demo.toml");
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

std::string Narrator::Now() const { return FormatIso8601(clock_.Now(), time_zone_).substr(11, 5); }

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
        std::cout << fmt::format("{}  ! {:<17} {} — «{}»: {}", Now(), v.rule, manager, v.deal_title,
                                 v.message)
                  << std::endl;
    } else {
        ++resolutions_[v.resolution];
        std::cout << fmt::format("{}  ✓ {:<17} {} — «{}»: {}", Now(), v.rule, manager, v.deal_title,
                                 v.resolution)
                  << std::endl;
    }
}

void Narrator::OnDelivery(const outbox::Action& action, const outbox::DeliveryResult& result) {
    nlohmann::json payload = nlohmann::json::parse(action.payload, nullptr, false);
    if (payload.is_discarded() || !payload.is_object()) {
        payload = nlohmann::json::object();
    }
    const std::string deal = payload.value("deal_title", payload.value("deal", ""));
    std::lock_guard lock(mutex_);
    if (result.status != outbox::DeliveryStatus::kDelivered) {
        ++failed_actions_[action.kind];
        std::cout << fmt::format(
                         "{}    × {:<8} «{}» not delivered{}: {}", Now(), action.kind, deal,
                         result.status == outbox::DeliveryStatus::kRetry ? " (will retry)" : "",
                         result.error)
                  << std::endl;
        return;
    }
    ++actions_[action.kind];
    std::string line;
    if (action.kind == "revert") {
        const nlohmann::json revert = payload.value("revert", nlohmann::json::object());
        line = fmt::format("↩ revert   «{}»: {} → {}", deal, revert.value("from", ""),
                           revert.value("to", ""));
    } else if (action.kind == "task") {
        const nlohmann::json task = payload.value("task", nlohmann::json::object());
        line = fmt::format("+ task     for {} in «{}»: {}", Name(payload.value("responsible", "")),
                           deal, task.value("text", ""));
    } else if (action.kind == "note") {
        line = fmt::format("✎ note     in «{}»", deal);
    } else {
        line = fmt::format("· {:<8} «{}»", action.kind, deal);
    }
    std::cout << Now() << "    " << line << std::endl;
}

void Narrator::ReportEchoes(storage::Db& db) {
    std::vector<std::pair<std::string, std::int64_t>> found;
    try {
        SQLite::Statement query(db.sql(),
                                "SELECT deal_id, seq, stage FROM stage_history "
                                "WHERE tenant = ?1 AND own = 1");
        query.bind(1, kTenant);
        std::lock_guard lock(mutex_);
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
                             "revert, nothing raised",
                             Now(), title == titles_.end() ? key.first : title->second,
                             query.getColumn(2).getString())
                      << std::endl;
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
    std::map<std::string, int> open_by_rule;
    for (const storage::Violation& v : storage::ListViolations(db, open_filter)) {
        ++open_by_rule[v.rule];
    }
    std::lock_guard lock(mutex_);
    std::cout << "\nSummary\n\nviolations by rule:   opened  still open\n";
    int total = 0;
    int total_open = 0;
    for (const rules::RuleSpec* spec : rules::AllRules()) {
        const std::string id(spec->id);
        total += opened_by_rule_[id];
        total_open += open_by_rule[id];
        std::cout << fmt::format("  {:<18} {:>6}  {:>10}\n", id, opened_by_rule_[id],
                                 open_by_rule[id]);
    }
    std::cout << fmt::format(
        "  {:<18} {:>6}  {:>10}  (still open includes what the first "
        "reconcile found)\n",
        "total", total, total_open);
    std::cout << "\nopened by manager:\n";
    std::cout << fmt::format("  {:<18}", "");
    for (const rules::RuleSpec* spec : rules::AllRules()) {
        std::cout << fmt::format(" {:>17}", spec->id);
    }
    std::cout << "\n";
    for (const auto& [manager, by_rule] : opened_by_manager_) {
        // Pads by characters, not bytes: Cyrillic names are two bytes a letter.
        std::size_t letters = 0;
        for (unsigned char c : manager) {
            letters += (c & 0xC0) != 0x80 ? 1 : 0;
        }
        std::cout << "  " << manager << std::string(letters < 18 ? 18 - letters : 0, ' ');
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
    for (const auto& [resolution, n] : resolutions_) {
        std::cout << fmt::format(" {} {};", resolution, n);
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
    std::cout << std::flush;
}

}  // namespace fg::demo
