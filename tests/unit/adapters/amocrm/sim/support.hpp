#pragma once

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "adapters/amocrm/sim/simulator.hpp"
#include "src/common/clock.hpp"
#include "tests/support/fake_http_server.hpp"

namespace fg::adapters::amocrm::sim::testing {

inline Timestamp Start() { return *ParseIso8601("2026-11-02T09:00:00Z"); }

/// Options for a quiet simulator on the given clock: loopback, ephemeral port, no rate limit.
inline SimOptions Quiet(const Clock& clock, int leads = 0) {
    SimOptions options;
    options.clock = &clock;
    options.leads = leads;
    options.rps = 0;
    options.token = "test-token";
    options.threads = 4;
    return options;
}

/// An httplib client for the simulator with the bearer token set.
inline httplib::Client Client(const Simulator& sim, bool auth = true) {
    httplib::Client client("127.0.0.1", sim.port());
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(10, 0);
    if (auth) {
        client.set_bearer_token_auth(sim.Token().c_str());
    }
    return client;
}

inline nlohmann::json Json(const httplib::Result& result) {
    REQUIRE(result);
    return nlohmann::json::parse(result->body);
}

inline std::string PercentDecode(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%' && i + 2 < text.size()) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

/// A webhook body as decoded key -> value pairs (keys keep their brackets), in order.
inline std::vector<std::pair<std::string, std::string>> DecodeForm(const std::string& body) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t start = 0;
    while (start < body.size()) {
        std::size_t end = body.find('&', start);
        if (end == std::string::npos) {
            end = body.size();
        }
        const std::string pair = body.substr(start, end - start);
        const std::size_t eq = pair.find('=');
        out.emplace_back(PercentDecode(pair.substr(0, eq)),
                         eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1)));
        start = end + 1;
    }
    return out;
}

inline std::map<std::string, std::string> FormMap(const std::string& body) {
    std::map<std::string, std::string> out;
    for (auto& [key, value] : DecodeForm(body)) {
        out.emplace(key, value);
    }
    return out;
}

struct Received {
    std::string body{};
    std::string content_type{};
    std::string user_agent{};
};

/// A webhook receiver on 127.0.0.1 (port 0) that reads bodies through a ContentReader (no 8 KB
/// form cap) and answers with scripted statuses (200 once the script is used up).
class Receiver {
public:
    Receiver() {
        server_.server().set_tcp_nodelay(true);
        server_.server().Post("/hook", [this](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& reader) {
            std::string body;
            reader([&](const char* data, std::size_t length) {
                body.append(data, length);
                return true;
            });
            {
                std::lock_guard lock(mutex_);
                received_.push_back({body, req.get_header_value("Content-Type"),
                                     req.get_header_value("User-Agent")});
                int status = 200;
                if (!script_.empty()) {
                    status = script_.front();
                    script_.erase(script_.begin());
                }
                res.status = status;
                res.set_content("ok", "text/plain");
            }
            arrived_.notify_all();
        });
        server_.Start();
    }
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    std::string Url() const { return server_.Url("/hook"); }
    void Script(std::vector<int> statuses) {
        std::lock_guard lock(mutex_);
        script_ = std::move(statuses);
    }
    std::vector<Received> All() const {
        std::lock_guard lock(mutex_);
        return received_;
    }
    /// Waits (bounded) until at least `count` bodies arrived.
    bool WaitFor(std::size_t count) const {
        std::unique_lock lock(mutex_);
        return arrived_.wait_for(lock, std::chrono::seconds{20},
                                 [&] { return received_.size() >= count; });
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable arrived_;
    std::vector<Received> received_;
    std::vector<int> script_;
    // Last: destroyed (stopped) first, while the handler's members still exist.
    fg::testing::FakeHttpServer server_;
};

/// Registers `url` for `settings` through the API.
inline void Subscribe(const Simulator& sim, const std::string& url,
                      const std::vector<std::string>& settings) {
    auto client = Client(sim);
    const nlohmann::json body = {{"destination", url}, {"settings", settings}};
    const auto result = client.Post("/api/v4/webhooks", body.dump(), "application/json");
    REQUIRE(result);
    REQUIRE(result->status == 200);
}

/// One raw TCP connection to 127.0.0.1: requests written byte for byte (chunked bodies,
/// keep-alive), responses read by Content-Length. Reads give up after `timeout`.
class RawConnection {
public:
    struct Reply {
        int status = 0;  // 0 = no (complete) response: closed or timed out
        std::string head{};
        std::string body{};
    };

    explicit RawConnection(int port, std::chrono::seconds timeout = std::chrono::seconds{10}) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        timeval tv{};
        tv.tv_sec = static_cast<decltype(tv.tv_sec)>(timeout.count());
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
        REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    }
    ~RawConnection() { Close(); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    void Close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

    bool Send(const std::string& bytes) {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            sent += static_cast<std::size_t>(n);
        }
        return true;
    }

    Reply Read() {
        Reply reply;
        std::size_t end = std::string::npos;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!Fill()) {
                return reply;
            }
        }
        reply.head = buffer_.substr(0, end);
        std::size_t length = 0;
        std::string lower = reply.head;
        for (char& c : lower) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (const std::size_t at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
            length = std::stoul(lower.substr(at + 17));
        }
        while (buffer_.size() < end + 4 + length) {
            if (!Fill()) {
                return reply;
            }
        }
        reply.body = buffer_.substr(end + 4, length);
        buffer_.erase(0, end + 4 + length);
        reply.status = std::stoi(reply.head.substr(reply.head.find(' ') + 1, 3));
        return reply;
    }

    Reply Exchange(const std::string& request) {
        if (!Send(request)) {
            return {};
        }
        return Read();
    }

private:
    bool Fill() {
        char chunk[4096];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) {
            return false;
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::string buffer_;
};

/// "GET <path>" with the bearer token, keeping the connection open.
inline std::string GetRequest(const Simulator& sim, const std::string& path) {
    return fmt::format(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
        "Connection: keep-alive\r\n\r\n",
        path, sim.Token());
}

/// A throwaway CA and a certificate for 127.0.0.1/localhost signed by it, made by
/// tests/interop/make_test_ca.sh (the openssl command line) in a fresh directory.
struct TestCa {
    std::filesystem::path dir{};
    std::string ca_file{};    // ca.pem
    std::string cert_file{};  // server.pem
    std::string key_file{};   // server.key
    std::string other_ca{};   // other-ca.pem: a CA that signed nothing here
};

inline TestCa MakeTestCa(const std::string& name) {
    TestCa ca;
    ca.dir = std::filesystem::temp_directory_path() /
             fmt::format("fg-sim-ca-{}-{}", name, static_cast<long>(::getpid()));
    std::filesystem::remove_all(ca.dir);
    std::filesystem::create_directories(ca.dir);
    const std::string command =
        fmt::format("bash '{}/tests/interop/make_test_ca.sh' '{}' >'{}/log' 2>&1", FG_SOURCE_DIR,
                    ca.dir.string(), ca.dir.string());
    INFO("make_test_ca.sh failed; see " << ca.dir.string() << "/log");
    REQUIRE(std::system(command.c_str()) == 0);
    ca.ca_file = (ca.dir / "ca.pem").string();
    ca.cert_file = (ca.dir / "server.pem").string();
    ca.key_file = (ca.dir / "server.key").string();
    ca.other_ca = (ca.dir / "other-ca.pem").string();
    return ca;
}

}  // namespace fg::adapters::amocrm::sim::testing
