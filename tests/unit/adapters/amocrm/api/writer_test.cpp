#include "adapters/amocrm/api/writer.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>

#include "adapters/amocrm/api/connector.hpp"
#include "fake_amo.hpp"

namespace fg::adapters::amocrm {
namespace writer_test_file {

using outbox::Action;
using outbox::DeliveryStatus;
using testing::FakeAmo;
using testing::ListBody;
using testing::Reply;
using Json = nlohmann::json;

constexpr std::int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

outbox::ViolationRef Violation() {
    return {.id = 12, .rule = "deal_without_task", .opened_at = FromEpoch(kNow)};
}

outbox::ActionBody Body(outbox::ActionKind kind, const std::string& deal, std::string text,
                        const std::string& key) {
    return {.kind = kind,
            .tenant = "acme",
            .deal = deal,
            .idempotency_key = key,
            .violation = Violation(),
            .text = std::move(text)};
}

Action NoteAction(const std::string& text, int attempt = 1, const std::string& deal = "101") {
    return {.body = Body(outbox::ActionKind::kNote, deal, text, "acme:v12:note"),
            .attempt = attempt};
}

Action TaskAction(int n, int attempt = 1) {
    outbox::ActionBody body = Body(outbox::ActionKind::kTask, std::to_string(1000 + n),
                                   "Запланируйте следующий шаг #" + std::to_string(n),
                                   "acme:v" + std::to_string(n) + ":task");
    body.detail = outbox::TaskBody{.responsible = "321123",
                                   .due = *ParseIso8601("2026-01-01T04:00:00+03:00")};
    return {.body = std::move(body), .attempt = attempt};
}

Action RevertAction(const std::string& to, int attempt = 1) {
    outbox::ActionBody body =
        Body(outbox::ActionKind::kRevert, "101", "Сделка перепрыгнула этап", "acme:v12:revert");
    body.detail = outbox::RevertBody{.pipeline = "3177727", .from = "Принимают решение", .to = to};
    return {.body = std::move(body), .attempt = attempt};
}

struct Fixture {
    ManualClock clock{FromEpoch(kNow)};
    FakeAmo fake;
    std::shared_ptr<CatalogCache> cache = std::make_shared<CatalogCache>();
    std::unique_ptr<AmoConnector> connector;

