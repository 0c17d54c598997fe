// The violation lifecycle on judgements: what Judge decides for a deal, without SQLite.
#include "src/engine/judge.hpp"

#include <string>

#include <doctest/doctest.h>

#include "tests/unit/rules/rules_fixture.hpp"

namespace fg::engine {
namespace judge_test_file {

using namespace std::chrono_literals;
using outbox::ActionKind;
using rules::testing::At;
using rules::testing::kNew;

// One tenant judged by deal_without_task alone (note and task), the other rules off.
config::TenantConfig Tenant(config::Mode mode = config::Mode::kWarn) {
    config::TenantConfig tenant;
    tenant.id = "acme";
    tenant.mode = mode;
    tenant.pipelines = {rules::testing::MainPipeline()};
    tenant.rules.stage_order.common.enabled = false;
    tenant.rules.actual_stage.common.enabled = false;
    tenant.rules.card_filled.common.enabled = false;
    tenant.rules.overdue_task.common.enabled = false;
    tenant.rules.deal_without_task.common.actions = {config::ActionKind::kNote,
                                                     config::ActionKind::kTask};
    return tenant;
}

// A deal created at T0 in «Новая», with no task: deal_without_task holds from T0 + 15m.
domain::DealSnapshot Deal() {
    rules::testing::Fixture fixture;
    fixture.Create(At(0h), kNew);
    return fixture.snapshot;
}

domain::Task Task(const std::string& id, Timestamp created, bool own = false) {
    return {
        .id = id, .text = "Позвонить", .created_at = created, .updated_at = created, .own = own};
}

// `channels`: the tenant's channels that have a sink (the CRM's, by default).
Judgement JudgeAt(const domain::DealSnapshot& snapshot, const DealRecord& record,
                  const config::TenantConfig& tenant, Timestamp now,
                  std::vector<std::string> channels = {"crm"}) {
    return Judge(snapshot, record, {.tenant = tenant, .channels = std::move(channels), .now = now});
}

// The violation Judge opened, as storage would give it back with `id`.
storage::Violation Stored(const Judgement& judgement, std::int64_t id) {
    REQUIRE(judgement.open.size() == 1);
    storage::Violation violation = judgement.open[0].violation;
    violation.id = id;
    return violation;
}

TEST_CASE("Before the grace runs out nothing opens, and the deal wakes when it does") {
    const Judgement judgement = JudgeAt(Deal(), {}, Tenant(), At(15min));
    CHECK(judgement.open.empty());
    CHECK(judgement.resolve.empty());
    REQUIRE(judgement.wake_at.has_value());
    CHECK(*judgement.wake_at == At(15min + 1s));
}

TEST_CASE("A finding that newly holds opens a violation with its rule's actions") {
    const Judgement judgement = JudgeAt(Deal(), {}, Tenant(), At(16min));
    REQUIRE(judgement.open.size() == 1);
    const OpenPlan& plan = judgement.open[0];
    CHECK(plan.violation.rule == "deal_without_task");
    CHECK(plan.violation.deal_id == "101");
    CHECK(plan.violation.responsible == "u7");
    CHECK(plan.violation.opened_at == At(15min));
    CHECK(plan.violation.id == 0);  // storage gives it one
    REQUIRE(plan.actions.size() == 2);
    CHECK(plan.actions[0].kind() == ActionKind::kNote);
    CHECK(plan.actions[0].body.text == plan.violation.message);
    CHECK(plan.actions[1].kind() == ActionKind::kTask);
    REQUIRE(plan.actions[1].body.task() != nullptr);
    CHECK(plan.actions[1].body.task()->due == At(16min) + 24h);
    CHECK(plan.actions[1].body.task()->responsible == "u7");
    CHECK(plan.actions[1].channel == "crm");
    // Keys come from the id storage assigns.
    PlannedAction task = plan.actions[1];
    CHECK(task.body.idempotency_key.empty());
    BindAction(task, Stored(judgement, 42));
    CHECK(task.body.idempotency_key == "acme:v42:task");
    CHECK(task.body.violation.id == 42);
    CHECK(task.body.violation.rule == "deal_without_task");
    CHECK(task.body.violation.opened_at == At(15min));
}

TEST_CASE("Observe mode and a tenant with nowhere to send actions open without actions") {
    const Judgement observed = JudgeAt(Deal(), {}, Tenant(config::Mode::kObserve), At(16min));
    REQUIRE(observed.open.size() == 1);
    CHECK(observed.open[0].actions.empty());
    const Judgement unsent = JudgeAt(Deal(), {}, Tenant(), At(16min), /*channels=*/{});
    REQUIRE(unsent.open.size() == 1);
    CHECK(unsent.open[0].actions.empty());
}

TEST_CASE("An open violation whose finding still holds is neither opened again nor resolved") {
    const config::TenantConfig tenant = Tenant();
    const DealRecord record{.violations = {Stored(JudgeAt(Deal(), {}, tenant, At(16min)), 7)}};
    const Judgement later = JudgeAt(Deal(), record, tenant, At(16min));
    CHECK(later.open.empty());
    CHECK(later.resolve.empty());
    CHECK(later.update.empty());  // same details, text and responsible
}

TEST_CASE("A still-open violation is refreshed when its text or responsible changes") {
    const config::TenantConfig tenant = Tenant();
    const DealRecord record{.violations = {Stored(JudgeAt(Deal(), {}, tenant, At(16min)), 7)}};
    domain::DealSnapshot reassigned = Deal();
    reassigned.deal.responsible = "u9";
    const Judgement later = JudgeAt(reassigned, record, tenant, At(2h));
    CHECK(later.open.empty());
    REQUIRE(later.update.size() == 1);
    CHECK(later.update[0].id == 7);
    CHECK(later.update[0].responsible == "u9");
}

TEST_CASE("A violation whose finding stopped holding is resolved with the rule's resolution") {
    const config::TenantConfig tenant = Tenant();
    const DealRecord record{.violations = {Stored(JudgeAt(Deal(), {}, tenant, At(16min)), 7)}};
    domain::DealSnapshot planned = Deal();
    planned.tasks.push_back(Task("t1", At(20min)));
    const Judgement judgement = JudgeAt(planned, record, tenant, At(20min));
    CHECK(judgement.open.empty());
    REQUIRE(judgement.resolve.size() == 1);
    CHECK(judgement.resolve[0].id == 7);
    CHECK(judgement.resolve[0].resolution == "cleared");
    CHECK(judgement.resolve[0].resolved_at == At(20min));
}

TEST_CASE("A deleted deal resolves its open violations as deal_deleted, even of a rule now off") {
    config::TenantConfig tenant = Tenant();
    const DealRecord record{.violations = {Stored(JudgeAt(Deal(), {}, tenant, At(16min)), 7)}};
    tenant.rules.deal_without_task.common.enabled = false;
    domain::DealSnapshot deleted = Deal();
    deleted.deal.deleted = true;
    const Judgement judgement = JudgeAt(deleted, record, tenant, At(1h));
    REQUIRE(judgement.resolve.size() == 1);
    CHECK(judgement.resolve[0].resolution == "deal_deleted");
}

TEST_CASE("A rule switched off keeps its open violations as they were") {
    config::TenantConfig tenant = Tenant();
    const DealRecord record{.violations = {Stored(JudgeAt(Deal(), {}, tenant, At(16min)), 7)}};
    tenant.rules.deal_without_task.common.enabled = false;
    domain::DealSnapshot planned = Deal();
    planned.tasks.push_back(Task("t1", At(20min)));
    const Judgement judgement = JudgeAt(planned, record, tenant, At(20min));
    CHECK(judgement.resolve.empty());
    CHECK(judgement.open.empty());
}

TEST_CASE("An acknowledged violation is not opened again while its finding holds") {
    const config::TenantConfig tenant = Tenant();
    storage::Violation acknowledged = Stored(JudgeAt(Deal(), {}, tenant, At(16min)), 7);
    acknowledged.resolved_at = At(30min);
    acknowledged.resolution = "acknowledged";
    const Judgement judgement = JudgeAt(Deal(), {.violations = {acknowledged}}, tenant, At(1h));
    CHECK(judgement.open.empty());
    CHECK(judgement.resolve.empty());
}

TEST_CASE("A violation resolved otherwise opens again when its finding holds again") {
    const config::TenantConfig tenant = Tenant();
    storage::Violation cleared = Stored(JudgeAt(Deal(), {}, tenant, At(16min)), 7);
    cleared.resolved_at = At(30min);
    cleared.resolution = "corrected";
    const Judgement judgement = JudgeAt(Deal(), {.violations = {cleared}}, tenant, At(1h));
    CHECK(judgement.open.size() == 1);
}

TEST_CASE("No second task while one of funnelguard's is on its way or open on the deal") {
    const config::TenantConfig tenant = Tenant();
    const Judgement on_its_way =
        JudgeAt(Deal(), {.violations = {}, .task_on_its_way = true}, tenant, At(16min));
    REQUIRE(on_its_way.open.size() == 1);
    REQUIRE(on_its_way.open[0].actions.size() == 1);
    CHECK(on_its_way.open[0].actions[0].kind() == ActionKind::kNote);

    // funnelguard's own task, created within task_due (24h), blocks another one too.
    domain::DealSnapshot own_recent = Deal();
    domain::Task own = Task("t9", At(10min), /*own=*/true);
    own.done = true;
    own.closed_at = At(12min);
    own_recent.tasks.push_back(own);
    // (The grace counts from when that task was closed.)
    const Judgement recent = JudgeAt(own_recent, {}, tenant, At(40min));
    REQUIRE(recent.open.size() == 1);
    for (const PlannedAction& action : recent.open[0].actions) {
        CHECK(action.kind() != ActionKind::kTask);
    }
}

TEST_CASE(
    "notify goes to each chat channel of the tenant, with its own key, and nowhere without one") {
    config::TenantConfig tenant = Tenant();
    tenant.rules.deal_without_task.common.actions = {config::ActionKind::kNote,
                                                     config::ActionKind::kNotify};
    // No chat: the note alone (config check warns about the notify).
    const Judgement no_chat = JudgeAt(Deal(), {}, tenant, At(16min));
    REQUIRE(no_chat.open.size() == 1);
    REQUIRE(no_chat.open[0].actions.size() == 1);
    CHECK(no_chat.open[0].actions[0].kind() == ActionKind::kNote);

    tenant.chat_channels["telegram"] = std::make_shared<config::ChannelSettings>();
    tenant.chat_channels["slack"] = std::make_shared<config::ChannelSettings>();
    // A configured channel without a sink (its notifier failed to start) gets nothing either.
    const Judgement judgement = JudgeAt(Deal(), {}, tenant, At(16min), {"crm", "telegram"});
    REQUIRE(judgement.open.size() == 1);
    const auto& actions = judgement.open[0].actions;
    REQUIRE(actions.size() == 2);
    CHECK(actions[0].kind() == ActionKind::kNote);
    CHECK(actions[0].channel == "crm");
    PlannedAction message = actions[1];
    CHECK(message.kind() == ActionKind::kNotify);
    CHECK(message.channel == "telegram");
    REQUIRE(message.body.message() != nullptr);
    CHECK(message.body.message()->to == "u7");
    CHECK(message.body.text == judgement.open[0].violation.message);
    BindAction(message, Stored(judgement, 5));
    CHECK(message.body.idempotency_key == "acme:v5:notify:telegram");

    // A receiver that takes messages itself (the generic actions_url) gets them on the CRM
    // channel, under the key earlier builds used.
    tenant.chat_channels.clear();
    tenant.crm_delivers_messages = true;
    const Judgement generic = JudgeAt(Deal(), {}, tenant, At(16min));
    REQUIRE(generic.open.size() == 1);
    REQUIRE(generic.open[0].actions.size() == 2);
    PlannedAction to_crm = generic.open[0].actions[1];
    CHECK(to_crm.channel == "crm");
    BindAction(to_crm, Stored(generic, 5));
    CHECK(to_crm.body.idempotency_key == "acme:v5:notify");
}

}  // namespace judge_test_file
}  // namespace fg::engine
