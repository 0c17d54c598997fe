// A diagnostic for bench/intake.sh (DIAGNOSE=1): the cheapest durable intake this HTTP stack
// allows, to show where the machine's ceiling lies. The HTTP stack and its settings are those of
// `funnelguard serve` and bench_noop_server; the route reads the body like them, checks nothing,
// appends the body to one file and answers 200 once an fdatasync covering it has returned. One
// flusher thread shares each fdatasync among every body that arrived meanwhile (group commit), as
// funnelguard's writer does, but with no SQLite, no index, no JSON and no SHA-256. No durable
// intake on this stack can beat it; its ratio to the no-op server is the ceiling of intake.sh's.
//
// Usage: bench_append_only_server FILE [host:port]   (default 127.0.0.1:0, a free port)
// Prints "append-only listening on HOST:PORT" once it accepts connections; stops on SIGINT/SIGTERM.
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <future>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include "bench/bench_server.hpp"
#include "src/common/signals.hpp"

namespace {

constexpr auto kCommitWait = std::chrono::seconds{10};

// Appends bodies to one file; each round writes everything queued and fdatasyncs once.
class GroupAppender {
public:
    explicit GroupAppender(int fd) : fd_(fd), thread_([this] { Run(); }) {}
    ~GroupAppender() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }
    GroupAppender(const GroupAppender&) = delete;
    GroupAppender& operator=(const GroupAppender&) = delete;

    std::future<bool> Append(std::string body) {
        std::promise<bool> promise;
        auto future = promise.get_future();
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(Pending{std::move(body), std::move(promise)});
        }
        wake_.notify_one();
        return future;
    }

private:
    struct Pending {
        std::string body;
        std::promise<bool> promise;
    };

    void Run() {
        for (;;) {
            std::vector<Pending> batch;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) {
                    return;
                }
                batch.swap(queue_);
            }
            std::string chunk;
            for (const Pending& pending : batch) {
                chunk += pending.body;
                chunk += '\n';
            }
            bool written = true;
            for (std::size_t done = 0; done < chunk.size();) {
                const ssize_t n = ::write(fd_, chunk.data() + done, chunk.size() - done);
                if (n <= 0) {
                    written = false;
                    break;
                }
                done += static_cast<std::size_t>(n);
            }
            const bool synced = written && ::fdatasync(fd_) == 0;
            for (Pending& pending : batch) {
                pending.promise.set_value(synced);
            }
        }
    }

    int fd_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<Pending> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
    using fg::bench::Reply;
    const sigset_t signals = fg::BlockStopSignals();
    if (argc < 2 || argc > 3) {
        std::cerr << "usage: bench_append_only_server FILE [host:port]\n";
        return 2;
    }
    const auto listen = fg::bench::ParseListen("bench_append_only_server", argc > 2 ? argv[2] : "");
    if (!listen) {
        return 2;
    }
    const int fd = ::open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::cerr << "bench_append_only_server: cannot open " << argv[1] << ": "
                  << std::strerror(errno) << "\n";
        return 1;
    }
    int exit_code = 0;
    {
        GroupAppender appender(fd);
        httplib::Server server;
        fg::bench::ConfigureLikeServe(server);
        server.Post(
            R"(/hooks/generic/([^/]+))", [&](const httplib::Request&, httplib::Response& response,
                                             const httplib::ContentReader& reader) {
                auto body = fg::bench::ReadBody(reader);
                if (!body) {
                    return Reply(response, 400, R"({"error":"the body could not be read"})");
                }
                auto stored = appender.Append(std::move(*body));
                if (stored.wait_for(kCommitWait) != std::future_status::ready || !stored.get()) {
                    return Reply(response, 503, R"({"error":"could not store"})");
                }
                Reply(response, 200, R"({"status":"stored"})");
            });
        exit_code = fg::bench::ServeUntilStopped(server, *listen, "append-only", signals);
    }
    ::close(fd);
    return exit_code;
}