    explicit Fixture(FakeAmo::Handler handler, Duration read_timeout = Duration{5})
        : fake(std::move(handler)) {
        ClientOptions options = testing::TestOptions(fake, nullptr, &clock);
        options.read_timeout = read_timeout;
        connector = std::make_unique<AmoConnector>(options, cache);
    }
    outbox::ActionSink& sink() { return connector->Sink(); }
};

TEST_CASE("A note is posted as a common note of the lead") {
    Fixture f([](const httplib::Request&, httplib::Response& response) {
        Reply(response, ListBody("notes", {{{"id", 1}, {"entity_id", 101}}}));
    });
    const auto result = f.sink().Deliver(NoteAction("Нет задачи по сделке"));
    CHECK(result.status == DeliveryStatus::kDelivered);
    const auto posts = f.fake.Requests("POST", "/api/v4/leads/notes");
    REQUIRE(posts.size() == 1);
    CHECK(posts[0].content_type == "application/json");
    REQUIRE(posts[0].Json().is_array());
    REQUIRE(posts[0].Json().size() == 1);
    CHECK(posts[0].Json()[0]["params"]["text"] == "Нет задачи по сделке");
    CHECK(posts[0].authorization == std::string("Bearer ") + testing::kToken);
    CHECK(posts[0].Json() == Json::array({{{"entity_id", 101},
                                           {"note_type", "common"},
                                           {"params", {{"text", "Нет задачи по сделке"}}}}}));
}

TEST_CASE("Write answers are classified like the generic sender") {
    int status = 500;
    std::string retry_after;
    std::string body = R"({"title":"ErrInternalServer"})";
    DeliveryStatus expected = DeliveryStatus::kRetry;
    SUBCASE("429 with Retry-After") {
        status = 429;
        retry_after = "30";
        body = "<html>429</html>";
    }
    SUBCASE("429 with the documented JSON") {
        status = 429;
        body = R"({"title":"Too Many Requests","status":429,"retry_after":300})";
    }
    SUBCASE("5xx") {}
    SUBCASE("400 validation") {
        status = 400;
        body = R"({"title":"Bad Request","detail":"Request validation failed"})";
        expected = DeliveryStatus::kRejected;
    }
    Fixture f([&](const httplib::Request&, httplib::Response& response) {
        response.status = status;
        if (!retry_after.empty()) {
            response.set_header("Retry-After", retry_after);
        }
        response.set_content(body, "application/problem+json");
    });
    const auto result = f.sink().Deliver(NoteAction("Текст"));
    CHECK(result.status == expected);
    CHECK(f.fake.Requests().size() == 1);  // writes are never retried inside a call
    CHECK(result.error.find("HTTP " + std::to_string(status)) != std::string::npos);
    if (status == 429) {
        REQUIRE(result.retry_after);
        CHECK(*result.retry_after == Duration{retry_after.empty() ? 300 : 30});
    }
    // Only a 429 says amoCRM did nothing; a 5xx may have landed.
    CHECK(result.not_sent == (status == 429));
    CHECK(result.error.find(testing::kToken) == std::string::npos);
}

TEST_CASE("Chat messages an earlier build queued for the CRM are rejected without a request") {
    Fixture f({});
    for (const auto kind : {outbox::ActionKind::kNotify, outbox::ActionKind::kEscalate}) {
        outbox::ActionBody body = Body(kind, "101", "Нет задачи", "acme:v12:notify");
        body.detail = outbox::MessageBody{.to = "321123"};
        const auto result = f.sink().Deliver({.body = std::move(body)});
        CHECK(result.status == DeliveryStatus::kRejected);
        CHECK(result.error.find("chat messages go to a chat") != std::string::npos);
    }
    CHECK(f.fake.Requests().empty());
}

TEST_CASE("Tasks go 50 to a request, results mapped back by request_id") {
    std::atomic<int> posts{0};
    Fixture f([&posts](const httplib::Request& request, httplib::Response& response) {
        ++posts;
        const Json body = Json::parse(request.body);
        Json created = Json::array();
        // Answer in reverse order, and leave one task unconfirmed.
        for (auto it = body.rbegin(); it != body.rend(); ++it) {
            if ((*it)["request_id"] == "7") {
                continue;
            }
            created.push_back({{"id", 90000 + std::stoi((*it)["request_id"].get<std::string>())},
                               {"request_id", (*it)["request_id"]}});
        }
        Reply(response, ListBody("tasks", created));
    });
    CHECK(f.sink().MaxBatch(outbox::ActionKind::kTask) == 50);
    CHECK(f.sink().MaxBatch(outbox::ActionKind::kNote) == 1);
    std::vector<Action> actions;
    for (int i = 0; i < 60; ++i) {
        actions.push_back(TaskAction(i));
    }
    const auto results = f.sink().DeliverBatch(actions);
    REQUIRE(results.size() == 60);
    const auto sent = f.fake.Requests("POST", "/api/v4/tasks");
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].Json().size() == 50);
    CHECK(sent[1].Json().size() == 10);
    const Json first = sent[0].Json()[0];
    CHECK(first["text"] == "Запланируйте следующий шаг #0");
    CHECK(first["complete_till"] == kNow + 3600);  // 04:00+03:00 is 01:00Z
    CHECK(first["entity_type"] == "leads");
    CHECK(first["entity_id"] == 1000);
    CHECK(first["responsible_user_id"] == 321123);
    CHECK(first["task_type_id"] == 1);
    CHECK(first["request_id"] == "0");
    for (int i = 0; i < 60; ++i) {
        CAPTURE(i);
        CHECK(results[i].status == (i == 7 ? DeliveryStatus::kRetry : DeliveryStatus::kDelivered));
    }
}

