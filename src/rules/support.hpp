#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/time.hpp"
#include "src/domain/model.hpp"
#include "src/rules/rule.hpp"

/// Internal helpers shared by the rule files (src/rules/*.cpp). Pure; not part of the rules API.
namespace fg::rules::support {

/// The stage history as of `now`: entries with at <= now, stably sorted by `at`. The mirror keeps
/// the history in time order, and then this is a view of its prefix (nothing is copied); a history
/// out of order is copied and sorted.
class HistoryAsOf {
public:
    HistoryAsOf(const domain::DealSnapshot& snapshot, Timestamp now);
    /// The rule input's shared history when EvaluateAll worked it out, else as above.
    explicit HistoryAsOf(const RuleInput& input);
    HistoryAsOf(const HistoryAsOf&) = delete;
    HistoryAsOf& operator=(const HistoryAsOf&) = delete;

    std::span<const domain::StageChange> entries() const { return entries_; }

private:
    void Compute(const domain::DealSnapshot& snapshot, Timestamp now);

    std::vector<domain::StageChange> sorted_{};  // only for a history out of time order
    std::span<const domain::StageChange> entries_{};
};

/// The stage of `entry` in `pipeline`; null when the entry belongs to another pipeline or names a
/// stage the pipeline does not know.
const domain::Stage* StageIn(const domain::Pipeline& pipeline, const domain::StageChange& entry);

/// Whether the stage takes part in the funnel order (open or won).
bool IsOrdered(const domain::Stage& stage);

/// Whether the task was open at `now` (created by then and not yet completed or deleted).
bool TaskOpenAt(const domain::Task& task, Timestamp now);
/// When a completed or deleted task was closed (closed_at, else its last change); nullopt if open.
std::optional<Timestamp> TaskClosedAt(const domain::Task& task);

/// Strips ASCII whitespace and no-break spaces (U+00A0) at both ends.
std::string_view Trim(std::string_view text);
bool IsBlank(std::string_view text);

/// "a, b, c": how lists read in messages.
std::string Join(const std::vector<std::string>& items);

}  // namespace fg::rules::support
