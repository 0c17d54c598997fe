#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "src/domain/model.hpp"
#include "src/storage/database.hpp"

/// Reading the mirror: one deal's snapshot, or every deal's in a sweep (see also sweep.hpp).
/// Throws SQLite::Exception on database errors and on a malformed stored deal.
namespace fg::storage {

/// The deal's snapshot; a deleted deal comes with deal.deleted set. nullopt for a deal never seen
/// (tasks or notes that arrived before it do not count).
std::optional<domain::DealSnapshot> LoadSnapshot(Db& db, const std::string& tenant,
                                                 const std::string& deal_id);
/// Streams every deal's snapshot (of one tenant, or all when `tenant` is empty), in (tenant, id)
/// order, without holding the whole mirror in memory. Deleted deals are skipped. Each snapshot
/// equals LoadSnapshot's (tasks in id order, notes in (at, id) order). The reference passed to
/// `visit` is reused for the next deal; `visit` must not write the mirror through this `db`.
void ForEachSnapshot(Db& db, const std::string& tenant,
                     const std::function<void(const domain::DealSnapshot&)>& visit);

/// Deal rows as ForEachSnapshot reads them, copied out of SQLite but not decoded yet: a sweep
/// reads on one thread and decodes on others (see sweep.hpp). Clearing keeps the capacity.
class DealRows {
public:
    std::size_t size() const { return rows_.size(); }
    bool empty() const { return rows_.empty(); }
    void clear();
    /// Decodes row `index` into `snapshot`, equal to what ForEachSnapshot visits for that deal
    /// (the snapshot's strings and vectors are reused). Throws SQLite::Exception on a malformed
    /// document.
    void Decode(std::size_t index, domain::DealSnapshot& snapshot) const;

private:
    friend void ForEachDealRows(Db&, const std::string&, std::size_t,
                                const std::function<void(DealRows&)>&);
    struct Row {
        std::int64_t numbers[3] = {};  // deleted, created_at, updated_at
        // tenant, id, pipeline, stage, responsible, title, fields, doc: where in bytes_ (offset,
        // size)
        std::size_t texts[8][2] = {};
    };
    std::string bytes_{};
    std::vector<Row> rows_{};
};

/// The rows ForEachSnapshot visits, in the same order, handed to `take` `batch_size` at a time
/// (the last batch may hold fewer). `take` may swap the rows out for an empty DealRows; whatever it
/// leaves is cleared and refilled.
void ForEachDealRows(Db& db, const std::string& tenant, std::size_t batch_size,
                     const std::function<void(DealRows&)>& take);

}  // namespace fg::storage