TEST_CASE("A task batch refused for one invalid task rejects that one and retries the rest") {
    Fixture f([](const httplib::Request&, httplib::Response& response) {
        Reply(response,
              {{"validation-errors",
                {{{"request_id", "1"},
                  {"errors",
                   {{{"code", "NotSupportedChoice"},
                     {"path", "responsible_user_id"},
                     {"detail", "The value you selected is not a valid choice."}}}}}}},
               {"title", "Bad Request"},
               {"status", 400},
               {"detail", "Request validation failed"}},
              400);
    });
    const auto results = f.sink().DeliverBatch({TaskAction(0), TaskAction(1), TaskAction(2)});
    REQUIRE(results.size() == 3);
    CHECK(results[0].status == DeliveryStatus::kRetry);
    CHECK(results[1].status == DeliveryStatus::kRejected);
    CHECK(results[1].error.find("NotSupportedChoice") != std::string::npos);
    CHECK(results[2].status == DeliveryStatus::kRetry);
}

// A CRM that stores notes, and whose first POST answer is lost (after storing the note it stalls
// until Release(), which the test calls once the client's read timeout has ended the call).
struct NoteStore {
    std::mutex mutex;
    std::vector<Json> notes;
    std::atomic<int> posts{0};
    bool stall_first = true;
    bool store_first = true;
    std::condition_variable released_changed;
    bool released = false;

    void Release() {
        {
            std::lock_guard lock(mutex);
            released = true;
        }
        released_changed.notify_all();
    }
};

FakeAmo::Handler NoteCrm(NoteStore& store) {
    return [&store](const httplib::Request& request, httplib::Response& response) {
        if (request.method == "POST" && request.path == "/api/v4/leads/notes") {
            const int n = ++store.posts;
            const Json item = Json::parse(request.body)[0];
            if (n > 1 || store.store_first) {
                std::lock_guard lock(store.mutex);
                store.notes.push_back({{"id", 5000 + n},
                                       {"entity_id", item["entity_id"]},
                                       {"note_type", "common"},
                                       {"created_at", kNow + 1},
                                       {"params", item["params"]}});
            }
            if (n == 1 && store.stall_first) {
                std::unique_lock lock(store.mutex);
                // Bounded, so that a test failing before Release() still ends.
                store.released_changed.wait_for(lock, std::chrono::seconds{30},
                                                [&store] { return store.released; });
            }
            Reply(response, ListBody("notes", {{{"id", 5000 + n}}}));
            return;
        }
        if (request.method == "GET" && request.path == "/api/v4/leads/101/notes") {
            std::lock_guard lock(store.mutex);
            Json notes = store.notes;
            // Someone else's note with the same words, written before the violation opened.
            notes.push_back({{"id", 1},
                             {"entity_id", 101},
                             {"note_type", "common"},
                             {"created_at", kNow - 86400},
                             {"params", {{"text", "Старый текст"}}}});
            Reply(response, ListBody("notes", notes));
            return;
        }
        response.status = 404;
    };
}

TEST_CASE("An ambiguous note failure is checked before the retry: never posted twice") {
    NoteStore store;
    Fixture f(NoteCrm(store), /*read_timeout=*/Duration{1});
    const auto first = f.sink().Deliver(NoteAction("Нет задачи по сделке"));
    CHECK(first.status == DeliveryStatus::kRetry);
    CHECK(first.error.find("transport error") != std::string::npos);
    CHECK(store.posts == 1);
    store.Release();  // the answer comes too late for anyone

    // The outbox retries later, maybe from another process: attempt 2 looks first.
    const auto second = f.sink().Deliver(NoteAction("Нет задачи по сделке", 2));
    CHECK(second.status == DeliveryStatus::kDelivered);
    CHECK(store.posts == 1);
    CHECK(f.fake.Count("GET", "/api/v4/leads/101/notes") == 1);
    std::lock_guard lock(store.mutex);
    CHECK(store.notes.size() == 1);
}

