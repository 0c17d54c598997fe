// Storage faults driven through a fault-injecting VFS: a full disk passes once space is freed,
// a failed fsync stops acknowledgements until a restart (reliability.md R5).
#include <cerrno>
#include <memory>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "adapters/generic/decoder.hpp"
#include "src/app/adapters.hpp"
#include "src/common/clock.hpp"
#include "src/engine/engine.hpp"
#include "src/engine/writer.hpp"
#include "src/http/server.hpp"
#include "src/storage/failure.hpp"
#include "src/storage/store.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/storage/fault_vfs.hpp"

namespace {

using fg::engine::StorageStatus;
using fg::storage::FailureKind;
using fg::testing::FaultVfs;
using fg::testing::TempDir;
using State = StorageStatus::State;

std::unique_ptr<fg::storage::Db> Open(const std::string& path) {
    auto db = fg::storage::OpenDatabase(path);
    REQUIRE_MESSAGE(db.has_value(), (db ? "" : db.error().message));
    return std::move(db).value();
}

fg::storage::InboxItem Item(const std::string& key) {
    fg::storage::InboxItem item;
    item.tenant = "acme";
    item.crm = "generic";
    item.dedupe_key = key;
    item.body = fmt::format("{{\"key\":\"{}\"}}", key);
    item.received_at = fg::FromEpoch(1767225600);
    return item;
}

fg::Result<bool> Append(fg::engine::Writer& writer, const std::string& key) {
    return writer.AppendInbox(Item(key)).get();
}

std::string IntegrityCheck(const std::string& path) {
    auto db = Open(path);
    return db->sql().execAndGet("PRAGMA integrity_check").getString();
}

std::vector<std::string> InboxKeys(const std::string& path) {
    auto db = Open(path);
    SQLite::Statement query(db->sql(), "SELECT dedupe_key FROM inbox ORDER BY seq");
    std::vector<std::string> keys;
    while (query.executeStep()) {
        keys.push_back(query.getColumn(0).getString());
    }
    return keys;
}

TEST_CASE("ClassifyFailure: a full disk passes; a failed device, above all fsync, does not") {
    CHECK(fg::storage::ClassifyFailure(SQLITE_FULL, 0).kind == FailureKind::kDiskFull);
    // Growing the -shm file on a full disk is an I/O error carrying ENOSPC.
    CHECK(fg::storage::ClassifyFailure(SQLITE_IOERR_SHMSIZE, ENOSPC).kind ==
          FailureKind::kDiskFull);
    const fg::storage::Failure fsync = fg::storage::ClassifyFailure(SQLITE_IOERR_FSYNC, ENOSPC);
    CHECK(fsync.kind == FailureKind::kIoError);
    CHECK(fsync.reason == "storage I/O error on fsync; restart required");
    CHECK(fg::storage::ClassifyFailure(SQLITE_IOERR_WRITE, EIO).kind == FailureKind::kIoError);
    CHECK(fg::storage::ClassifyFailure(SQLITE_CORRUPT, 0).kind == FailureKind::kCorrupt);
    CHECK(fg::storage::ClassifyFailure(SQLITE_IOERR_NOMEM, 0).kind == FailureKind::kNone);
    CHECK(fg::storage::ClassifyFailure(SQLITE_BUSY, 0).kind == FailureKind::kNone);
    CHECK(fg::storage::ClassifyFailure(SQLITE_CONSTRAINT_UNIQUE, 0).kind == FailureKind::kNone);
}

TEST_CASE(
    "Writer: a full disk refuses webhooks, and the next commit after space is back succeeds") {
    FaultVfs vfs;
    // 0: the commit's first write fails; more: part of the commit reaches the WAL first.
    for (const int writes_left : {0, 1, 2, 3}) {
        CAPTURE(writes_left);
        TempDir dir;
        const std::string path = dir.File("fg.db");
        {
            fg::engine::Writer writer(Open(path));
            writer.Start();
            REQUIRE(Append(writer, "before"));

            vfs.FillDisk(writes_left);
            const fg::Result<bool> refused = Append(writer, "while-full");
            REQUIRE_FALSE(refused);
            CHECK(refused.error().code == fg::ErrorCode::kUnavailable);
            CHECK(refused.error().message == "the disk is full; retry later");
            StorageStatus status = writer.Storage();
            CHECK(status.state == State::kDiskFull);
            CHECK(status.reason == "the disk is full");
            CHECK(status.disk_full_refusals == 1);
            CHECK(writer.Healthy());  // degraded, not failed: no restart is needed

            REQUIRE_FALSE(Append(writer, "still-full"));
            CHECK(writer.Storage().disk_full_refusals == 2);

            vfs.FreeSpace();
            const fg::Result<bool> stored = Append(writer, "after");
            REQUIRE_MESSAGE(stored, (stored ? "" : stored.error().message));
            CHECK(*stored);
            CHECK(writer.Storage().state == State::kOk);
            // The refused webhook was not stored: the CRM's retry stores it now.
            const fg::Result<bool> retried = Append(writer, "while-full");
            REQUIRE(retried);
            CHECK(*retried);
            writer.Stop();
        }
        CHECK(IntegrityCheck(path) == "ok");
        CHECK(InboxKeys(path) == std::vector<std::string>{"before", "after", "while-full"});
    }
}

TEST_CASE("Writer: a job that runs out of space mid-transaction leaves the connection usable") {
    FaultVfs vfs;
    TempDir dir;
    const std::string path = dir.File("fg.db");
    {
        fg::engine::Writer writer(Open(path));
        writer.Start();
        REQUIRE(Append(writer, "before"));
        vfs.FillDisk();
        // A cache of two pages spills to the WAL while the statements run, so a statement (not
        // the COMMIT) fails, half-way through the transaction.
        auto job = writer.Transact([](fg::storage::Db& db) {
            db.sql().exec("PRAGMA cache_size = 2");
            for (int i = 0; i < 200; ++i) {
                fg::storage::SetMeta(db, "acme", fmt::format("k{}", i), std::string(8000, 'x'));
            }
            return 0;
        });
        const fg::Result<int> failed = job.get();
        REQUIRE_FALSE(failed);
        CHECK(writer.Storage().state == State::kDiskFull);

        vfs.FreeSpace();
        writer.Call([](fg::storage::Db& db) { return db.sql().exec("PRAGMA cache_size = -32768"); })
            .get();
        const fg::Result<bool> stored = Append(writer, "after");
        REQUIRE_MESSAGE(stored, (stored ? "" : stored.error().message));
        CHECK(writer.Storage().state == State::kOk);
        writer.Stop();
    }
    CHECK(IntegrityCheck(path) == "ok");
    CHECK(InboxKeys(path) == std::vector<std::string>{"before", "after"});
    auto db = Open(path);
    CHECK_FALSE(fg::storage::GetMeta(*db, "acme", "k0").has_value());
}

TEST_CASE("Writer: a failed fsync refuses every webhook and job until a restart") {
    FaultVfs vfs;
    TempDir dir;
    const std::string path = dir.File("fg.db");
    {
        fg::engine::Writer writer(Open(path));
        writer.Start();
        REQUIRE(Append(writer, "before"));

        vfs.FailFsync();
        const fg::Result<bool> refused = Append(writer, "fsync-failed");
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == fg::ErrorCode::kUnavailable);
        CHECK(refused.error().message == "storage I/O error on fsync; restart required");
        CHECK_FALSE(writer.Healthy());
        const StorageStatus status = writer.Storage();
        CHECK(status.state == State::kFailed);
        CHECK(status.reason == "storage I/O error on fsync; restart required");

        // fsync works again, but what the kernel dropped is unknown: still refused, at once.
        vfs.HealFsync();
        const int writes = vfs.writes();
        const int syncs = vfs.syncs();
        const fg::Result<bool> later = Append(writer, "later");
        REQUIRE_FALSE(later);
        CHECK(later.error().message == "storage I/O error on fsync; restart required");
        auto job = writer.Transact([](fg::storage::Db& db) {
            fg::storage::SetMeta(db, "acme", "k", "v");
            return 0;
        });
        CHECK_FALSE(job.get());
        auto call = writer.Call([](fg::storage::Db&) { return 0; });
        CHECK_THROWS_WITH(call.get(), "storage I/O error on fsync; restart required");
        CHECK(vfs.writes() == writes);
        CHECK(vfs.syncs() == syncs);
        writer.Stop();
    }
    // The restart: a new writer on the same file.
    {
        fg::engine::Writer writer(Open(path));
        writer.Start();
        const fg::Result<bool> stored = Append(writer, "after-restart");
        REQUIRE(stored);
        CHECK(*stored);
        CHECK(writer.Healthy());
        CHECK(writer.Storage().state == State::kOk);
        writer.Stop();
    }
    CHECK(IntegrityCheck(path) == "ok");
    const std::vector<std::string> keys = InboxKeys(path);
    REQUIRE(keys.size() >= 2);
    CHECK(keys.front() == "before");
    CHECK(keys.back() == "after-restart");
    // "fsync-failed" may be there too: its WAL frames were written, only their fsync failed,
    // and WAL recovery finds them. Its sender got 503 and retries; the dedupe key absorbs it.
}

