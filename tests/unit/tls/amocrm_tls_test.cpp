// The amoCRM API client and its OAuth token calls over real TLS: a CA made at test time, a
// server certificate for 127.0.0.1/localhost, and servers that count what reached them.
#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/api/client.hpp"
#include "adapters/amocrm/api/oauth.hpp"
#include "tests/unit/tls/pki.hpp"

namespace fg::adapters::amocrm {
namespace {

using fg::testing::Credential;
using fg::testing::ScopedCertFile;
using fg::testing::TestCa;
using fg::testing::TestPki;
using fg::testing::TestServer;
using Ms = std::chrono::milliseconds;

constexpr const char* kToken = "long-lived-SECRET-token-0123456789";
constexpr const char* kClientSecret = "client-SECRET-abcdef123456";
constexpr const char* kCode = "auth-CODE-def50200abcdef";

const ManualClock kClock{FromEpoch(1767225600)};  // 2026-01-01T00:00:00Z

bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

void Account(const httplib::Request&, httplib::Response& response) {
    response.set_content(R"({"id":31234,"name":"Acme"})", "application/json");
}

ClientOptions Options(const std::string& base_url, std::vector<Ms>* waits) {
    ClientOptions options;
    options.tenant = "acme";
    options.base_url = base_url;
    options.token = kToken;
    options.clock = &kClock;
    options.rps = 1000;
    options.connect_timeout = Duration{5};
    options.read_timeout = Duration{5};
    options.max_attempts = 4;
    options.sleep = [waits](Ms wait) {
        if (waits != nullptr) {
            waits->push_back(wait);
        }
    };
    return options;
}

TEST_CASE("amoCRM client: a private CA's certificate verifies with ca_file") {
    TestPki pki;
    TestServer server(pki.dir, "amo", pki.server, Account);
    for (const char* host : {"127.0.0.1", "localhost"}) {
        CAPTURE(host);
        ClientOptions options = Options(server.Url(host), nullptr);
        options.ca_file = pki.ca_file;
        REQUIRE(Client::Validate(options));
        Client client(options);
        auto account = client.GetJson("/api/v4/account");
        REQUIRE_MESSAGE(account, account.error().message);
        CHECK((*account)["id"] == 31234);
    }
    const auto seen = server.Requests();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].path == "/api/v4/account");
    CHECK(seen[0].authorization == std::string("Bearer ") + kToken);
}

TEST_CASE(
    "amoCRM client: without ca_file the call fails with certificate verify failed and "
    "sends nothing") {
    TestPki pki;
    TestServer server(pki.dir, "amo", pki.server, Account);
    std::vector<Ms> waits;
    Client client(Options(server.Url(), &waits));
    auto account = client.GetJson("/api/v4/account");
    REQUIRE_FALSE(account);
    const std::string& message = account.error().message;
    INFO(message);
    CHECK(account.error().code == ErrorCode::kUnavailable);
    CHECK(Contains(message, "amoCRM GET /api/v4/account"));
    CHECK(Contains(message, fmt::format("https://127.0.0.1:{}", server.port())));
    CHECK(Contains(message, "certificate verify failed: unable to get local issuer certificate"));
    CHECK(Contains(message, "ca_file"));
    CHECK_FALSE(Contains(message, kToken));
    CHECK(server.Count() == 0);  // the handshake ended the connection; no request was written
    CHECK(waits.empty());        // a certificate does not heal within the call: no retries
}

TEST_CASE("amoCRM client: the system store is trusted, and ca_file adds to it") {
    TestPki pki;
    TestCa system_ca("test CA standing in for the system store");
    const std::string system_file = pki.dir.Write("system.pem", system_ca.cert_pem());
    TestServer server(pki.dir, "amo", system_ca.Issue("127.0.0.1", "IP:127.0.0.1"), Account);
    ScopedCertFile system(system_file);  // OpenSSL's default paths now hold system_ca
    SUBCASE("no ca_file: the system store alone") {
        Client client(Options(server.Url(), nullptr));
        auto account = client.GetJson("/api/v4/account");
        CHECK_MESSAGE(account, account.error().message);
    }
    SUBCASE("a ca_file with another CA does not replace the system store") {
        ClientOptions options = Options(server.Url(), nullptr);
        options.ca_file = pki.ca_file;
        Client client(options);
        auto account = client.GetJson("/api/v4/account");
        CHECK_MESSAGE(account, account.error().message);
    }
    CHECK(server.Count() == 1);
}

