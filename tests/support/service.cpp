#include "tests/support/service.hpp"

#include <algorithm>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace fg::testing {

bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    return done();
}

double Metric(const std::string& page, const std::string& name) {
    const std::string start = name + " ";
    for (std::size_t at = 0; at < page.size();) {
        const std::size_t end = std::min(page.find('\n', at), page.size());
        if (page.compare(at, start.size(), start) == 0) {
            return std::stod(page.substr(at + start.size(), end - at - start.size()));
        }
        at = end + 1;
    }
    return -1;
}

Service::Service(const std::string& config_path, int port, ServeOptions options)
    : options_(std::move(options)),
      process_(std::make_unique<ChildProcess>(
          std::vector<std::string>{options_.binary, "serve", "--config", config_path})),
      client_(std::make_unique<httplib::Client>("127.0.0.1", port)) {
    const auto line = process_->ReadLine(std::chrono::seconds{30});
    REQUIRE(line.has_value());
    REQUIRE(line->find(fmt::format(":{}", port)) != std::string::npos);
    client_->set_read_timeout(30, 0);
    if (options_.wait_ready) {
        REQUIRE(Eventually([&] {
            auto ready = client_->Get("/readyz");
            return ready && ready->status == 200;
        }));
    }
}

Service::~Service() = default;

int Service::Stop(int signal) { return process_->Stop(signal); }

// fmt, not string +: GCC 12 reports a false -Warray-bounds on such a concatenation.
httplib::Headers Service::Admin() const {
    return {{"Authorization", fmt::format("Bearer {}", options_.admin_token)}};
}

httplib::Result Service::Get(const std::string& path) { return client_->Get(path); }

std::optional<nlohmann::json> Service::Deal(std::int64_t id) {
    auto response = client_->Get(fmt::format("/api/v1/deals/{}/{}", options_.tenant, id), Admin());
    if (!response || response->status != 200) {
        return std::nullopt;
    }
    return nlohmann::json::parse(response->body);
}

nlohmann::json Service::Violations(const std::string& query) {
    auto response = client_->Get(
        fmt::format("/api/v1/violations?tenant={}&{}", options_.tenant, query), Admin());
    REQUIRE(response);
    REQUIRE(response->status == 200);
    return nlohmann::json::parse(response->body)["violations"];
}

nlohmann::json Service::Inbox(const std::string& state) {
    auto response = client_->Get(fmt::format("/api/v1/inbox?state={}", state), Admin());
    REQUIRE(response);
    REQUIRE(response->status == 200);
    return nlohmann::json::parse(response->body);
}

int Service::Ack(std::int64_t violation) {
    auto response = client_->Post(fmt::format("/api/v1/violations/{}/ack", violation), Admin(), "",
                                  "text/plain");
    return response ? response->status : -1;
}

std::string Service::Metrics() {
    auto response = client_->Get("/metrics");
    return response && response->status == 200 ? response->body : std::string();
}

std::string Service::Busy() {
    const std::string page = Metrics();
    if (page.empty()) {
        return "serve does not answer /metrics";
    }
    const double inbox = Metric(page, "funnelguard_inbox_pending");
    const double outbox = Metric(page, "funnelguard_outbox_items{status=\"pending\"}");
    if (inbox != 0 || outbox != 0) {
        return fmt::format("serve: {} inbox item(s) and {} outbox item(s) pending", inbox, outbox);
    }
    return {};
}

httplib::Result Service::PostHook(const std::string& crm, const std::string& body,
                                  const std::string& content_type) {
    return client_->Post(fmt::format("/hooks/{}/{}", crm, options_.tenant), body,
                         content_type.c_str());
}

std::string Connect(const std::string& binary, const std::string& config,
                    const std::string& tenant) {
    const auto connected = Run({binary, "connect", "--config", config, "--tenant", tenant}, true);
    INFO(connected.out);
    REQUIRE(connected.status == 0);
    return connected.out;
}

}  // namespace fg::testing
