#include "adapters/bitrix24/sim/command.hpp"

#include <algorithm>
#include <fstream>

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tests/support/fake_http_server.hpp"
#include "tests/support/process.hpp"
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

    TEST_CASE("--outbound posts every event to a handler; --app-tokens installs a local app") {
        fg::testing::FakeHttpServer handler;
        handler.ServeAll([](const httplib::Request&, httplib::Response& response) {
            response.set_content("ok", "text/plain");
        });
        handler.Start();
        fg::ManualClock clock(fg::testing::b24::T0());
        fg::testing::TempDir dir;
        const std::string tokens_path = dir.File("acme.bitrix24.json");
        const sim::SimCommandOptions options{.listen = "127.0.0.1:0",
                                             .seed = 3,
                                             .deals = 2,
                                             .activity = false,
                                             .outbound = {handler.Url("/hooks/bitrix24/acme")},
                                             .app_tokens = tokens_path};
        sim::Simulator simulator(sim::CommandSimulatorOptions(options, "127.0.0.1", 0, clock));
        REQUIRE(simulator.Start());
        const auto banner = sim::Banner(simulator, options);
        CHECK(std::count_if(banner.begin(), banner.end(), [&](const std::string& line) {
                  return line.find("outbound webhook") != std::string::npos &&
                         line.find(handler.Url("/hooks/bitrix24/acme")) != std::string::npos;
              }) == 1);
        CHECK(std::count_if(banner.begin(), banner.end(), [&](const std::string& line) {
                  return line.find("client_id = \"" + simulator.ClientId() + "\"") !=
                             std::string::npos &&
                         line.find(tokens_path) != std::string::npos;
              }) == 1);

        REQUIRE(simulator.UpdateDeal(1, {{"TITLE", "Новое название"}}));
        REQUIRE(simulator.WaitEventsIdle(std::chrono::seconds(10)));
        REQUIRE(handler.Count() >= 1);
        const fg::testing::RecordedRequest posted = handler.Requests().front();
        CHECK(posted.path == "/hooks/bitrix24/acme");
        CHECK(posted.body.find("event=ONCRMDEALUPDATE") != std::string::npos);

        // The tokens written work against the portal, and the file is the owner's alone.
        REQUIRE(sim::WriteAppTokens(tokens_path, simulator.IssueTokens()));
        struct stat info {};
        REQUIRE(::stat(tokens_path.c_str(), &info) == 0);
        CHECK((info.st_mode & 0777) == 0600);
        std::ifstream file(tokens_path);
        const auto saved = nlohmann::json::parse(file);
        httplib::Client client(simulator.Url());
        const auto answer =
            client.Post("/rest/crm.deal.get.json",
                        nlohmann::json{{"id", 1}, {"auth", saved.at("access_token")}}.dump(),
                        "application/json");
        REQUIRE(answer);
        CHECK(answer->status == 200);
        CHECK_FALSE(sim::WriteAppTokens(dir.File("no/such/folder/t.json"), {}));
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