// ---------------------------------------------------------------- over HTTP

std::string EventBody(const std::string& event_id, const std::string& deal) {
    const nlohmann::json event = {{"id", event_id},
                                  {"type", "deal.upserted"},
                                  {"at", "2026-11-02T09:00:00+03:00"},
                                  {"deal",
                                   {{"id", deal},
                                    {"title", "Deal " + deal},
                                    {"pipeline", "main"},
                                    {"stage", "Новая"},
                                    {"responsible", "ivanova"}}}};
    return nlohmann::json{{"events", {event}}}.dump();
}

// The engine and its HTTP server over one database file, as `serve` runs them.
struct Service {
    explicit Service(const std::string& path) : clock(fg::FromEpoch(1793599200)) {
        auto loaded = fg::config::LoadConfigFromString(fmt::format(R"(
[storage]
path = "{}"
[server]
threads = 4
[[tenant]]
id = "acme"
secret = "hook-secret"
mode = "observe"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Успешно"]
  won = ["Успешно"]
)",
                                                                   path),
                                                       "test.toml", fg::app::CrmSchemas(), ".");
        for (const auto& problem : loaded.problems) {
            FAIL(fg::config::FormatProblem(problem));
        }
        config = std::move(loaded.config);
        fg::engine::EngineOptions options;
        options.config = &config;
        options.clock = &clock;
        options.decoders.emplace("generic",
                                 std::make_unique<fg::adapters::generic::GenericDecoder>());
        options.timers = false;
        options.deliver = false;
        engine = std::make_unique<fg::engine::Engine>(std::move(options));
        const fg::Result<void> started = engine->Start();
        REQUIRE_MESSAGE(started, (started ? "" : started.error().message));
        server = std::make_unique<fg::http::Server>(*engine, fg::app::CrmAdapters());
        const fg::Result<int> port = server->Bind("127.0.0.1:0");
        REQUIRE(port);
        server->Start();
        client = std::make_unique<httplib::Client>("127.0.0.1", *port);
    }
    ~Service() {
        server->Stop();
        engine->Stop();
    }

    httplib::Result Post(const std::string& event_id) {
        return client->Post("/hooks/generic/acme", {{"Authorization", "Bearer hook-secret"}},
                            EventBody(event_id, "d-" + event_id), "application/json");
    }
    nlohmann::json Health(int expected_status) {
        auto response = client->Get("/healthz");
        REQUIRE(response);
        CHECK(response->status == expected_status);
        return nlohmann::json::parse(response->body);
    }
    int Ready() {
        auto response = client->Get("/readyz");
        REQUIRE(response);
        return response->status;
    }
    std::string Metrics() {
        auto response = client->Get("/metrics");
        REQUIRE(response);
        return response->body;
    }

    fg::config::AppConfig config{};
    fg::ManualClock clock;
    std::unique_ptr<fg::engine::Engine> engine;
    std::unique_ptr<fg::http::Server> server;
    std::unique_ptr<httplib::Client> client;
};

bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST_CASE("HTTP: a full disk is 503 with Retry-After until space is freed, no restart needed") {
    FaultVfs vfs;
    TempDir dir;
    Service service(dir.File("fg.db"));
    auto ok = service.Post("e1");
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(service.Health(200) == nlohmann::json{{"status", "ok"}});

    vfs.FillDisk();
    auto refused = service.Post("e2");
    REQUIRE(refused);
    CHECK(refused->status == 503);
    CHECK(refused->get_header_value("Retry-After") == "5");
    CHECK(Contains(refused->body, "the disk is full"));
    const nlohmann::json health = service.Health(200);
    CHECK(health["status"] == "degraded");
    CHECK(Contains(health["reason"].get<std::string>(), "disk is full"));
    CHECK(service.Ready() == 503);  // live, but not taking webhooks
    const std::string metrics = service.Metrics();
    CHECK(Contains(metrics, "funnelguard_storage_disk_full 1\n"));
    CHECK(Contains(metrics, "funnelguard_storage_disk_full_refusals_total 1\n"));
    CHECK(Contains(metrics, "funnelguard_storage_failed{reason=\"io_error\"} 0\n"));
    CHECK(Contains(metrics, "funnelguard_up 1\n"));

    vfs.FreeSpace();
    auto stored = service.Post("e2");
    REQUIRE(stored);
    CHECK(stored->status == 200);
    CHECK(service.Health(200) == nlohmann::json{{"status", "ok"}});
    CHECK(service.Ready() == 200);
    CHECK(Contains(service.Metrics(), "funnelguard_storage_disk_full 0\n"));
    // What was stored is processed once the disk has space.
    REQUIRE(service.engine->Drain());
    auto reader = service.engine->OpenReader();
    REQUIRE(reader);
    CHECK(fg::storage::LoadSnapshot(**reader, "acme", "d-e1").has_value());
    CHECK(fg::storage::LoadSnapshot(**reader, "acme", "d-e2").has_value());
}

