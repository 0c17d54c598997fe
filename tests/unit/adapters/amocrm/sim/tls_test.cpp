// The simulator serving HTTPS with a throwaway CA made at test time.
#include <filesystem>
#include <memory>
#include <string>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/unit/adapters/amocrm/sim/support.hpp"

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;
using testing::Quiet;

std::unique_ptr<httplib::SSLClient> TlsClient(const Simulator& sim, const std::string& ca_file) {
    auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", sim.port());
    client->set_connection_timeout(5, 0);
    client->set_read_timeout(10, 0);
    client->enable_server_certificate_verification(true);
    if (!ca_file.empty()) {
        client->set_ca_cert_path(ca_file.c_str());
    }
    client->set_bearer_token_auth(sim.Token().c_str());
    return client;
}

TEST_CASE("amoCRM simulator serves HTTPS: a client trusting its CA talks, others fail") {
    const testing::TestCa ca = testing::MakeTestCa("tls");
    ManualClock clock(testing::Start());
    SimOptions options = Quiet(clock, 3);
    options.tls_cert_file = ca.cert_file;
    options.tls_key_file = ca.key_file;
    Simulator sim(options);
    REQUIRE(sim.Start());
    CHECK(sim.BaseUrl() == fmt::format("https://127.0.0.1:{}", sim.port()));

    auto trusting = TlsClient(sim, ca.ca_file);
    const auto account = trusting->Get("/api/v4/account");
    REQUIRE(account);
    CHECK(account->status == 200);
    CHECK(json::parse(account->body)["_links"]["self"]["href"] ==
          sim.BaseUrl() + "/api/v4/account");
    const auto leads = trusting->Get("/api/v4/leads");
    REQUIRE(leads);
    CHECK(leads->status == 200);
    CHECK(json::parse(leads->body)["_embedded"]["leads"].size() == 3);

    SUBCASE("a client trusting another CA fails verification") {
        auto stranger = TlsClient(sim, ca.other_ca);
        const auto refused = stranger->Get("/api/v4/account");
        CHECK_FALSE(refused);
        CHECK(refused.error() == httplib::Error::SSLServerVerification);
    }
    SUBCASE("a client trusting the system CAs fails verification") {
        auto stranger = TlsClient(sim, "");
        const auto refused = stranger->Get("/api/v4/account");
        CHECK_FALSE(refused);
        CHECK(refused.error() == httplib::Error::SSLServerVerification);
    }
    SUBCASE("plain HTTP gets no answer from the TLS port") {
        auto plain = testing::Client(sim);
        const auto result = plain.Get("/api/v4/account");
        CHECK_FALSE((result && result->status == 200));
    }
    std::filesystem::remove_all(ca.dir);
}

TEST_CASE("amoCRM simulator refuses to start with a TLS key that does not load") {
    const testing::TestCa ca = testing::MakeTestCa("badkey");
    ManualClock clock(testing::Start());
    SimOptions options = Quiet(clock);
    options.tls_cert_file = ca.cert_file;
    SUBCASE("key missing") {}
    SUBCASE("key of another certificate") { options.tls_key_file = ca.dir / "ca.key"; }
    SUBCASE("no such file") { options.tls_key_file = ca.dir / "absent.key"; }
    Simulator sim(options);
    const auto started = sim.Start();
    REQUIRE_FALSE(started);
    CHECK(started.error().code == ErrorCode::kInvalidInput);
    std::filesystem::remove_all(ca.dir);
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
