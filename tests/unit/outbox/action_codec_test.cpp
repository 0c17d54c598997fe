// The one codec of actions: what the outbox stores and the generic adapter posts.
#include "src/outbox/action_codec.hpp"

#include <string>

#include <doctest/doctest.h>

namespace fg::outbox {
namespace {

using Json = nlohmann::json;

const Timestamp kOpened = *ParseIso8601("2026-03-02T10:15:00Z");

ActionBody Bound(ActionKind kind) {
    return {.kind = kind,
            .tenant = "acme",
            .deal = "101",
            .deal_title = "ООО «Ромашка»",
            .responsible = "u7",
            .idempotency_key = "acme:v42:" + std::string(domain::ActionKindName(kind)),
            .violation = {.id = 42,
                          .rule = "stage_order",
                          .opened_at = kOpened,
                          .details = {{"skipped", {"КП отправлено"}}},
                          .message = "Сделка перескочила этап"},
            .text = "Сделка перескочила этап «КП отправлено»"};
}

void CheckSame(const ActionBody& a, const ActionBody& b) {
    CHECK(a.kind == b.kind);
    CHECK(a.tenant == b.tenant);
    CHECK(a.deal == b.deal);
    CHECK(a.deal_title == b.deal_title);
    CHECK(a.responsible == b.responsible);
    CHECK(a.idempotency_key == b.idempotency_key);
    CHECK(a.violation.id == b.violation.id);
    CHECK(a.violation.rule == b.violation.rule);
    CHECK(a.violation.opened_at == b.violation.opened_at);
    CHECK(a.violation.details == b.violation.details);
    CHECK(a.violation.message == b.violation.message);
    CHECK(a.text == b.text);
    CHECK(a.detail.index() == b.detail.index());
}

TEST_CASE("Every kind survives encoding and decoding") {
    ActionBody note = Bound(ActionKind::kNote);
    ActionBody task = Bound(ActionKind::kTask);
    task.detail = TaskBody{.responsible = "u7", .due = kOpened + std::chrono::hours{24}};
    ActionBody revert = Bound(ActionKind::kRevert);
    revert.detail = RevertBody{.pipeline = "main", .from = "Счёт выставлен", .to = "Квалификация"};
    ActionBody notify = Bound(ActionKind::kNotify);
    notify.detail = MessageBody{.to = "u7"};
    ActionBody escalate = Bound(ActionKind::kEscalate);
    escalate.detail = MessageBody{.to = "head_of_sales"};
    for (const ActionBody& body : {note, task, revert, notify, escalate}) {
        CAPTURE(domain::ActionKindName(body.kind));
        const auto decoded = DecodeAction(EncodeAction(body));
        REQUIRE(decoded);
        CheckSame(*decoded, body);
    }
    const auto task_back = DecodeAction(EncodeAction(task));
    REQUIRE(task_back);
    REQUIRE(task_back->task() != nullptr);
    CHECK(task_back->task()->due == kOpened + std::chrono::hours{24});
    CHECK(task_back->task()->responsible == "u7");
    const auto revert_back = DecodeAction(EncodeAction(revert));
    REQUIRE(revert_back);
    REQUIRE(revert_back->revert() != nullptr);
    CHECK(revert_back->revert()->to == "Квалификация");
    CHECK(revert_back->revert()->from == "Счёт выставлен");
}

TEST_CASE("The JSON is the document README describes for actions_url receivers") {
    ActionBody task = Bound(ActionKind::kTask);
    task.detail = TaskBody{.responsible = "u7", .due = kOpened + std::chrono::hours{24}};
    const Json json = Json::parse(EncodeAction(task));
    CHECK(json["kind"] == "task");
    CHECK(json["tenant"] == "acme");
    CHECK(json["deal"] == "101");
    CHECK(json["deal_title"] == "ООО «Ромашка»");
    CHECK(json["responsible"] == "u7");
    CHECK(json["idempotency_key"] == "acme:v42:task");
    CHECK(json["text"] == task.text);
    CHECK(json["task"]["text"] == task.text);
    CHECK(json["task"]["responsible"] == "u7");
    CHECK(json["task"]["due"] == "2026-03-03T10:15:00Z");
    CHECK(json["violation"]["id"] == 42);
    CHECK(json["violation"]["rule"] == "stage_order");
    CHECK(json["violation"]["opened_at"] == "2026-03-02T10:15:00Z");
    CHECK(json["violation"]["details"]["skipped"][0] == "КП отправлено");

    ActionBody escalate = Bound(ActionKind::kEscalate);
    escalate.detail = MessageBody{.to = "head_of_sales"};
    CHECK(Json::parse(EncodeAction(escalate))["to"] == "head_of_sales");
    // Not bound to a violation yet: no key, no violation.
    ActionBody unbound = Bound(ActionKind::kNote);
    unbound.idempotency_key.clear();
    const Json plain = Json::parse(EncodeAction(unbound));
    CHECK_FALSE(plain.contains("idempotency_key"));
    CHECK_FALSE(plain.contains("violation"));
}

TEST_CASE("Payloads earlier builds stored decode") {
    // As engine::PlanActions wrote them before actions were typed (key order as nlohmann sorts).
    const std::string stored =
        R"({"deal":"7","deal_title":"Сделка 7","idempotency_key":"acme:v3:revert","kind":"revert",)"
        R"("responsible":"ivanova","revert":{"from":"Оплачено","pipeline":"main","to":"Счёт )"
        R"(выставлен"},"tenant":"acme","text":"Сделка перескочила этап","violation":{"details":)"
        R"({},"id":3,"message":"Сделка перескочила этап","opened_at":"2026-03-02T10:15:00+03:00",)"
        R"("rule":"stage_order"}})";
    const auto body = DecodeAction(stored);
    REQUIRE(body);
    CHECK(body->kind == ActionKind::kRevert);
    CHECK(body->deal == "7");
    REQUIRE(body->revert() != nullptr);
    CHECK(body->revert()->to == "Счёт выставлен");
    CHECK(body->violation.opened_at == *ParseIso8601("2026-03-02T07:15:00Z"));
    const auto notify = DecodeAction(
        R"({"deal":"7","kind":"notify","responsible":"u1","tenant":"acme","text":"t","to":"u1"})");
    REQUIRE(notify);
    REQUIRE(notify->message() != nullptr);
    CHECK(notify->message()->to == "u1");
}

