#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/simulator.hpp"
#include "src/common/clock.hpp"

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
        server_.set_tcp_nodelay(true);
        server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
            std::string body;
            reader([&](const char* data, std::size_t length) {
                body.append(data, length);
                return true;
            });
            std::lock_guard lock(mutex_);
            received_.push_back(
                {body, req.get_header_value("Content-Type"), req.get_header_value("User-Agent")});
            int status = 200;
            if (!script_.empty()) {
                status = script_.front();
                script_.erase(script_.begin());
            }
            res.status = status;
            res.set_content("ok", "text/plain");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        REQUIRE(port_ > 0);
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
        while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
        REQUIRE(server_.is_running());
    }
    ~Receiver() {
        server_.stop();
        thread_.join();
    }
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    std::string Url() const { return fmt::format("http://127.0.0.1:{}/hook", port_); }
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
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
        while (std::chrono::steady_clock::now() < deadline) {
            {
                std::lock_guard lock(mutex_);
                if (received_.size() >= count) {
                    return true;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{5});
        }
        return false;
    }

private:
    httplib::Server server_;
    int port_ = -1;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<Received> received_;
    std::vector<int> script_;
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

}  // namespace fg::adapters::amocrm::sim::testing
