#include "adapters/bitrix24/sim/command.hpp"

#include <doctest/doctest.h>

#include "tests/unit/adapters/bitrix24/sim/support.hpp"

namespace sim = fg::adapters::bitrix24::sim;

TEST_SUITE("bitrix24 simulator: the sim bitrix24 command") {
    TEST_CASE("--listen is host:port") {
        CHECK(sim::ParseListen("127.0.0.1:0") == std::make_pair(std::string("127.0.0.1"), 0));
        CHECK(sim::ParseListen("localhost:9200") == std::make_pair(std::string("localhost"), 9200));
        CHECK_FALSE(sim::ParseListen("127.0.0.1"));
        CHECK_FALSE(sim::ParseListen(":80"));
        CHECK_FALSE(sim::ParseListen("host:99999"));
        CHECK_FALSE(sim::ParseListen("host:8x"));
    }

    TEST_CASE("the options parse into a simulator whose banner names its webhook and token") {
        CLI::App app;
        auto* sim_root = app.add_subcommand("sim");
        int exit_code = -1;
        sim::AddSimCommand(*sim_root, exit_code);
        auto* command = sim_root->get_subcommand("bitrix24");
        REQUIRE(command != nullptr);
        CHECK_THROWS(app.parse(std::vector<std::string>{"--deals", "-1", "bitrix24", "sim"}));

        fg::ManualClock clock(fg::testing::b24::T0());
        const sim::SimCommandOptions options{.listen = "127.0.0.1:0", .seed = 3, .deals = 7};
        sim::Simulator simulator(sim::CommandSimulatorOptions(options, "127.0.0.1", 0, clock));
        REQUIRE(simulator.Start());
        const auto banner = sim::Banner(simulator, options);
        REQUIRE(banner.size() >= 3);
        CHECK(banner[0] == "Bitrix24 simulator listening on " + simulator.Url());
        CHECK(banner[1] == "inbound webhook: " + simulator.WebhookUrl());
        CHECK(banner[2] == "application token: " + simulator.ApplicationToken());
        CHECK(simulator.DealCount() == 7);
        // The printed webhook URL is the one that works.
        httplib::Client client(simulator.Url());
        const std::string path =
            simulator.WebhookUrl().substr(simulator.Url().size()) + "crm.deal.get.json";
        const auto answer = client.Post(path.c_str(), R"({"id":1})", "application/json");
        REQUIRE(answer);
        CHECK(answer->status == 200);
    }

    TEST_CASE("a bad --listen exits 2 without serving") {
        CLI::App app;
        auto* sim_root = app.add_subcommand("sim");
        int exit_code = -1;
        sim::AddSimCommand(*sim_root, exit_code);
        app.parse(std::vector<std::string>{"nohost", "--listen", "bitrix24", "sim"});
        CHECK(exit_code == 2);
    }
}
