// Contract of reconciliation's read: a pull pages through everything the CRM holds, more than one
// page of it, to its end, and a run stopped half-way resumes from a page's cursor in another
// process.
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/contract/harness.hpp"

namespace fg::contract {
namespace {

// The deals of `all` that `seen` lacks, for the message of a pull that stopped short.
std::size_t MissingFrom(const std::set<std::string>& seen, const std::set<std::string>& all) {
    std::size_t missing = 0;
    for (const std::string& deal : all) {
        missing += seen.count(deal) == 0 ? 1 : 0;
    }
    return missing;
}

// What a run of pages read.
struct PullRun {
    std::set<std::string> deals{};
    int pages = 0;
    int pages_with_deals = 0;
    std::string stopped_at{};  // the cursor after the first page with deals, when asked to stop
};

// Pulls from `cursor` until the last page, or (stop_early) until a page carried deals.
PullRun PullPages(crm::Connector& connector, std::string cursor, std::size_t page_size,
                  bool stop_early) {
    // Far more than any CRM of the fixtures needs: a pull that never ends fails here.
    constexpr int kMostPages = 200;
    PullRun run;
    for (;;) {
        REQUIRE(run.pages < kMostPages);
        const Result<crm::PullPage> page =
            connector.Pull({.since = std::nullopt, .cursor = cursor});
        REQUIRE_MESSAGE(page, (page ? "" : page.error().message));
        ++run.pages;
        std::size_t deals = 0;
        for (const domain::Event& event : page->events) {
            if (const auto* upsert = std::get_if<domain::DealUpserted>(&event.body)) {
                run.deals.insert(upsert->deal.id);
                CHECK(upsert->deal.tenant == kTenant);
                ++deals;
            }
        }
        CHECK(deals <= page_size);
        run.pages_with_deals += deals > 0 ? 1 : 0;
        if (page->done) {
            return run;
        }
        REQUIRE_FALSE(page->cursor.empty());
        CHECK(page->cursor != cursor);
        cursor = page->cursor;
        if (stop_early && deals > 0) {
            run.stopped_at = cursor;
            return run;
        }
    }
}

TEST_CASE("Contract: a pull pages to the end") {
    ForEachFixture([](const Fixture& fixture) {
        const PullCrm crm = fixture.StartPullCrm();
        if (!crm.crm) {
            Bound bound(fixture, "");
            // A fixture may skip the pull only for an adapter that has nothing to pull with.
            CHECK(bound.connector() == nullptr);
            REQUIRE_FALSE(fixture.WhyNoPull().empty());
            MESSAGE(fixture.adapter().Name(), " pulls nothing: ", fixture.WhyNoPull());
            return;
        }
        REQUIRE(crm.page_size > 0);
        REQUIRE(crm.deals.size() > crm.page_size);
        const std::set<std::string> all(crm.deals.begin(), crm.deals.end());

        SUBCASE("in one run") {
            Bound bound(fixture, crm.crm->Url());
            REQUIRE(bound.connector() != nullptr);
            const PullRun run = PullPages(*bound.connector(), "", crm.page_size, false);
            CHECK(run.pages_with_deals >= 2);
            CHECK(MissingFrom(run.deals, all) == 0);
            CHECK(run.deals.size() == all.size());  // and nothing the CRM does not hold
        }
        SUBCASE("resumed from a page's cursor by another process") {
            std::string cursor;
            std::set<std::string> seen;
            {
                Bound before(fixture, crm.crm->Url());
                REQUIRE(before.connector() != nullptr);
                const PullRun first = PullPages(*before.connector(), "", crm.page_size, true);
                REQUIRE_FALSE(first.stopped_at.empty());
                cursor = first.stopped_at;
                seen = first.deals;
            }
            CHECK(seen.size() < all.size());
            Bound after(fixture, crm.crm->Url());
            REQUIRE(after.connector() != nullptr);
            const PullRun rest = PullPages(*after.connector(), cursor, crm.page_size, false);
            seen.insert(rest.deals.begin(), rest.deals.end());
            CHECK(MissingFrom(seen, all) == 0);
            CHECK(seen.size() == all.size());
        }
    });
}

}  // namespace
}  // namespace fg::contract
