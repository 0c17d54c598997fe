#pragma once

// Helpers the storage tests share: opening databases, building events, describing snapshots.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "src/storage/database.hpp"
#include "src/storage/mirror.hpp"
#include "src/storage/snapshot.hpp"
#include "src/storage/violations.hpp"
#include "tests/support/process.hpp"

namespace fg::storage {

using domain::DealSnapshot;
using domain::Event;

using fg::testing::TempDir;

inline std::unique_ptr<Db> Open(const std::string& path, bool read_only = false) {
    Result<std::unique_ptr<Db>> db = OpenDatabase(path, read_only);
    REQUIRE_MESSAGE(db.has_value(), (db ? "" : db.error().message));
    return std::move(db).value();
}

inline std::unique_ptr<Db> Memory() { return Open(":memory:"); }

inline Timestamp T(std::int64_t seconds) { return FromEpoch(seconds); }

inline std::string NextEventId() {
    static int counter = 0;
    return fmt::format("e{}", ++counter);
}

inline Event DealAt(std::int64_t at, const std::string& deal_id, const std::string& stage,
                    const std::string& title = "Deal",
                    std::map<std::string, std::string> fields = {},
                    const std::string& pipeline = "main") {
    domain::Deal deal;
    deal.id = deal_id;
    deal.title = title;
    deal.pipeline = pipeline;
    deal.stage = stage;
    deal.responsible = "u1";
    deal.fields = std::move(fields);
    return Event{NextEventId(), T(at), domain::DealUpserted{deal}};
}

inline Event DealDeletedAt(std::int64_t at, const std::string& deal_id) {
    return Event{NextEventId(), T(at), domain::DealDeleted{deal_id}};
}

inline Event TaskAt(std::int64_t at, const std::string& task_id, const std::string& deal_id,
                    std::optional<std::int64_t> due, bool done, const std::string& text = "Call") {
    domain::Task task;
    task.id = task_id;
    task.deal_id = deal_id;
    if (due) {
        task.due = T(*due);
    }
    task.done = done;
    task.responsible = "u1";
    task.text = text;
    return Event{NextEventId(), T(at), domain::TaskUpserted{task}};
}

inline Event TaskDeletedAt(std::int64_t at, const std::string& task_id) {
    return Event{NextEventId(), T(at), domain::TaskDeleted{task_id}};
}

inline Event NoteAt(std::int64_t at, const std::string& note_id, const std::string& deal_id,
                    const std::string& text) {
    domain::Note note;
    note.id = note_id;
    note.deal_id = deal_id;
    note.text = text;
    return Event{NextEventId(), T(at), domain::NoteAdded{note}};
}

inline std::vector<std::string> Apply(Db& db, const Event& event,
                                      const std::string& tenant = "acme") {
    return ApplyEvent(db, tenant, event);
}

inline DealSnapshot Load(Db& db, const std::string& deal_id, const std::string& tenant = "acme") {
    std::optional<DealSnapshot> snapshot = LoadSnapshot(db, tenant, deal_id);
    REQUIRE_MESSAGE(snapshot.has_value(), "no deal " << deal_id);
    return *snapshot;
}

// "A@1 B@3" (own entries marked with *).
inline std::string History(const DealSnapshot& snapshot) {
    std::string out;
    for (const domain::StageChange& change : snapshot.history) {
        out += fmt::format("{}{}{}@{} ", change.pipeline == "main" ? "" : change.pipeline + ":",
                           change.stage, change.own ? "*" : "", ToEpoch(change.at));
    }
    if (!out.empty()) {
        out.pop_back();
    }
    return out;
}

inline std::string OptionalEpoch(const std::optional<Timestamp>& at) {
    return at ? std::to_string(ToEpoch(*at)) : "-";
}

// Every field of a snapshot, for whole-snapshot comparisons with readable failures.
inline std::string Describe(const DealSnapshot& s) {
    std::string out =
        fmt::format("deal {}/{} title={} {}:{} resp={} created={} updated={} del={}", s.deal.tenant,
                    s.deal.id, s.deal.title, s.deal.pipeline, s.deal.stage, s.deal.responsible,
                    ToEpoch(s.deal.created_at), ToEpoch(s.deal.updated_at), s.deal.deleted);
    for (const auto& [key, value] : s.deal.fields) {
        out += fmt::format(" [{}={}]", key, value);
    }
    out += "\n history " + History(s);
    for (const domain::Task& t : s.tasks) {
        out += fmt::format(
            "\n task {} deal={} due={} done={} del={} resp={} text={} created={} updated={} "
            "closed={} resched={} own={}",
            t.id, t.deal_id, OptionalEpoch(t.due), t.done, t.deleted, t.responsible, t.text,
            ToEpoch(t.created_at), ToEpoch(t.updated_at), OptionalEpoch(t.closed_at), t.reschedules,
            t.own);
    }
    for (const domain::Note& n : s.notes) {
        out += fmt::format("\n note {} deal={} at={} text={} own={}", n.id, n.deal_id,
                           ToEpoch(n.at), n.text, n.own);
    }
    return out;
}

inline std::vector<DealSnapshot> Stream(Db& db, const std::string& tenant = "") {
    std::vector<DealSnapshot> out;
    ForEachSnapshot(db, tenant, [&](const DealSnapshot& snapshot) { out.push_back(snapshot); });
    return out;
}

inline std::int64_t Count(Db& db, const std::string& table) {
    return db.sql().execAndGet("SELECT COUNT(*) FROM " + table).getInt64();
}

inline Violation MakeViolation(const std::string& deal, const std::string& rule,
                               const std::string& key, std::int64_t opened,
                               const std::string& tenant = "acme") {
    Violation violation;
    violation.tenant = tenant;
    violation.deal_id = deal;
    violation.rule = rule;
    violation.key = key;
    violation.responsible = "u1";
    violation.opened_at = T(opened);
    violation.details = {{"from", "A"}, {"skipped", {"B", "C"}}};
    violation.message = "Пропущены этапы";
    return violation;
}

}  // namespace fg::storage