TEST_CASE("A retry after a 429 posts without checking: the refused attempt cannot have landed") {
    NoteStore store;
    store.stall_first = false;
    Fixture f(NoteCrm(store));
    Action retry = NoteAction("Нет задачи по сделке", 2);
    retry.previous_not_sent = true;
    CHECK(f.sink().Deliver(retry).status == DeliveryStatus::kDelivered);
    CHECK(f.fake.Count("GET", "/api/v4/leads/101/notes") == 0);
    CHECK(store.posts == 1);
}

TEST_CASE("A retried note that never landed is posted once more") {
    NoteStore store;
    store.stall_first = false;
    Fixture f(NoteCrm(store));
    // Only someone's older note with the same text exists: it predates the violation.
    const auto retried = f.sink().Deliver(NoteAction("Старый текст", 3));
    CHECK(retried.status == DeliveryStatus::kDelivered);
    CHECK(f.fake.Count("GET", "/api/v4/leads/101/notes") == 1);
    CHECK(store.posts == 1);
}

TEST_CASE("A retried task already in the CRM is not posted again") {
    Fixture f([](const httplib::Request& request, httplib::Response& response) {
        if (request.method == "GET" && request.path == "/api/v4/tasks") {
            Reply(response, ListBody("tasks", {{{"id", 1},
                                                {"entity_type", "leads"},
                                                {"entity_id", 1001},
                                                {"created_at", kNow + 2},
                                                {"text", "Запланируйте следующий шаг #1"}}}));
            return;
        }
        const Json body = Json::parse(request.body);
        Json created = Json::array();
        for (const Json& item : body) {
            created.push_back({{"id", 7}, {"request_id", item["request_id"]}});
        }
        Reply(response, ListBody("tasks", created));
    });
    const auto results = f.sink().DeliverBatch({TaskAction(1, 2), TaskAction(2, 2)});
    REQUIRE(results.size() == 2);
    CHECK(results[0].status == DeliveryStatus::kDelivered);
    CHECK(results[1].status == DeliveryStatus::kDelivered);
    const auto checks = f.fake.Requests("GET", "/api/v4/tasks");
    REQUIRE(checks.size() == 2);
    CHECK(checks[0].Param("filter[entity_type]") == "leads");
    CHECK(checks[0].Param("filter[entity_id]") == "1001");
    const auto posts = f.fake.Requests("POST", "/api/v4/tasks");
    REQUIRE(posts.size() == 1);
    REQUIRE(posts[0].Json().size() == 1);  // only #2 was missing
    CHECK(posts[0].Json()[0]["entity_id"] == 1002);
}

FakeAmo::Handler RevertCrm(std::atomic<int>& pipelines_reads, bool knows_new_stage,
                           std::int64_t lead_status = 32392165) {
    return [&pipelines_reads, knows_new_stage, lead_status](const httplib::Request& request,
                                                            httplib::Response& response) {
        if (request.path == "/api/v4/leads/pipelines") {
            Json body = testing::PipelinesBody();
            if (knows_new_stage && pipelines_reads > 0) {
                body["_embedded"]["pipelines"][0]["_embedded"]["statuses"].push_back(
                    {{"id", 32392170}, {"name", "Новый этап"}, {"sort", 25}, {"type", 0}});
            }
            ++pipelines_reads;
            Reply(response, body);
        } else if (request.path == "/api/v4/leads/custom_fields" ||
                   request.path == "/api/v4/users") {
            response.status = 204;
        } else if (request.method == "GET" && request.path == "/api/v4/leads/101") {
            Reply(response, {{"id", 101}, {"pipeline_id", 3177727}, {"status_id", lead_status}});
        } else if (request.method == "PATCH" && request.path == "/api/v4/leads") {
            Reply(response, ListBody("leads", {{{"id", 101}}}));
        } else {
            response.status = 404;
        }
    };
}

TEST_CASE("A revert moves the lead to the status named by the stage") {
    std::atomic<int> reads{0};
    Fixture f(RevertCrm(reads, false));
    REQUIRE(f.connector->FetchDirectory());
    const auto result = f.sink().Deliver(RevertAction("Первичный контакт"));
    CHECK(result.status == DeliveryStatus::kDelivered);
    const auto patches = f.fake.Requests("PATCH", "/api/v4/leads");
    REQUIRE(patches.size() == 1);
    REQUIRE(patches[0].Json().is_array());
    CHECK(patches[0].Json()[0]["status_id"] == 32392159);
    CHECK(patches[0].Json() ==
          Json::array({{{"id", 101}, {"pipeline_id", 3177727}, {"status_id", 32392159}}}));
    CHECK(reads == 1);  // known stage: no refresh
}

