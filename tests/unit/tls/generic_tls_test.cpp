// The generic adapter's action sender over real TLS (actions_url can be https).
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>

#include "adapters/generic/action_sender.hpp"
#include "src/outbox/action_codec.hpp"
#include "tests/unit/tls/pki.hpp"

namespace fg::adapters::generic {
namespace {

using fg::testing::Credential;
using fg::testing::TestPki;
using fg::testing::TestServer;
using outbox::DeliveryStatus;

constexpr const char* kPassword = "hunter2-SECRET";

bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

void Accept(const httplib::Request&, httplib::Response& response) { response.status = 204; }

outbox::Action Note() {
    return outbox::Action{.body = {.kind = outbox::ActionKind::kNote,
                                   .tenant = "acme",
                                   .deal = "1",
                                   .idempotency_key = "acme:note:1",
                                   .text = "hello"}};
}

// actions_url with Basic credentials and a query token, on `server`'s https address.
std::string ActionsUrl(const TestServer& server, const std::string& host = "127.0.0.1") {
    return fmt::format("https://bot:{}@{}:{}/actions?token=q-SECRET", kPassword, host,
                       server.port());
}

SenderOptions WithCa(const std::string& ca_file) {
    return SenderOptions{
        .connect_timeout = Duration{5}, .read_timeout = Duration{5}, .ca_file = ca_file};
}

TEST_CASE("ActionSender: a private CA's certificate verifies with ca_file") {
    TestPki pki;
    TestServer server(pki.dir, "receiver", pki.server, Accept);
    ActionSender sender(ActionsUrl(server), WithCa(pki.ca_file));
    const auto result = sender.Deliver(Note());
    INFO(result.error);
    CHECK(result.status == DeliveryStatus::kDelivered);
    const auto seen = server.Requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].path == "/actions");
    CHECK(seen[0].body == outbox::EncodeAction(Note().body));
    CHECK(Contains(seen[0].authorization, "Basic "));
}

TEST_CASE(
    "ActionSender: without ca_file the delivery fails with certificate verify failed and "
    "sends nothing") {
    TestPki pki;
    TestServer server(pki.dir, "receiver", pki.server, Accept);
    ActionSender sender(ActionsUrl(server));
    const auto result = sender.Deliver(Note());
    INFO(result.error);
    CHECK(result.status == DeliveryStatus::kRetry);  // the certificate may be fixed later
    CHECK(Contains(result.error, fmt::format("https://127.0.0.1:{}: certificate verify failed: "
                                             "unable to get local issuer certificate",
                                             server.port())));
    CHECK_FALSE(Contains(result.error, kPassword));
    CHECK_FALSE(Contains(result.error, "q-SECRET"));
    CHECK(server.Count() == 0);
}

TEST_CASE("ActionSender: a certificate for another host name fails") {
    TestPki pki;
    const Credential other = pki.ca.Issue("crm.example.org", "DNS:crm.example.org");
    TestServer server(pki.dir, "receiver", other, Accept);
    ActionSender by_ip(ActionsUrl(server), WithCa(pki.ca_file));
    const auto ip = by_ip.Deliver(Note());
    CHECK(ip.status == DeliveryStatus::kRetry);
    CHECK(Contains(ip.error, "certificate verify failed: IP address mismatch"));
    ActionSender by_name(ActionsUrl(server, "localhost"), WithCa(pki.ca_file));
    const auto name = by_name.Deliver(Note());
    CHECK(name.status == DeliveryStatus::kRetry);
    CHECK(Contains(name.error, "certificate verify failed: hostname mismatch"));
    CHECK(server.Count() == 0);
}

TEST_CASE("ActionSender: an https actions_url never falls back to plain http") {
    TestServer plain(Accept);
    ActionSender sender(fmt::format("https://127.0.0.1:{}/actions", plain.port()));
    const auto result = sender.Deliver(Note());
    INFO(result.error);
    CHECK(result.status == DeliveryStatus::kRetry);
    CHECK(Contains(result.error, "TLS handshake failed"));
    CHECK(plain.Count() == 0);
}

TEST_CASE("ActionSender: a redirect is not followed; neither payload nor credentials move") {
    TestPki pki;
    TestServer elsewhere(pki.dir, "elsewhere", pki.server, Accept);
    TestServer receiver(
        pki.dir, "receiver", pki.server, [&](const httplib::Request&, httplib::Response& response) {
            response.status = 308;
            response.set_header("Location",
                                fmt::format("https://u:p@localhost:{}/grab?x=1", elsewhere.port()));
        });
    ActionSender sender(ActionsUrl(receiver), WithCa(pki.ca_file));
    const auto result = sender.Deliver(Note());
    INFO(result.error);
    CHECK(result.status == DeliveryStatus::kRejected);
    CHECK(Contains(result.error, fmt::format("HTTP 308: a redirect to localhost:{}, not followed",
                                             elsewhere.port())));
    CHECK_FALSE(Contains(result.error, "grab"));
    CHECK_FALSE(Contains(result.error, "u:p"));
    CHECK(receiver.Count() == 1);
    CHECK(elsewhere.Count() == 0);
}

TEST_CASE("ActionSender: a ca_file it cannot load holds deliveries back instead of dropping them") {
    TestPki pki;
    TestServer server(pki.dir, "receiver", pki.server, Accept);
    ActionSender missing(ActionsUrl(server), WithCa(pki.dir.File("gone.pem")));
    const auto result = missing.Deliver(Note());
    CHECK(result.status == DeliveryStatus::kRetry);
    CHECK(Contains(result.error, "gone.pem"));
    ActionSender plain_with_ca(fmt::format("http://127.0.0.1:{}/actions", server.port()),
                               WithCa(pki.ca_file));
    const auto plain = plain_with_ca.Deliver(Note());
    CHECK(plain.status == DeliveryStatus::kRejected);
    CHECK(Contains(plain.error, "ca_file is for an https:// URL"));
    CHECK(server.Count() == 0);
}

TEST_CASE("ActionSender: a ca_file that comes back is used at the next delivery") {
    TestPki pki;
    TestServer server(pki.dir, "receiver", pki.server, Accept);
    const std::string later = pki.dir.File("later.pem");
    ActionSender sender(ActionsUrl(server), WithCa(later));
    CHECK(sender.Deliver(Note()).status == DeliveryStatus::kRetry);
    pki.dir.Write("later.pem", pki.ca.cert_pem());
    const auto result = sender.Deliver(Note());
    INFO(result.error);
    CHECK(result.status == DeliveryStatus::kDelivered);
    CHECK(server.Count() == 1);
}

}  // namespace
}  // namespace fg::adapters::generic
