#include "src/storage/violations.hpp"

#include <string>

#include <doctest/doctest.h>

#include "tests/unit/storage/storage_test_support.hpp"

namespace fg::storage {

// ---------------------------------------------------------------- violations

TEST_CASE("Violations: open, update, resolve, list; never deleted") {
    auto db = Memory();
    Apply(*db, DealAt(1, "d", "A", "ООО Ромашка"));
    const std::int64_t first = InsertViolation(*db, MakeViolation("d", "stage_order", "1", 10));
    const std::int64_t second = InsertViolation(*db, MakeViolation("d", "overdue_task", "t1", 11));
    const std::int64_t third =
        InsertViolation(*db, MakeViolation("x", "stage_order", "1", 12, "beta"));
    CHECK(first != second);

    std::optional<Violation> read = GetViolation(*db, first);
    REQUIRE(read.has_value());
    CHECK(read->tenant == "acme");
    CHECK(read->deal_id == "d");
    CHECK(read->rule == "stage_order");
    CHECK(read->key == "1");
    CHECK(read->opened_at == T(10));
    CHECK_FALSE(read->resolved_at.has_value());
    CHECK(read->resolution.empty());
    CHECK(read->details["skipped"][1] == "C");
    CHECK(read->message == "Пропущены этапы");
    CHECK(read->deal_title == "ООО Ромашка");
    CHECK_FALSE(GetViolation(*db, 999).has_value());
    CHECK(GetViolation(*db, third)->deal_title.empty());  // deal not mirrored

    CHECK_THROWS_AS(InsertViolation(*db, MakeViolation("d", "stage_order", "1", 20)),
                    SQLite::Exception);  // one open per key

    UpdateViolation(*db, second, {{"reschedules", 2}}, "updated", "u2");
    read = GetViolation(*db, second);
    CHECK(read->details["reschedules"] == 2);
    CHECK(read->message == "updated");
    CHECK(read->responsible == "u2");

    CHECK(ResolveViolation(*db, first, T(30), "corrected"));
    CHECK_FALSE(ResolveViolation(*db, first, T(31), "acknowledged"));
    read = GetViolation(*db, first);
    CHECK(read->resolved_at == std::optional<Timestamp>(T(30)));
    CHECK(read->resolution == "corrected");
    UpdateViolation(*db, first, {{"x", 1}}, "changed", "u9");  // resolved: history stays
    CHECK(GetViolation(*db, first)->message == "Пропущены этапы");

    // The key may open again once the earlier one is resolved.
    const std::int64_t again = InsertViolation(*db, MakeViolation("d", "stage_order", "1", 40));

    std::vector<Violation> of_deal = ViolationsForDeal(*db, "acme", "d");
    REQUIRE(of_deal.size() == 3);
    CHECK(of_deal[0].id == first);
    CHECK(of_deal[2].id == again);

    auto ids = [](const std::vector<Violation>& list) {
        std::vector<std::int64_t> out;
        for (const Violation& v : list) {
            out.push_back(v.id);
        }
        return out;
    };
    ViolationFilter filter;
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{again, third, second});
    filter.tenant = "acme";
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{again, second});
    filter.rule = "stage_order";
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{again});
    filter.state = ViolationFilter::State::kAll;
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{again, first});
    filter.state = ViolationFilter::State::kResolved;
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{first});
    filter = ViolationFilter{};
    filter.deal_id = "x";
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{third});
    filter = ViolationFilter{};
    filter.state = ViolationFilter::State::kAll;
    filter.limit = 2;
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{again, third});
    CHECK(ListViolations(*db, filter)[0].deal_title == "ООО Ромашка");

    CHECK(OpenViolationCounts(*db) ==
          std::vector<std::tuple<std::string, std::string, std::int64_t>>{
              {"acme", "overdue_task", 1}, {"acme", "stage_order", 1}, {"beta", "stage_order", 1}});

    CHECK(ids(OpenNotEscalated(*db, "")) == std::vector<std::int64_t>{second, third, again});
    MarkEscalated(*db, second, T(50));
    MarkEscalated(*db, second, T(60));  // the first escalation time stays
    CHECK(GetViolation(*db, second)->escalated_at == std::optional<Timestamp>(T(50)));
    CHECK(ids(OpenNotEscalated(*db, "acme")) == std::vector<std::int64_t>{again});

    // Deleting the deal leaves its violations where they are.
    Apply(*db, DealDeletedAt(100, "d"));
    CHECK(ViolationsForDeal(*db, "acme", "d").size() == 3);
    CHECK(Count(*db, "violations") == 4);
}

}  // namespace fg::storage
