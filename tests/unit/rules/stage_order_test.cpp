#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "src/rules/catalog.hpp"
#include "tests/unit/rules/rules_fixture.hpp"

namespace fg::rules::testing {
namespace stage_order_test_file {

using Names = std::vector<std::string>;

Names Skipped(const Finding& finding) { return finding.details.at("skipped").get<Names>(); }

TEST_CASE("stage_order accepts a deal moving stage by stage to won") {
    Fixture f;
    f.Create(At(0h), kNew)
        .Move(At(1h), kQualified)
        .Move(At(2h), kProposal)
        .Move(At(3h), kInvoice)
        .Move(At(4h), kPaid)
        .Move(At(5h), kWon);
    f.now = At(6h);
    const Evaluation evaluation = f.Run(kStageOrder);
    CHECK(evaluation.findings.empty());
    CHECK_FALSE(evaluation.wake_at.has_value());
}

TEST_CASE("stage_order reports a forward skip with the skipped stages in pipeline order") {
    Fixture f;
    f.Create(At(0h), kNew).Move(At(1h), kInvoice);
    f.now = At(2h);
    const Evaluation evaluation = f.Run(kStageOrder);
    REQUIRE(evaluation.findings.size() == 1);
    const Finding& finding = evaluation.findings[0];
    CHECK(finding.rule == "stage_order");
    CHECK(finding.key == Epoch(At(1h)) + ":Новая->Счёт выставлен");
    CHECK(finding.responsible == "u7");
    CHECK(finding.since == At(1h));
    CHECK(finding.details.at("kind") == "skip");
    CHECK(finding.details.at("from") == kNew);
    CHECK(finding.details.at("to") == kInvoice);
    CHECK(Skipped(finding) == Names{kQualified, kProposal});
    CHECK(finding.details.at("at") == "2026-11-02T07:00:00Z");
    REQUIRE(finding.revert_to.has_value());
    CHECK(*finding.revert_to == kQualified);
    CHECK(finding.details.at("revert_to") == kQualified);
    CHECK(finding.details.at("reason").get<std::string>().find("Квалификация, КП отправлено") !=
          std::string::npos);
}

TEST_CASE("stage_order reports winning by skipping the last open stages, and keeps it closed") {
    Fixture f;
    f.Create(At(0h), kNew).Move(At(1h), kQualified).Move(At(2h), kWon);
    f.now = At(3h);
    const Evaluation evaluation = f.Run(kStageOrder);
    REQUIRE(evaluation.findings.size() == 1);
    CHECK(Skipped(evaluation.findings[0]) == Names{kProposal, kInvoice, kPaid});

    SUBCASE("the deal later lost: the skip still counts") {
        f.Move(At(4h), kLost);
        f.now = At(5h);
        CHECK(Keys(f.Run(kStageOrder)) == Names{Epoch(At(2h)) + ":Квалификация->Успешно"});
    }
}

TEST_CASE("stage_order and moves to a lost stage") {
    Fixture f;
    f.Create(At(0h), kNew).Move(At(1h), kQualified).Move(At(2h), kLost);
    f.now = At(3h);

    SUBCASE("allowed from anywhere by default") { CHECK(f.Run(kStageOrder).findings.empty()); }
    SUBCASE("lost_from_any = false: losing before the last open stage is reported") {
        f.config.stage_order.lost_from_any = false;
        const Evaluation evaluation = f.Run(kStageOrder);
        REQUIRE(evaluation.findings.size() == 1);
        const Finding& finding = evaluation.findings[0];
        CHECK(finding.key == Epoch(At(2h)) + ":Квалификация->Закрыто и не реализовано");
        CHECK(finding.details.at("kind") == "lost_early");
        CHECK(finding.details.at("from") == kQualified);
        CHECK(finding.details.at("to") == kLost);
        CHECK(Skipped(finding) == Names{kProposal, kInvoice, kPaid});
        CHECK(finding.revert_to == kProposal);
    }
    SUBCASE("lost_from_any = false: losing from the last open stage is allowed") {
        Fixture g;
        g.config.stage_order.lost_from_any = false;
        g.Create(At(0h), kNew)
            .Move(At(1h), kQualified)
            .Move(At(2h), kProposal)
            .Move(At(3h), kInvoice)
            .Move(At(4h), kPaid)
            .Move(At(5h), kLost);
        g.now = At(6h);
        CHECK(g.Run(kStageOrder).findings.empty());
    }
}

TEST_CASE("stage_order and backward moves") {
    Fixture f;
    f.Create(At(0h), kNew).Move(At(1h), kQualified).Move(At(2h), kProposal).Move(At(3h), kNew);
    f.now = At(4h);

    SUBCASE("allowed by default") { CHECK(f.Run(kStageOrder).findings.empty()); }
    SUBCASE("reported when allow_backward = false") {
        f.config.stage_order.allow_backward = false;
        const Evaluation evaluation = f.Run(kStageOrder);
        REQUIRE(evaluation.findings.size() == 1);
        const Finding& finding = evaluation.findings[0];
        CHECK(finding.key == Epoch(At(3h)) + ":КП отправлено->Новая");
        CHECK(finding.details.at("kind") == "backward");
        CHECK(Skipped(finding).empty());
        CHECK(finding.revert_to == kProposal);
        CHECK(finding.since == At(3h));
    }
    SUBCASE("allow_backward = false: a revert forward to where it was corrects it") {
        f.config.stage_order.allow_backward = false;
        f.Move(At(5h), kProposal, /*own=*/true);
        f.now = At(6h);
        CHECK(f.Run(kStageOrder).findings.empty());
    }
    SUBCASE("allow_backward = false: reopening a won deal into an open stage is a backward move") {
        Fixture g;
        g.config.stage_order.allow_backward = false;
        g.Create(At(0h), kNew)
            .Move(At(1h), kQualified)
            .Move(At(2h), kProposal)
            .Move(At(3h), kInvoice)
            .Move(At(4h), kPaid)
            .Move(At(5h), kWon)
            .Move(At(6h), kPaid);
        g.now = At(7h);
        CHECK(Keys(g.Run(kStageOrder)) == Names{Epoch(At(6h)) + ":Успешно->Оплачено"});
    }
}

TEST_CASE("stage_order judges a deal created after the first open stage as a skip from nothing") {
    Fixture f;
    f.Create(At(0h), kProposal);
    f.now = At(1h);

    SUBCASE("reported with every stage before it") {
        const Evaluation evaluation = f.Run(kStageOrder);
        REQUIRE(evaluation.findings.size() == 1);
        const Finding& finding = evaluation.findings[0];
        CHECK(finding.key == Epoch(At(0h)) + ":->КП отправлено");
        CHECK(finding.details.at("kind") == "created");
        CHECK(finding.details.at("from") == "");
        CHECK(finding.details.at("to") == kProposal);
        CHECK(Skipped(finding) == Names{kNew, kQualified});
        CHECK(finding.revert_to == kNew);
        CHECK(finding.since == At(0h));
    }
    SUBCASE("allowed when the stage is listed in create_in") {
        f.config.stage_order.create_in = {kProposal};
        CHECK(f.Run(kStageOrder).findings.empty());
    }
    SUBCASE("create_in lists another stage: still reported") {
        f.config.stage_order.create_in = {kQualified};
        CHECK(f.Run(kStageOrder).findings.size() == 1);
    }
    SUBCASE("created directly as won") {
        Fixture g;
        g.Create(At(0h), kWon);
        g.now = At(1h);
        const Evaluation evaluation = g.Run(kStageOrder);
        REQUIRE(evaluation.findings.size() == 1);
        CHECK(Skipped(evaluation.findings[0]) ==
              Names{kNew, kQualified, kProposal, kInvoice, kPaid});
    }
}

TEST_CASE("stage_order accepts creation in the first open stage, in intake and in lost") {
    for (const std::string& stage : {kNew, kIntake, kLost}) {
        CAPTURE(stage);
        Fixture f;
        f.Create(At(0h), stage);
        f.now = At(1h);
        CHECK(f.Run(kStageOrder).findings.empty());
    }
}

TEST_CASE("stage_order judges a move out of intake like a creation") {
    Fixture f;
    f.Create(At(0h), kIntake).Move(At(1h), kProposal);
    f.now = At(2h);

    SUBCASE("into the middle of the funnel: reported") {
        const Evaluation evaluation = f.Run(kStageOrder);
        REQUIRE(evaluation.findings.size() == 1);
        CHECK(evaluation.findings[0].key == Epoch(At(1h)) + ":Неразобранное->КП отправлено");
        CHECK(Skipped(evaluation.findings[0]) == Names{kNew, kQualified});
    }
    SUBCASE("into a create_in stage: allowed") {
        f.config.stage_order.create_in = {kProposal};
        CHECK(f.Run(kStageOrder).findings.empty());
    }
    SUBCASE("into the first open stage: allowed") {
        Fixture g;
        g.Create(At(0h), kIntake).Move(At(1h), kNew);
        g.now = At(2h);
        CHECK(g.Run(kStageOrder).findings.empty());
    }
}

TEST_CASE("stage_order does not judge reopening a lost deal") {
    Fixture f;
    f.Create(At(0h), kNew).Move(At(1h), kLost).Move(At(2h), kInvoice);
    f.now = At(3h);
    CHECK(f.Run(kStageOrder).findings.empty());
}

TEST_CASE("stage_order records but does not judge moves between pipelines") {
    Fixture f;
    f.Create(At(0h), kNew);
    f.Move(At(1h), "Входящие", false, "partners");
    f.Move(At(2h), kInvoice);  // back into main, far along
    f.now = At(3h);
    CHECK(f.Run(kStageOrder).findings.empty());

    SUBCASE("a skip after arriving is judged again") {
        f.Move(At(4h), kWon);
        f.now = At(5h);
        CHECK(Keys(f.Run(kStageOrder)) == Names{Epoch(At(4h)) + ":Счёт выставлен->Успешно"});
    }
}

TEST_CASE("stage_order never judges funnelguard's own moves, but moves on from them") {
    Fixture f;
    f.config.stage_order.allow_backward = false;
    f.Create(At(0h), kNew).Move(At(1h), kInvoice);
    f.Move(At(2h), kQualified, /*own=*/true);  // the revert: backward, but ours

    SUBCASE("the revert corrects the skip and is not itself a backward move") {
        f.now = At(3h);
        CHECK(f.Run(kStageOrder).findings.empty());
    }
    SUBCASE("the next move is judged from where the revert put the deal") {
        f.Move(At(3h), kInvoice);  // skips КП отправлено again, from Квалификация
        f.now = At(4h);
        const Evaluation evaluation = f.Run(kStageOrder);
        REQUIRE(evaluation.findings.size() == 1);
        CHECK(evaluation.findings[0].key == Epoch(At(3h)) + ":Квалификация->Счёт выставлен");
        CHECK(Skipped(evaluation.findings[0]) == Names{kProposal});
    }
    SUBCASE("an own skip forward is not judged") {
        Fixture g;
        g.Create(At(0h), kNew).Move(At(1h), kPaid, /*own=*/true);
        g.now = At(2h);
        CHECK(g.Run(kStageOrder).findings.empty());
    }
}

TEST_CASE(
    "stage_order resolves a skip once the deal is back at or before the first skipped stage") {
    Fixture f;
    f.Create(At(0h), kNew).Move(At(1h), kInvoice);

    SUBCASE("moved back to the first skipped stage by the manager") {
        f.Move(At(2h), kQualified);
        f.now = At(3h);
        CHECK(f.Run(kStageOrder).findings.empty());
    }
    SUBCASE("moved back before it") {
        f.Move(At(2h), kNew);
        f.now = At(3h);
        CHECK(f.Run(kStageOrder).findings.empty());
    }
    SUBCASE("moved back only part of the way: still reported") {
        f.Move(At(2h), kProposal);
        f.now = At(3h);
        CHECK(Keys(f.Run(kStageOrder)) == Names{Epoch(At(1h)) + ":Новая->Счёт выставлен"});
    }
    SUBCASE("the correction after `now` does not count yet") {
        f.Move(At(5h), kQualified);
        f.now = At(3h);
        CHECK(f.Run(kStageOrder).findings.size() == 1);
    }
    SUBCASE("a creation skip is corrected only at the first open stage") {
        Fixture g;
        g.Create(At(0h), kInvoice).Move(At(1h), kQualified, true);
        g.now = At(2h);
        CHECK(g.Run(kStageOrder).findings.size() == 1);
        g.Move(At(3h), kNew, true);
        g.now = At(4h);
        CHECK(g.Run(kStageOrder).findings.empty());
    }
}

TEST_CASE("stage_order judges history in CRM time, whatever order it is stored in") {
    Fixture f;
    f.Create(At(0h), kNew);
    f.Move(At(2h), kProposal);
    f.Move(At(1h), kQualified);  // arrived late
    f.snapshot.deal.stage = kProposal;
    f.now = At(3h);
    CHECK(f.Run(kStageOrder).findings.empty());

    SUBCASE("entries after `now` are not judged") {
        f.Move(At(5h), kWon);
        f.now = At(4h);
        CHECK(f.Run(kStageOrder).findings.empty());
        f.now = At(6h);
        CHECK(f.Run(kStageOrder).findings.size() == 1);
    }
}

TEST_CASE("stage_order judges nothing when the pipeline is unknown") {
    Fixture f;
    f.Create(At(0h), kNew).Move(At(1h), kWon);
    f.now = At(2h);
    REQUIRE(f.Run(kStageOrder).findings.size() == 1);
    f.pipeline_known = false;
    CHECK(f.Run(kStageOrder).findings.empty());
}

TEST_CASE("stage_order reports every skip of a deal separately") {
    Fixture f;
    f.Create(At(0h), kNew).Move(At(1h), kProposal).Move(At(2h), kPaid);
    f.now = At(3h);
    CHECK(Keys(f.Run(kStageOrder)) == Names{Epoch(At(1h)) + ":Новая->КП отправлено",
                                            Epoch(At(2h)) + ":КП отправлено->Оплачено"});
}

}  // namespace stage_order_test_file
}  // namespace fg::rules::testing
