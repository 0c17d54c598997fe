// Reconciliation: pulls a tenant's CRM state through its crm::Connector, repairs the mirror
// page by page (resumable), then re-judges every deal.
#include <set>
#include <string>

#include "src/engine/engine.hpp"

namespace fg::engine {
namespace {

// Meta keys of a tenant's reconciliation: the CRM time the last complete run started at, and
// where an unfinished run stands.
constexpr const char* kWatermarkKey = "reconcile.watermark";
constexpr const char* kCursorKey = "reconcile.cursor";

}  // namespace

std::string FormatPullCounts(const ReconcileReport& report) {
    return fmt::format(
        "{} page(s), {} event(s) read, {} new on {} deal(s), {} stage change(s) recovered",
        report.pages, report.read, report.events, report.deals, report.transitions);
}

Result<void> Engine::ApplyPulled(const std::string& tenant, const crm::PullPage& page,
                                 ReconcileReport& report, std::set<std::string>& touched) {
    struct Applied {
        int events = 0;
        std::int64_t transitions = 0;
        std::set<std::string> deals{};
    };
    // Pages only repair the mirror; judging waits for the whole state (a deal pulled before its
    // tasks is not a deal without a task).
    auto applied =
        writer_
            ->Transact([&](storage::Db& db) {
                Applied result;
                const std::int64_t history_before = storage::CountStageChanges(db, tenant);
                for (const domain::Event& event : page.events) {
                    if (!storage::MarkEventSeen(db, tenant, event.id)) {
                        continue;  // the mirror has this version already (webhook or last run)
                    }
                    ++result.events;
                    for (std::string& deal : storage::ApplyEvent(db, tenant, event)) {
                        result.deals.insert(std::move(deal));
                    }
                }
                result.transitions = storage::CountStageChanges(db, tenant) - history_before;
                // Committed with the page: a run killed after this resumes after this page.
                if (page.done) {
                    storage::DeleteMeta(db, tenant, kCursorKey);
                } else {
                    storage::SetMeta(db, tenant, kCursorKey, page.cursor);
                }
                return result;
            })
            .get();
    if (!applied) {
        return applied.error();
    }
    report.events += applied->events;
    report.transitions += static_cast<int>(applied->transitions);
    touched.merge(applied->deals);
    return Ok{};
}

Result<ReconcileReport> Engine::Reconcile(const std::string& tenant,
                                          const ReconcileOptions& options) {
    crm::Connector* connector = ConnectorOf(tenant);
    if (connector == nullptr) {
        return MakeError(ErrorCode::kNotFound, "tenant {} has no CRM connector", tenant);
    }
    const auto progress = [&options](const std::string& line) {
        if (options.progress) {
            options.progress(line);
        }
    };
    ReconcileReport report;
    const Timestamp started = options_.clock->Now();
    auto reader = OpenReader();
    if (!reader) {
        return reader.error();
    }
    const std::optional<std::string> watermark = storage::GetMeta(**reader, tenant, kWatermarkKey);
    std::string cursor =
        options.full ? std::string{} : storage::GetMeta(**reader, tenant, kCursorKey).value_or("");
    reader->reset();
    report.resumed = !cursor.empty();

    progress("directory: pipelines and users");
    if (auto refreshed = RefreshDirectory(tenant); !refreshed) {
        return refreshed.error();
    }
    crm::PullRequest request;
    if (!options.full && watermark) {
        if (const std::optional<Timestamp> last = ParseIso8601(*watermark)) {
            request.since = *last - options.overlap;
        }
    }
    progress(report.resumed  ? "resuming the run that was stopped"
             : request.since ? fmt::format("changes since {}", FormatIso8601(*request.since))
                             : std::string("everything (first or --full run)"));
    request.cursor = cursor;
    std::set<std::string> touched;
    for (;;) {
        Result<crm::PullPage> page = connector->Pull(request);
        if (!page) {
            return page.error();
        }
        ++report.pages;
        report.read += static_cast<int>(page->events.size());
        if (auto applied = ApplyPulled(tenant, *page, report, touched); !applied) {
            return applied.error();
        }
        report.deals = static_cast<int>(touched.size());
        progress(fmt::format("{}{}", page->progress.empty() ? "" : page->progress + ": ",
                             FormatPullCounts(report)));
        if (page->done) {
            break;
        }
        request.cursor = page->cursor;
    }
    report.deals = static_cast<int>(touched.size());
    // The first run finds what happened before funnelguard was connected: it is recorded in the
    // history, but writing notes, tasks and reverts about all of it would flood the managers.
    report.record_only = !watermark.has_value() && !options.full;
    progress(report.record_only ? "re-evaluating every deal (first run: violations are recorded, "
                                  "nothing is written back about the past)"
                                : "re-evaluating every deal");
    auto judged = JudgeAll(tenant, &report, /*act=*/!report.record_only);
    if (!judged) {
        return judged.error();
    }
    report.judged = *judged;
    auto marked = writer_
                      ->Transact([&tenant, started](storage::Db& db) {
                          storage::SetMeta(db, tenant, kWatermarkKey, FormatIso8601(started));
                          return 0;
                      })
                      .get();
    if (!marked) {
        return marked.error();
    }
    return report;
}

}  // namespace fg::engine