TEST_CASE("A revert to a stage the catalog does not know refreshes it once") {
    std::atomic<int> reads{0};
    SUBCASE("the stage was added since") {
        Fixture f(RevertCrm(reads, true));
        REQUIRE(f.connector->FetchDirectory());
        const auto result = f.sink().Deliver(RevertAction("Новый этап"));
        CHECK(result.status == DeliveryStatus::kDelivered);
        CHECK(reads == 2);
        const auto patches = f.fake.Requests("PATCH", "/api/v4/leads");
        REQUIRE(patches.size() == 1);
        CHECK(patches[0].Json()[0]["status_id"] == 32392170);
    }
    SUBCASE("the stage does not exist") {
        Fixture f(RevertCrm(reads, false));
        REQUIRE(f.connector->FetchDirectory());
        const auto result = f.sink().Deliver(RevertAction("Нет такого"));
        CHECK(result.status == DeliveryStatus::kRejected);
        CHECK(result.error.find("Нет такого") != std::string::npos);
        CHECK(reads == 2);
        CHECK(f.fake.Count("PATCH", "/api/v4/leads") == 0);
    }
}

TEST_CASE("A retried revert checks where the lead is first") {
    std::atomic<int> reads{0};
    SUBCASE("already there") {
        Fixture f(RevertCrm(reads, false, /*lead_status=*/32392159));
        REQUIRE(f.connector->FetchDirectory());
        const auto result = f.sink().Deliver(RevertAction("Первичный контакт", 2));
        CHECK(result.status == DeliveryStatus::kDelivered);
        CHECK(f.fake.Count("GET", "/api/v4/leads/101") == 1);
        CHECK(f.fake.Count("PATCH", "/api/v4/leads") == 0);
    }
    SUBCASE("not there yet") {
        Fixture f(RevertCrm(reads, false));
        REQUIRE(f.connector->FetchDirectory());
        const auto result = f.sink().Deliver(RevertAction("Первичный контакт", 2));
        CHECK(result.status == DeliveryStatus::kDelivered);
        CHECK(f.fake.Count("PATCH", "/api/v4/leads") == 1);
    }
}

TEST_CASE("Actions amoCRM cannot take are rejected without a request") {
    Fixture f({});
    CHECK(f.sink().Deliver(NoteAction("x", 1, "not-a-lead")).status == DeliveryStatus::kRejected);
    CHECK(f.sink().Deliver(NoteAction("")).status == DeliveryStatus::kRejected);  // no text
    Action task_without_detail = TaskAction(1);
    task_without_detail.body.detail = outbox::NoteBody{};
    CHECK(f.sink().Deliver(task_without_detail).status == DeliveryStatus::kRejected);
    Action revert_to_nowhere = RevertAction("");
    CHECK(f.sink().Deliver(revert_to_nowhere).status == DeliveryStatus::kRejected);
    CHECK(f.fake.Requests().empty());
}

TEST_CASE("A blocked account makes writes retry later, without a request") {
    Fixture f([](const httplib::Request&, httplib::Response& response) {
        response.status = 403;
        response.set_content("<html>403 Forbidden nginx</html>", "text/html");
    });
    CHECK(f.sink().Deliver(NoteAction("a")).status == DeliveryStatus::kRetry);
    CHECK_FALSE(f.connector->Blocked().empty());
    const auto second = f.sink().Deliver(NoteAction("b"));
    CHECK(second.status == DeliveryStatus::kRetry);
    CHECK(second.error.find("blocked") != std::string::npos);
    CHECK(f.fake.Requests().size() == 1);
}

}  // namespace writer_test_file
}  // namespace fg::adapters::amocrm