TEST_CASE("A morning summary keeps its person, day and both lists of violations") {
    ActionBody summary{.kind = ActionKind::kSummary,
                       .tenant = "acme",
                       .idempotency_key = "acme:summary:2026-03-02:head1:telegram"};
    const SummaryItem item{.violation_id = 42,
                           .deal = "101",
                           .deal_title = "ООО «Ромашка»",
                           .rule = "stage_order",
                           .responsible = "u7",
                           .opened_at = kOpened,
                           .message = "Сделка перескочила этап"};
    SummaryItem fresh = item;
    fresh.violation_id = 43;
    fresh.rule = "overdue_task";
    summary.detail =
        SummaryBody{.to = "head1", .day = "2026-03-02", .open = {item}, .fresh = {fresh}};
    const auto decoded = DecodeAction(EncodeAction(summary));
    REQUIRE(decoded);
    CHECK(decoded->kind == ActionKind::kSummary);
    CHECK(decoded->idempotency_key == summary.idempotency_key);
    REQUIRE(decoded->summary() != nullptr);
    const SummaryBody& body = *decoded->summary();
    CHECK(body.to == "head1");
    CHECK(body.day == "2026-03-02");
    REQUIRE(body.open.size() == 1);
    CHECK(body.open[0].violation_id == 42);
    CHECK(body.open[0].deal_title == "ООО «Ромашка»");
    CHECK(body.open[0].responsible == "u7");
    CHECK(body.open[0].opened_at == kOpened);
    CHECK(body.open[0].message == "Сделка перескочила этап");
    REQUIRE(body.fresh.size() == 1);
    CHECK(body.fresh[0].violation_id == 43);
    CHECK(body.fresh[0].rule == "overdue_task");

    const auto broken =
        DecodeAction(R"({"kind":"summary","tenant":"a","deal":"","text":"","to":"u1",)"
                     R"("summary":{"day":"2026-03-02","open":[{"violation_id":"x"}]}})");
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message ==
          "action payload: summary.open.violation_id: missing or not an integer");
    CHECK_FALSE(DecodeAction(R"({"kind":"summary","tenant":"a","deal":"","text":"","to":"u1"})"));
}

TEST_CASE("What is not an action is refused with the key at fault") {
    const auto refused = [](const std::string& json) {
        const auto body = DecodeAction(json);
        REQUIRE_FALSE(body);
        CHECK(body.error().code == ErrorCode::kInvalidInput);
        return body.error().message;
    };
    CHECK(refused("{") == "action payload is not a JSON object");
    CHECK(refused("[1]") == "action payload is not a JSON object");
    CHECK(refused(R"({"kind":"poke","tenant":"a","deal":"1","text":"t"})")
              .find("unknown kind \"poke\"") != std::string::npos);
    CHECK(refused(R"({"kind":"note","tenant":"a","text":"t"})") == "action payload: deal: missing");
    CHECK(refused(R"({"kind":"note","tenant":"a","deal":1,"text":"t"})") ==
          "action payload: deal: must be a string");
    CHECK(refused(R"({"kind":"task","tenant":"a","deal":"1","text":"t"})") ==
          "action payload: task: missing or not an object");
    CHECK(refused(R"({"kind":"task","tenant":"a","deal":"1","text":"t","task":{"due":"soon"}})") ==
          "action payload: task.due: not an ISO 8601 time");
    CHECK(refused(R"({"kind":"revert","tenant":"a","deal":"1","text":"t","revert":{"to":"B"}})") ==
          "action payload: revert.pipeline: missing");
    CHECK(refused(R"({"kind":"notify","tenant":"a","deal":"1","text":"t"})") ==
          "action payload: to: missing");
    CHECK(refused(R"({"kind":"note","tenant":"a","deal":"1","text":"t","violation":{"id":"x"}})") ==
          "action payload: violation.id: missing or not an integer");
}

}  // namespace
}  // namespace fg::outbox
