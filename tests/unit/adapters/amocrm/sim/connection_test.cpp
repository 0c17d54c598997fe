// Connection-level behaviour: chunked DELETE bodies, 429s under many keep-alive connections, and
// the pool behind them.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/elastic_pool.hpp"
#include "tests/unit/adapters/amocrm/sim/support.hpp"

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;
using testing::GetRequest;
using testing::Quiet;
using testing::RawConnection;

std::string Chunked(const std::string& body, std::size_t piece) {
    std::string out;
    for (std::size_t at = 0; at < body.size(); at += piece) {
        const std::string part = body.substr(at, piece);
        out += fmt::format("{:x}\r\n{}\r\n", part.size(), part);
    }
    return out + "0\r\n\r\n";
}

TEST_CASE("amoCRM simulator reads a chunked DELETE /api/v4/webhooks body") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock));
    REQUIRE(sim.Start());
    const std::string destination = "http://127.0.0.1:1/hooks/amocrm/t/s";
    testing::Subscribe(sim, destination, {"status_lead"});
    testing::Subscribe(sim, "http://127.0.0.1:1/other", {"add_lead"});
    REQUIRE(sim.Webhooks().size() == 2);

    RawConnection connection(sim.port());
    const std::string body = json{{"destination", destination}}.dump();
    const auto reply = connection.Exchange(fmt::format(
        "DELETE /api/v4/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{}",
        sim.Token(), Chunked(body, 7)));
    INFO(reply.head << "\n" << reply.body);
    CHECK(reply.status == 204);
    const auto left = sim.Webhooks();
    REQUIRE(left.size() == 1);
    CHECK(left[0].destination == "http://127.0.0.1:1/other");

    // The chunks were consumed: the connection carries the next request cleanly.
    const auto next = connection.Exchange(GetRequest(sim, "/api/v4/webhooks"));
    CHECK(next.status == 200);
    CHECK(next.body.find("/other") != std::string::npos);
}

TEST_CASE("amoCRM simulator answers 429 at once while many keep-alive connections sit idle") {
    ManualClock clock(testing::Start());
    SimOptions options = Quiet(clock);
    options.threads = 2;
    options.rps = 1;
    options.rate_window = std::chrono::hours{1};  // after the first request, every one is over
    options.html_429_share = 0;
    options.keep_alive_seconds = 600;  // idle connections outlive the test unless it waits
    Simulator sim(options);
    REQUIRE(sim.Start());

    RawConnection first(sim.port());
    REQUIRE(first.Exchange(GetRequest(sim, "/api/v4/account")).status == 200);

    // Eight times the ready threads, each connection answered and then left open and idle.
    constexpr int kIdle = 16;
    std::vector<std::unique_ptr<RawConnection>> idle;
    for (int i = 0; i < kIdle; ++i) {
        idle.push_back(std::make_unique<RawConnection>(sim.port()));
        const auto reply = idle.back()->Exchange(GetRequest(sim, "/api/v4/leads"));
        REQUIRE(reply.status == 429);
    }

    // A new client gets its 429 (read timeout 10 s; a queued connection would wait for an idle
    // one to time out, 600 s here)...
    RawConnection late(sim.port());
    const auto limited = late.Exchange(GetRequest(sim, "/api/v4/account"));
    REQUIRE(limited.status == 429);
    CHECK(json::parse(limited.body)["retry_after"] == 300);
    // ...while every idle connection is still open: none was closed to make room.
    for (auto& connection : idle) {
        CHECK(connection->Exchange(GetRequest(sim, "/api/v4/leads")).status == 429);
    }
    CHECK(first.Exchange(GetRequest(sim, "/api/v4/account")).status == 429);
    CHECK(sim.Stats().rate_limited == 2 * kIdle + 2);

    // Closed connections end their threads, so Stop() does not wait out the keep-alive.
    for (auto& connection : idle) {
        connection->Close();
    }
    first.Close();
    late.Close();
    sim.Stop();
}

TEST_CASE("ElasticPool runs as many tasks at once as it is given, up to its ceiling") {
    constexpr int kTasks = 12;
    std::mutex mutex;
    std::condition_variable changed;
    int running = 0;
    bool release = false;
    auto task = [&] {
        std::unique_lock lock(mutex);
        ++running;
        changed.notify_all();
        changed.wait(lock, [&] { return release; });
    };
    auto wait_running = [&](int count) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, std::chrono::seconds{10}, [&] { return running >= count; });
    };

    SUBCASE("grows past its ready threads") {
        ElasticPool pool(2, 64, std::chrono::milliseconds{50});
        for (int i = 0; i < kTasks; ++i) {
            pool.enqueue(task);
        }
        // Every task blocks until all of them run: only a pool that grew gets there.
        CHECK(wait_running(kTasks));
        CHECK(pool.Threads() >= kTasks);
        {
            std::lock_guard lock(mutex);
            release = true;
        }
        changed.notify_all();
        // Extra threads end after their linger; the ready ones stay.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
        while (pool.Threads() > 2 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
        CHECK(pool.Threads() == 2);
        pool.enqueue([] {});  // joins the ended threads and still runs work
        std::atomic<bool> ran{false};
        pool.enqueue([&] { ran = true; });
        pool.shutdown();
        CHECK(ran);
    }
    SUBCASE("past the ceiling, tasks wait and still run") {
        ElasticPool pool(1, 3);
        std::atomic<int> done{0};
        for (int i = 0; i < 5; ++i) {
            pool.enqueue([&] {
                task();
                ++done;
            });
        }
        CHECK(wait_running(3));
        CHECK(pool.Threads() == 3);
        {
            std::lock_guard lock(mutex);
            CHECK(running == 3);
            release = true;
        }
        changed.notify_all();
        pool.shutdown();  // runs what is queued, joins every thread
        CHECK(done == 5);
    }
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
