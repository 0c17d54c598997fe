#include "src/rules/rule.hpp"

#include <algorithm>

#include "src/rules/support.hpp"

namespace fg::rules {

bool IsOpen(const domain::DealSnapshot& snapshot, const domain::Pipeline* pipeline) {
    // Without the pipeline the stage kind is unknowable, so the deal is not judged as open.
    if (pipeline == nullptr || snapshot.deal.deleted) {
        return false;
    }
    const domain::Stage* stage = pipeline->Find(snapshot.deal.stage);
    return stage != nullptr && stage->kind == domain::StageKind::kOpen;
}

std::size_t Utf8Length(std::string_view text) {
    // Every code point has exactly one byte that is not a continuation byte (10xxxxxx).
    std::size_t length = 0;
    for (const char c : text) {
        if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) {
            ++length;
        }
    }
    return length;
}

namespace support {
namespace {

// Russian cards often carry no-break spaces ("500\u00A0000", a blank pasted from Word).
constexpr std::string_view kNbsp = "\xC2\xA0";

bool IsAsciiSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

HistoryAsOf::HistoryAsOf(const domain::DealSnapshot& snapshot, Timestamp now) {
    Compute(snapshot, now);
}

HistoryAsOf::HistoryAsOf(const RuleInput& input) {
    if (input.history) {
        entries_ = *input.history;
    } else {
        Compute(input.snapshot, input.now);
    }
}

void HistoryAsOf::Compute(const domain::DealSnapshot& snapshot, Timestamp now) {
    const auto by_time = [](const domain::StageChange& a, const domain::StageChange& b) {
        return a.at < b.at;
    };
    const std::vector<domain::StageChange>& history = snapshot.history;
    // The mirror keeps CRM time order already: then the entries as of `now` are a prefix.
    if (std::is_sorted(history.begin(), history.end(), by_time)) {
        const auto end = std::upper_bound(
            history.begin(), history.end(), now,
            [](Timestamp at, const domain::StageChange& entry) { return at < entry.at; });
        entries_ = std::span<const domain::StageChange>(
            history.data(), static_cast<std::size_t>(end - history.begin()));
        return;
    }
    sorted_.reserve(history.size());
    for (const domain::StageChange& entry : history) {
        if (entry.at <= now) {
            sorted_.push_back(entry);
        }
    }
    // A stable sort keeps same-second entries as stored.
    std::stable_sort(sorted_.begin(), sorted_.end(), by_time);
    entries_ = sorted_;
}

const domain::Stage* StageIn(const domain::Pipeline& pipeline, const domain::StageChange& entry) {
    if (entry.pipeline != pipeline.id) {
        return nullptr;
    }
    return pipeline.Find(entry.stage);
}

bool IsOrdered(const domain::Stage& stage) {
    return stage.kind == domain::StageKind::kOpen || stage.kind == domain::StageKind::kWon;
}

bool TaskOpenAt(const domain::Task& task, Timestamp now) {
    if (task.created_at > now) {
        return false;
    }
    if (task.IsOpen()) {
        return true;
    }
    // Closed after `now` (check --now in the past): it was still open then.
    const std::optional<Timestamp> closed = TaskClosedAt(task);
    return closed && *closed > now;
}

std::optional<Timestamp> TaskClosedAt(const domain::Task& task) {
    if (task.IsOpen()) {
        return std::nullopt;
    }
    return task.closed_at ? *task.closed_at : task.updated_at;
}

std::string_view Trim(std::string_view text) {
    for (;;) {
        if (!text.empty() && IsAsciiSpace(text.front())) {
            text.remove_prefix(1);
        } else if (text.starts_with(kNbsp)) {
            text.remove_prefix(kNbsp.size());
        } else {
            break;
        }
    }
    for (;;) {
        if (!text.empty() && IsAsciiSpace(text.back())) {
            text.remove_suffix(1);
        } else if (text.ends_with(kNbsp)) {
            text.remove_suffix(kNbsp.size());
        } else {
            break;
        }
    }
    return text;
}

bool IsBlank(std::string_view text) { return Trim(text).empty(); }

std::string Join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) {
        if (!out.empty()) {
            out += ", ";
        }
        out += item;
    }
    return out;
}

}  // namespace support
}  // namespace fg::rules
