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
#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
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

#include "src/app/signals.hpp"

namespace {

constexpr int kThreads = 64;  // funnelguard's default server.threads; FG_BENCH_THREADS overrides
constexpr std::size_t kMaxBodyBytes = 1048576;
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

void Reply(httplib::Response& response, int status, const std::string& json) {
    response.status = status;
    response.set_content(json, "application/json; charset=utf-8");
}

}  // namespace

int main(int argc, char** argv) {
    const sigset_t signals = fg::app::BlockStopSignals();
    if (argc < 2 || argc > 3) {
        std::cerr << "usage: bench_append_only_server FILE [host:port]\n";
        return 2;
    }
    const std::string listen = argc > 2 ? argv[2] : "127.0.0.1:0";
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        std::cerr << "bench_append_only_server: listen \"" << listen << "\" is not host:port\n";
        return 2;
    }
    const std::string host = listen.substr(0, colon);
    int port = 0;
    try {
        port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
        std::cerr << "bench_append_only_server: bad port in \"" << listen << "\"\n";
        return 2;
    }
    const int fd = ::open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        std::cerr << "bench_append_only_server: cannot open " << argv[1] << ": "
                  << std::strerror(errno) << "\n";
        return 1;
    }

    int result = 0;
    {
        GroupAppender appender(fd);
        httplib::Server server;
        server.set_tcp_nodelay(true);
        server.set_payload_max_length(kMaxBodyBytes);
        server.set_read_timeout(10, 0);
        server.set_write_timeout(10, 0);
        server.set_keep_alive_max_count(1000);
        const char* threads_env = std::getenv("FG_BENCH_THREADS");
        const int threads = threads_env != nullptr ? std::max(1, std::atoi(threads_env)) : kThreads;
        server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

        server.Post(
            R"(/hooks/generic/([^/]+))", [&](const httplib::Request&, httplib::Response& response,
                                             const httplib::ContentReader& reader) {
                std::string body;
                const bool read = reader([&](const char* data, std::size_t length) {
                    if (body.size() + length > kMaxBodyBytes) {
                        return false;
                    }
                    body.append(data, length);
                    return true;
                });
                if (!read) {
                    return Reply(response, 400, R"({"error":"the body could not be read"})");
                }
                auto stored = appender.Append(std::move(body));
                if (stored.wait_for(kCommitWait) != std::future_status::ready || !stored.get()) {
                    return Reply(response, 503, R"({"error":"could not store"})");
                }
                Reply(response, 200, R"({"status":"stored"})");
            });

        if (port == 0) {
            port = server.bind_to_any_port(host);
        } else if (!server.bind_to_port(host, port)) {
            port = -1;
        }
        if (port <= 0) {
            std::cerr << "bench_append_only_server: cannot listen on " << listen << "\n";
            result = 1;
        } else {
            std::thread serving([&server] { server.listen_after_bind(); });
            std::cout << "append-only listening on " << host << ":" << port << std::endl;
            int received = 0;
            sigwait(&signals, &received);
            server.stop();
            serving.join();
            std::cout << "append-only stopped" << std::endl;
        }
    }
    ::close(fd);
    return result;
}