TEST_CASE("HTTP: a failed fsync is 503 for webhooks and /healthz until a restart") {
    FaultVfs vfs;
    TempDir dir;
    const std::string path = dir.File("fg.db");
    {
        Service service(path);
        auto ok = service.Post("e1");
        REQUIRE(ok);
        CHECK(ok->status == 200);

        vfs.FailFsync();
        auto refused = service.Post("e2");
        REQUIRE(refused);
        CHECK(refused->status == 503);
        CHECK(refused->get_header_value("Retry-After") == "5");
        vfs.HealFsync();
        auto later = service.Post("e3");
        REQUIRE(later);
        CHECK(later->status == 503);
        CHECK(Contains(later->body, "restart required"));
        CHECK(service.Health(503) ==
              nlohmann::json{{"status", "storage failed"},
                             {"reason", "storage I/O error on fsync; restart required"}});
        const std::string metrics = service.Metrics();
        CHECK(Contains(metrics, "funnelguard_storage_failed{reason=\"io_error\"} 1\n"));
        CHECK(Contains(metrics, "funnelguard_up 0\n"));
        CHECK_FALSE(service.engine->Drain());
    }
    {
        Service restarted(path);
        CHECK(restarted.Health(200) == nlohmann::json{{"status", "ok"}});
        auto stored = restarted.Post("e3");
        REQUIRE(stored);
        CHECK(stored->status == 200);
        REQUIRE(restarted.engine->Drain());
    }
    CHECK(IntegrityCheck(path) == "ok");
}

}  // namespace
