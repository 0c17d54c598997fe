// Contract of funnelguard's own writes: a note, a task and a revert the adapter's sink wrote come
// back through the webhook its connector registered (a thin one completed by its fetcher), and
// the mirror takes each for its own (so that it never raises a violation or triggers another
// action, DESIGN.md §1).
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "src/storage/database.hpp"
#include "src/storage/mirror.hpp"
#include "src/storage/own_writes.hpp"
#include "src/storage/snapshot.hpp"
#include "tests/contract/harness.hpp"
#include "tests/support/fake_http_server.hpp"

namespace fg::contract {
namespace {

// What the engine records when it plans an action (src/engine/judge.cpp, EchoOf): the kind of
// echo and what identifies it in the mirror.
std::pair<storage::OwnWriteKind, std::string> EchoFingerprint(const ActionSpec& spec) {
    switch (spec.kind) {
        case Write::kNote:
            return {storage::OwnWriteKind::kNote, spec.text};
        case Write::kTask:
            return {storage::OwnWriteKind::kTask, spec.text};
        case Write::kRevert:
            break;
    }
    return {storage::OwnWriteKind::kRevert, spec.to};
}

std::string PathOf(const std::string& url) {
    const std::size_t scheme = url.find("://");
    const std::size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    return path == std::string::npos ? "/" : url.substr(path);
}

TEST_CASE("Contract: the adapter's own write comes back through its webhook as its own") {
    ForEachFixture([](const Fixture& fixture) {
        const std::unique_ptr<EchoCrm> crm = fixture.StartEchoCrm();
        if (!crm) {
            REQUIRE_FALSE(fixture.WhyNoEcho().empty());
            MESSAGE(fixture.adapter().Name(), " has no echo to check: ", fixture.WhyNoEcho());
            return;
        }
        Bound bound(fixture, crm->Url());
        crm::Connector* connector = bound.connector();
        REQUIRE_MESSAGE(connector != nullptr, "an echoing CRM is reached through a connector");
        const Result<crm::Directory> directory = connector->FetchDirectory();
        REQUIRE_MESSAGE(directory, (directory ? "" : directory.error().message));

        // funnelguard's webhook endpoint, as the adapter registers it with its CRM: each webhook
        // decoded as it comes, and its thin elements fetched then (the fetch stage does so at
        // once; the CRM's state moves on with the next write). Problems are kept for the test's
        // own thread.
        const std::unique_ptr<crm::WebhookDecoder> decoder = bound.instance().MakeDecoder();
        const std::unique_ptr<crm::Fetcher> fetcher = bound.instance().MakeFetcher(bound.tenant());
        std::mutex mutex;
        std::vector<domain::Event> received;
        std::vector<std::string> problems;
        testing::FakeHttpServer hooks;
        hooks.ServeAll([&](const httplib::Request& request, httplib::Response& response) {
            response.status = 200;
            const Result<crm::Decoded> decoded =
                decoder->DecodeElements({.tenant = kTenant,
                                         .content_type = request.get_header_value("Content-Type"),
                                         .body = request.body,
                                         .received_at = ContractStart()});
            std::vector<domain::Event> events;
            std::vector<std::string> failed;
            if (!decoded) {
                failed.push_back(decoded.error().message);
            } else {
                events = decoded->events;
                failed = decoded->failed;
                if (!decoded->fetch.empty() && fetcher == nullptr) {
                    failed.emplace_back("thin elements, and no fetcher");
                } else if (!decoded->fetch.empty()) {
                    for (const crm::Fetched& one : fetcher->Fetch(decoded->fetch)) {
                        if (one.outcome != crm::Fetched::Outcome::kEvents) {
                            failed.push_back("fetch: " + one.reason);
                        }
                        events.insert(events.end(), one.events.begin(), one.events.end());
                    }
                }
            }
            const std::lock_guard lock(mutex);
            received.insert(received.end(), events.begin(), events.end());
            problems.insert(problems.end(), failed.begin(), failed.end());
        });
        hooks.Start();
        const std::string hook_url = crm::HookUrl(fixture.adapter(), hooks.Url(), bound.tenant());
        const Result<crm::Connection> connected = connector->Connect(hook_url);
        REQUIRE_MESSAGE(connected, (connected ? "" : connected.error().message));

        const EchoDeal deal = crm->CreateDeal();
        crm->WaitWebhooksSent();
        const std::size_t before = hooks.Count();
        REQUIRE_MESSAGE(before > 0, "the manager's new deal came as a webhook");

        const std::vector<ActionSpec> writes = {
            {.kind = Write::kNote,
             .deal = deal.id,
             .text = "Этап пропущен: верните сделку (contract note)",
             .responsible = deal.responsible},
            {.kind = Write::kTask,
             .deal = deal.id,
             .text = "Запланируйте следующий шаг (contract task)",
             .responsible = deal.responsible,
             .due = ContractStart() + std::chrono::hours{24}},
            {.kind = Write::kRevert,
             .deal = deal.id,
             .text = "Сделка возвращена на этап (contract revert)",
             .responsible = deal.responsible,
             .pipeline = deal.pipeline,
             .from = deal.stage,
             .to = deal.earlier_stage},
        };
        auto db = storage::OpenDatabase(bound.db_path());
        REQUIRE_MESSAGE(db, (db ? "" : db.error().message));
        outbox::ActionSink* sink = bound.sink();
        REQUIRE(sink != nullptr);
        for (const ActionSpec& write : writes) {
            // Recorded when planned, before the write, as the engine does.
            const auto [kind, fingerprint] = EchoFingerprint(write);
            storage::RecordOwnWrite(**db, kTenant, deal.id, kind, fingerprint,
                                    ContractStart() + std::chrono::hours{1});
            const outbox::DeliveryResult result = sink->Deliver(MakeAction(write));
            REQUIRE_MESSAGE(result.status == outbox::DeliveryStatus::kDelivered, result.error);
        }
        crm->WaitWebhooksSent();

        // Every webhook, the manager's and the echoes, into the mirror in the order they came.
        REQUIRE(hooks.WaitForRequests(before + 1));
        hooks.Stop();  // every handler has returned
        for (const testing::RecordedRequest& request : hooks.Requests()) {
            CHECK(request.path == PathOf(hook_url));
        }
        CHECK(hooks.Count() > before);
        for (const std::string& problem : problems) {
            FAIL_CHECK(problem);
        }
        {
            storage::WriteTransaction transaction(**db);
            for (const domain::Event& event : received) {
                storage::ApplyEvent(**db, kTenant, event);
            }
            transaction.Commit();
        }

        const std::optional<domain::DealSnapshot> snapshot =
            storage::LoadSnapshot(**db, kTenant, deal.id);
        REQUIRE(snapshot);
        int notes = 0;
        for (const domain::Note& note : snapshot->notes) {
            if (note.text == writes[0].text) {
                ++notes;
                CHECK(note.own);
            }
        }
        CHECK(notes == 1);
        int tasks = 0;
        for (const domain::Task& task : snapshot->tasks) {
            if (task.text == writes[1].text) {
                ++tasks;
                CHECK(task.own);
                CHECK(task.IsOpen());
            }
        }
        CHECK(tasks == 1);
        CHECK(snapshot->deal.stage == deal.earlier_stage);
        REQUIRE_FALSE(snapshot->history.empty());
        CHECK_FALSE(snapshot->history.front().own);  // the manager's: where the deal was made
        CHECK(snapshot->history.front().stage == deal.stage);
        CHECK(snapshot->history.back().stage == deal.earlier_stage);
        CHECK(snapshot->history.back().own);
    });
}

}  // namespace
}  // namespace fg::contract
