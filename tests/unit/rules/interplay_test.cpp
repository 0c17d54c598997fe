// The rules and funnelguard's own actions (docs/rules.md, "Interplay with funnelguard's own
// actions"): what funnelguard writes to a deal never makes any rule hold that did not before.
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "src/rules/catalog.hpp"
#include "tests/unit/rules/rules_fixture.hpp"

namespace fg::rules::testing {
namespace interplay_test_file {

using config::ConsistencyCheck;

const std::string kPaymentDate = "Дата оплаты";
const std::string kPaidPercent = "Оплачено, %";
const std::string kInvoiceStatus = "Статус счёта";
const std::string kBudget = "Бюджет";
const std::string kOffer = "Сумма КП";

/// Every part of every rule switched on, backward moves forbidden: the strictest tenant.
config::RulesConfig StrictRules() {
    config::RulesConfig rules;
    rules.stage_order.allow_backward = false;
    rules.stage_order.lost_from_any = false;
    rules.deal_without_task.grace = 15min;
    rules.actual_stage.consistency = {
        {.kind = ConsistencyCheck::Kind::kFilled, .field = kPaymentDate, .stage_at_least = kPaid},
        {.kind = ConsistencyCheck::Kind::kAtLeast,
         .field = kPaidPercent,
         .number = 100,
         .stage_at_least = kPaid},
        {.kind = ConsistencyCheck::Kind::kEquals,
         .field = kInvoiceStatus,
         .value = "Выставлен",
         .stage_at_least = kInvoice},
    };
    rules.actual_stage.max_age_default = Days(14);
    rules.actual_stage.max_age[kInvoice] = Days(5);
    rules.card_filled.required = {{kQualified, {kBudget}}, {kProposal, {kOffer}}};
    rules.card_filled.note_per_stage = true;
    return rules;
}

using Keys = std::set<std::pair<std::string, std::string>>;

Keys FindingKeys(const Evaluation& evaluation) {
    Keys keys;
    for (const Finding& finding : evaluation.findings) {
        keys.emplace(finding.rule, finding.key);
    }
    return keys;
}

std::string Describe(const Keys& keys) {
    std::string out;
    for (const auto& [rule, key] : keys) {
        out += rule + "/" + key + " ";
    }
    return out;
}

/// What `after` finds that `before` did not.
Keys NewIn(const Keys& before, const Keys& after) {
    Keys added;
    for (const auto& key : after) {
        if (before.count(key) == 0) {
            added.insert(key);
        }
    }
    return added;
}

// A manager's day with a deal, at random but reproducibly: stage moves (skips, moves back,
// closing), fields filled and cleared, notes, tasks done and forgotten.
class RandomDeal {
public:
    explicit RandomDeal(unsigned seed) : random_(seed) {
        f_.config = StrictRules();
        const std::vector<std::string> starts = {kNew, kNew, kQualified, kProposal};
        f_.Create(At(0h), starts[Pick(starts.size())]);
        at_ = At(0h);
    }

    /// One step of the manager's; false once the deal is closed.
    bool Step() {
        at_ += std::chrono::minutes{1 + static_cast<int>(Pick(60 * 24 * 3))};
        switch (Pick(6)) {
            case 0:
            case 1: {
                const std::vector<std::string> stages = {kNew,  kQualified, kProposal, kInvoice,
                                                         kPaid, kWon,       kLost};
                f_.Move(at_, stages[Pick(stages.size())]);
                break;
            }
            case 2: {
                const std::vector<std::string> fields = {kPaymentDate, kPaidPercent, kInvoiceStatus,
                                                         kBudget, kOffer};
                const std::string& field = fields[Pick(fields.size())];
                const std::vector<std::string> values = {"", "2026-11-05", "100", "50",
                                                         "Выставлен"};
                f_.Field(field, values[Pick(values.size())]);
                f_.snapshot.deal.updated_at = at_;
                break;
            }
            case 3:
                f_.AddNote(at_, Pick(2) == 0 ? "Клиент просит скидку, готовим КП" : "ок");
                break;
            case 4: {
                const std::string id = "t" + std::to_string(f_.snapshot.tasks.size() + 1);
                f_.AddTask({.id = id,
                            .due = at_ + std::chrono::hours{static_cast<int>(Pick(72))},
                            .text = "Позвонить",
                            .created_at = at_,
                            .updated_at = at_});
                break;
            }
            default:
                for (domain::Task& task : f_.snapshot.tasks) {
                    if (task.IsOpen() && Pick(2) == 0) {
                        task.done = true;
                        task.closed_at = at_;
                        task.updated_at = at_;
                    }
                }
                break;
        }
        f_.now = at_ + 1s;
        return IsOpen(f_.snapshot, &f_.pipeline);
    }