TEST_CASE("amoCRM client: a certificate for another host name fails") {
    TestPki pki;
    const Credential other = pki.ca.Issue("crm.example.org", "DNS:crm.example.org");
    TestServer server(pki.dir, "other", other, Account);
    auto call = [&](const std::string& host) {
        ClientOptions options = Options(server.Url(host), nullptr);
        options.ca_file = pki.ca_file;
        Client client(options);
        auto account = client.GetJson("/api/v4/account");
        REQUIRE_FALSE(account);
        return account.error().message;
    };
    CHECK(Contains(call("127.0.0.1"), "certificate verify failed: IP address mismatch"));
    CHECK(Contains(call("localhost"), "certificate verify failed: hostname mismatch"));
    CHECK(server.Count() == 0);
}

TEST_CASE("amoCRM client: an https base_url never falls back to plain http") {
    TestServer plain(Account);  // a plain http server on the port https:// points at
    Client client(Options(fmt::format("https://127.0.0.1:{}", plain.port()), nullptr));
    auto account = client.GetJson("/api/v4/account");
    REQUIRE_FALSE(account);
    INFO(account.error().message);
    CHECK(Contains(account.error().message, "TLS handshake failed"));
    CHECK(plain.Count() == 0);
}

TEST_CASE("amoCRM client: a redirect is not followed and the token never reaches its target") {
    TestPki pki;
    TestServer elsewhere(pki.dir, "elsewhere", pki.server, Account);
    const std::string location = elsewhere.Url("localhost") + "/api/v4/account?steal=1";
    TestServer amo(pki.dir, "amo", pki.server,
                   [&](const httplib::Request&, httplib::Response& response) {
                       response.status = 302;
                       response.set_header("Location", location);
                   });
    ClientOptions options = Options(amo.Url(), nullptr);
    options.ca_file = pki.ca_file;
    Client client(options);
    auto account = client.GetJson("/api/v4/account");
    REQUIRE_FALSE(account);
    const std::string& message = account.error().message;
    INFO(message);
    CHECK(account.error().code == ErrorCode::kInvalidInput);
    CHECK(Contains(message, "HTTP 302"));
    CHECK(Contains(message,
                   fmt::format("a redirect to localhost:{}, not followed", elsewhere.port())));
    CHECK_FALSE(Contains(message, "steal"));
    CHECK_FALSE(Contains(message, kToken));
    CHECK(amo.Count() == 1);
    CHECK(elsewhere.Count() == 0);

    SUBCASE("Execute hands the 3xx over with its Location, unfollowed") {
        auto response =
            client.Execute({.method = "POST", .target = "/api/v4/leads/notes", .body = "[]"});
        REQUIRE(response);
        CHECK(response->status == 302);
        CHECK(response->location == location);
        CHECK(elsewhere.Count() == 0);
    }
}

TEST_CASE("amoCRM client: plain http only to a loopback host, ca_file only with https") {
    auto problem = [](const ClientOptions& options) {
        auto valid = Client::Validate(options);
        return valid ? std::string() : valid.error().message;
    };
    CHECK(problem(Options("http://127.0.0.1:9100", nullptr)).empty());
    CHECK(problem(Options("http://localhost:9100/prefix", nullptr)).empty());
    CHECK(Contains(problem(Options("http://acme.amocrm.ru", nullptr)),
                   "http://acme.amocrm.ru would send the token unencrypted"));
    CHECK(Contains(problem(Options("http://10.0.0.5:8080", nullptr)), "unencrypted"));

    TestPki pki;
    ClientOptions options = Options("http://127.0.0.1:9100", nullptr);
    options.ca_file = pki.ca_file;
    CHECK(Contains(problem(options), "ca_file is for an https:// base_url"));
    options.base_url = "https://127.0.0.1:9100";
    CHECK(problem(options).empty());
    options.ca_file = pki.dir.File("missing.pem");
    CHECK(Contains(problem(options), "ca_file: CA file " + pki.dir.File("missing.pem")));
    // A client built anyway refuses every call with the same reason, sending nothing.
    Client client(options);
    auto account = client.GetJson("/api/v4/account");
    REQUIRE_FALSE(account);
    CHECK(Contains(account.error().message, "missing.pem"));
}

// ---------------------------------------------------------------------------- OAuth

void TokenAnswer(const httplib::Request&, httplib::Response& response) {
    response.set_content(
        R"({"token_type":"Bearer","expires_in":86400,"access_token":"acc-SECRET-1",)"
        R"("refresh_token":"ref-SECRET-1"})",
        "application/json");
}

