#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/common/time.hpp"
#include "src/storage/database.hpp"

/// Violations: opened, updated and resolved, never deleted (history). Throws SQLite::Exception on
/// database errors; the caller owns the transaction.
namespace fg::storage {

struct Violation {
    std::int64_t id = 0;
    std::string tenant{};
    std::string deal_id{};
    std::string rule{};
    std::string key{};
    std::string responsible{};
    Timestamp opened_at{};
    std::optional<Timestamp> resolved_at{};
    std::string resolution{};  // empty while open
    nlohmann::json details = nlohmann::json::object();
    std::string message{};
    std::optional<Timestamp> escalated_at{};
    std::string deal_title{};  // filled by queries that join the mirror
};

/// All violations of one deal, open and resolved, oldest first.
std::vector<Violation> ViolationsForDeal(Db& db, const std::string& tenant,
                                         const std::string& deal_id);
/// Inserts an open violation; returns its id. At most one violation per (tenant, rule, deal, key)
/// is open: a second one throws SQLite::Exception (a constraint error).
std::int64_t InsertViolation(Db& db, const Violation& violation);
/// Updates an open violation (resolved ones are history and stay as they are).
void UpdateViolation(Db& db, std::int64_t id, const nlohmann::json& details,
                     const std::string& message, const std::string& responsible);
/// Resolves an open violation; false if it was not open.
bool ResolveViolation(Db& db, std::int64_t id, Timestamp at, const std::string& resolution);
std::optional<Violation> GetViolation(Db& db, std::int64_t id);

struct ViolationFilter {
    std::string tenant{};  // empty: all
    enum class State { kOpen, kResolved, kAll } state = State::kOpen;
    std::string rule{};
    std::string deal_id{};
    std::optional<Timestamp> opened_since{};  // only those opened at or after it
    int limit = 1000;
};
/// Newest first, at most `limit`.
std::vector<Violation> ListViolations(Db& db, const ViolationFilter& filter);
/// Open violations not escalated yet (of one tenant, or all when empty); the caller applies
/// each rule's escalate_after.
std::vector<Violation> OpenNotEscalated(Db& db, const std::string& tenant);
void MarkEscalated(Db& db, std::int64_t id, Timestamp at);
/// The (deal, rule, key) of every acknowledged violation of a tenant (all when empty), as
/// "tenant\x1fdeal\x1frule\x1fkey" strings: what `check` leaves out.
std::vector<std::string> AcknowledgedKeys(Db& db, const std::string& tenant);
/// Open violation counts by (tenant, rule), for /metrics.
std::vector<std::tuple<std::string, std::string, std::int64_t>> OpenViolationCounts(Db& db);

}  // namespace fg::storage