    const Fixture& fixture() const { return f_; }
    Timestamp at() const { return at_; }

private:
    std::size_t Pick(std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_);
    }

    std::mt19937 random_;
    Fixture f_;
    Timestamp at_{};
};

TEST_CASE("Interplay: funnelguard's revert, task or note never makes a rule hold") {
    int reverts = 0;
    int steps = 0;
    for (unsigned seed = 1; seed <= 300; ++seed) {
        RandomDeal deal(seed);
        for (int step = 0; step < 12 && deal.Step(); ++step) {
            ++steps;
            const Fixture& f = deal.fixture();
            const Evaluation before = f.RunAll();
            const Keys found = FindingKeys(before);
            CAPTURE(seed);
            CAPTURE(step);
            // Each revert a finding asks for, as the engine would plan it (an open deal, to
            // another stage), echoed a few seconds later.
            for (const Finding& finding : before.findings) {
                if (!finding.revert_to || *finding.revert_to == f.snapshot.deal.stage) {
                    continue;
                }
                ++reverts;
                Fixture reverted = f;
                reverted.Move(deal.at() + 5s, *finding.revert_to, /*own=*/true);
                reverted.now = deal.at() + 6s;
                const Keys added = NewIn(found, FindingKeys(reverted.RunAll()));
                CHECK_MESSAGE(added.empty(), finding.rule, " revert to ", *finding.revert_to,
                              " raised ", Describe(added));
            }
            // funnelguard's task ("plan the next step", due a day later) and its note.
            Fixture with_task = f;
            with_task.AddTask({.id = "fg1",
                               .due = deal.at() + 5s + 24h,
                               .text = "Запланируйте следующий шаг",
                               .created_at = deal.at() + 5s,
                               .updated_at = deal.at() + 5s,
                               .own = true});
            with_task.now = deal.at() + 6s;
            CHECK(NewIn(found, FindingKeys(with_task.RunAll())).empty());
            Fixture with_note = f;
            with_note.AddNote(deal.at() + 5s, "Сделка перешла с пропуском этапов", /*own=*/true);
            with_note.now = deal.at() + 6s;
            CHECK(NewIn(found, FindingKeys(with_note.RunAll())).empty());
        }
    }
    // The walk does reach the cases that matter.
    CHECK(steps > 1000);
    CHECK(reverts > 100);
}

/// The demo's case: the payment date is filled, the deal skipped "Счёт выставлен" on its way to
/// "Оплачено", and stage_order moved it back.
Fixture RevertedFromPaid() {
    Fixture f;
    f.config = StrictRules();
    f.config.stage_order.allow_backward = true;
    f.Create(At(-Days(2)), kNew);
    f.Move(At(-Days(1)), kQualified).Move(At(-20h), kProposal);
    f.Field(kBudget, "100").Field(kOffer, "100").Field(kPaymentDate, "2026-11-01");
    f.AddNote(At(-19h), "КП отправлено, клиент согласен по цене");  // covers every stay so far
    f.AddTask({.id = "t1",
               .due = At(Days(1)),
               .text = "Позвонить",
               .created_at = At(-Days(2)),
               .updated_at = At(-Days(2))});
    f.Move(At(0h), kPaid);  // skips kInvoice
    f.now = At(1min);
    return f;
}

TEST_CASE("actual_stage: the mismatch funnelguard's revert leaves is not judged") {
    Fixture f = RevertedFromPaid();
    {
        const Evaluation skipped = f.RunAll();
        REQUIRE(skipped.findings.size() == 1);
        CHECK(skipped.findings[0].rule == "stage_order");
        REQUIRE(skipped.findings[0].revert_to == std::optional<std::string>(kInvoice));
    }
    f.Move(At(2min), kInvoice, /*own=*/true);
    f.now = At(3min);
    CHECK(f.RunAll().findings.empty());  // stage_order corrected, actual_stage not raised

    SUBCASE("judged again once the manager moves the deal: back") {
        f.Move(At(1h), kProposal);
        f.now = At(1h + 1min);
        const Evaluation evaluation = f.Run(kActualStage);
        REQUIRE(evaluation.findings.size() == 1);
        CHECK(evaluation.findings[0].key == "consistency:0");
    }
    SUBCASE("judged again once the manager moves the deal: on to Оплачено, nothing holds") {
        f.Move(At(1h), kPaid);
        f.now = At(1h + 1min);
        CHECK(f.Run(kActualStage).findings.empty());
        CHECK(f.Run(kStageOrder).findings.empty());
    }
    SUBCASE("a move the manager made is judged as before") {
        Fixture g = RevertedFromPaid();
        g.Move(At(2min), kInvoice);  // not funnelguard's
        g.now = At(3min);
        const Evaluation evaluation = g.Run(kActualStage);
        REQUIRE(evaluation.findings.size() == 1);
        CHECK(evaluation.findings[0].key == "consistency:0");
    }
    SUBCASE("staleness counts from the revert") {
        f.now = At(2min) + Days(5) + 1s;
        const Evaluation evaluation = f.Run(kActualStage);
        REQUIRE(evaluation.findings.size() == 1);
        CHECK(evaluation.findings[0].details.at("entered_at") == FormatIso8601(At(2min)));
    }
}

TEST_CASE("actual_stage: a mismatch that held before funnelguard's revert stays") {
    Fixture f;
    f.config.actual_stage.consistency = {
        {.kind = ConsistencyCheck::Kind::kFilled, .field = kPaymentDate, .stage_at_least = kPaid}};
    f.Create(At(-Days(1)), kNew).Move(At(-2h), kQualified);
    f.Field(kPaymentDate, "2026-11-01");
    f.Move(At(0h), kInvoice);                   // skips kProposal; still before kPaid
    f.Move(At(2min), kProposal, /*own=*/true);  // funnelguard's revert
    f.now = At(3min);
    const Evaluation evaluation = f.Run(kActualStage);
    REQUIRE(evaluation.findings.size() == 1);
    CHECK(evaluation.findings[0].key == "consistency:0");
}

TEST_CASE("card_filled: a field funnelguard's forward revert makes required waits for a move") {
    // A move back that is not allowed, reverted forward: the deal is again where it was.
    Fixture f;
    f.config.stage_order.allow_backward = false;
    f.config.card_filled.required = {{kProposal, {kOffer}}};
    f.Create(At(-Days(1)), kNew).Move(At(-2h), kQualified).Move(At(-1h), kProposal);
    f.Move(At(0h), kQualified);  // back: not allowed
    f.now = At(1min);
    const Evaluation back = f.RunAll();
    REQUIRE(back.findings.size() == 2);  // deal_without_task too: the deal has no task
    const Finding& skip = back.findings[0];
    CHECK(skip.rule == "stage_order");
    REQUIRE(skip.revert_to == std::optional<std::string>(kProposal));
    f.Move(At(2min), kProposal, /*own=*/true);
    f.now = At(3min);
    CHECK(f.Run(kCardFilled).findings.empty());
    CHECK(f.Run(kStageOrder).findings.empty());  // corrected
    f.Move(At(1h), kInvoice);                    // the manager moves on: the field is judged again
    f.now = At(1h + 1min);
    const Evaluation moved = f.Run(kCardFilled);
    REQUIRE(moved.findings.size() == 1);
    CHECK(moved.findings[0].key == "required:" + kProposal);
    CHECK(moved.findings[0].since == At(2min));
}

TEST_CASE("card_filled: a stay funnelguard's revert started needs its note when left forward") {
    Fixture f = RevertedFromPaid();
    f.Move(At(2min), kInvoice, /*own=*/true);
    f.now = At(3min);
    CHECK(f.Run(kCardFilled).findings.empty());
    f.Move(At(1h), kPaid);
    f.now = At(1h + 1min);
    const Evaluation evaluation = f.Run(kCardFilled);
    REQUIRE(evaluation.findings.size() == 1);
    CHECK(evaluation.findings[0].details.at("stage") == kInvoice);
    SUBCASE("a note written in it settles it; funnelguard's own note does not") {
        f.AddNote(At(30min), "Stage skipped: go through the stages in order", /*own=*/true);
        CHECK(f.Run(kCardFilled).findings.size() == 1);
        f.AddNote(At(40min), "Счёт №17 выставлен, ждём оплату");
        CHECK(f.Run(kCardFilled).findings.empty());
    }
}

}  // namespace interplay_test_file
}  // namespace fg::rules::testing
