#pragma once

// Helpers of the Bitrix24 simulator's tests: a started simulator on a manual clock and a REST
// caller for its inbound webhook and OAuth addresses.

#include <memory>
#include <string>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/bitrix24/sim/simulator.hpp"
#include "src/common/clock.hpp"
#include "src/common/time.hpp"

namespace fg::testing::b24 {

inline Timestamp T0() { return *ParseIso8601("2026-11-02T09:00:00+03:00"); }

struct Answer {
    int status = 0;
    nlohmann::json body{};
};

/// A simulator started on its own manual clock; the limit is off unless the options set it.
struct Portal {
    explicit Portal(adapters::bitrix24::sim::SimulatorOptions options = {}, bool limit_off = true)
        : clock(T0()) {
        options.clock = &clock;
        if (options.webhook_token.empty()) {
            options.webhook_token = "hooktoken";
        }
        if (limit_off) {
            options.rate = 0;
        }
        sim = std::make_unique<adapters::bitrix24::sim::Simulator>(options);
        const auto started = sim->Start();
        REQUIRE(started);
        client = std::make_unique<httplib::Client>(sim->Url());
        client->set_connection_timeout(5);
        client->set_read_timeout(10);
    }

    /// POSTs a JSON body to the inbound webhook's method.
    Answer Call(const std::string& method,
                const nlohmann::json& params = nlohmann::json::object()) {
        return Post("/rest/1/hooktoken/" + method + ".json", params.dump(), "application/json");
    }
    Answer Post(const std::string& path, const std::string& body, const std::string& type) {
        const auto result = client->Post(path.c_str(), body, type.c_str());
        REQUIRE(result);
        return Parse(*result);
    }
    Answer Get(const std::string& path_and_query) {
        const auto result = client->Get(path_and_query.c_str());
        REQUIRE(result);
        return Parse(*result);
    }
    static Answer Parse(const httplib::Response& response) {
        Answer answer{.status = response.status};
        answer.body = nlohmann::json::parse(response.body, nullptr, false);
        REQUIRE_FALSE(answer.body.is_discarded());
        return answer;
    }

    ManualClock clock;
    std::unique_ptr<adapters::bitrix24::sim::Simulator> sim;
    std::unique_ptr<httplib::Client> client;
};

}  // namespace fg::testing::b24