ClientOptions OAuthOptions(const std::string& base_url, TokenStore& store) {
    ClientOptions options = Options(base_url, nullptr);
    options.token.clear();
    options.oauth = OAuthApp{.client_id = "client-id-1",
                             .client_secret = kClientSecret,
                             .redirect_uri = "https://fg.example.com/oauth"};
    options.token_store = &store;
    return options;
}

TEST_CASE("OAuth code exchange over TLS: with ca_file the tokens are saved") {
    TestPki pki;
    TestServer server(pki.dir, "amo", pki.server, TokenAnswer);
    FileTokenStore store(pki.dir.File("tokens.json"));
    ClientOptions options = OAuthOptions(server.Url(), store);
    options.ca_file = pki.ca_file;
    auto done = AuthorizeWithCode(options, kCode);
    REQUIRE_MESSAGE(done, done.error().message);
    auto saved = store.Load();
    REQUIRE(saved);
    REQUIRE(*saved);
    CHECK((*saved)->access_token == "acc-SECRET-1");
    const auto seen = server.Requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].path == "/oauth2/access_token");
    CHECK(Contains(seen[0].body, kCode));
}

TEST_CASE("OAuth code exchange over TLS: without ca_file nothing is sent, no secret in the error") {
    TestPki pki;
    TestServer server(pki.dir, "amo", pki.server, TokenAnswer);
    FileTokenStore store(pki.dir.File("tokens.json"));
    auto done = AuthorizeWithCode(OAuthOptions(server.Url(), store), kCode);
    REQUIRE_FALSE(done);
    const std::string& message = done.error().message;
    INFO(message);
    CHECK(Contains(message, "POST /oauth2/access_token"));
    CHECK(Contains(message, "certificate verify failed: unable to get local issuer certificate"));
    CHECK_FALSE(Contains(message, kCode));
    CHECK_FALSE(Contains(message, kClientSecret));
    CHECK(server.Count() == 0);
    auto saved = store.Load();
    REQUIRE(saved);
    CHECK_FALSE(*saved);
}

TEST_CASE("OAuth token call: a redirect is not followed, the secret and code stay home") {
    TestPki pki;
    TestServer elsewhere(pki.dir, "elsewhere", pki.server, TokenAnswer);
    TestServer amo(pki.dir, "amo", pki.server,
                   [&](const httplib::Request&, httplib::Response& response) {
                       response.status = 307;  // would repeat the POST with its body
                       response.set_header("Location", elsewhere.Url() + "/oauth2/access_token");
                   });
    FileTokenStore store(pki.dir.File("tokens.json"));
    ClientOptions options = OAuthOptions(amo.Url(), store);
    options.ca_file = pki.ca_file;
    auto done = AuthorizeWithCode(options, kCode);
    REQUIRE_FALSE(done);
    const std::string& message = done.error().message;
    INFO(message);
    CHECK(Contains(message, "HTTP 307"));
    CHECK(Contains(message, fmt::format("127.0.0.1:{}", elsewhere.port())));
    CHECK_FALSE(Contains(message, kCode));
    CHECK_FALSE(Contains(message, kClientSecret));
    CHECK(amo.Count() == 1);
    CHECK(elsewhere.Count() == 0);
}

TEST_CASE("OAuth refresh over TLS fails closed on a bad certificate") {
    TestPki pki;
    const Credential other = pki.ca.Issue("crm.example.org", "DNS:crm.example.org");
    TestServer server(pki.dir, "amo", other, TokenAnswer);
    FileTokenStore store(pki.dir.File("tokens.json"));
    REQUIRE(store.Save(OAuthTokens{.access_token = "acc-SECRET-0",
                                   .refresh_token = "ref-SECRET-0",
                                   .expires_at = kClock.Now() - Duration{60}}));
    ClientOptions options = OAuthOptions(server.Url(), store);
    options.ca_file = pki.ca_file;
    Client client(options);
    auto account = client.GetJson("/api/v4/account");  // needs a refresh first
    REQUIRE_FALSE(account);
    const std::string& message = account.error().message;
    INFO(message);
    CHECK(Contains(message, "POST /oauth2/access_token"));
    CHECK(Contains(message, "certificate verify failed: IP address mismatch"));
    CHECK_FALSE(Contains(message, "ref-SECRET-0"));
    CHECK(server.Count() == 0);
}

}  // namespace
}  // namespace fg::adapters::amocrm
