#include "src/tls/trust.hpp"

#include <string>

#include <doctest/doctest.h>
#include <openssl/x509.h>

#include "tests/support/process.hpp"
#include "tests/unit/tls/pki.hpp"

namespace fg::tls {
namespace {

using fg::testing::TempDir;
using fg::testing::TestCa;

bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST_CASE("CheckCaFile counts the PEM certificates of a CA file") {
    TempDir dir;
    TestCa ca;
    TestCa other("second test CA");
    SUBCASE("one certificate") {
        auto count = CheckCaFile(dir.Write("ca.pem", ca.cert_pem()));
        REQUIRE(count);
        CHECK(*count == 1);
    }
    SUBCASE("a bundle, with comments and other PEM blocks around the certificates") {
        const std::string text = "# private CAs\n" + ca.cert_pem() + "\n" +
                                 ca.Issue("x", "DNS:x").key_pem + other.cert_pem();
        auto count = CheckCaFile(dir.Write("bundle.pem", text));
        REQUIRE(count);
        CHECK(*count == 2);
    }
}

TEST_CASE("CheckCaFile explains what is wrong with a CA file, naming the file only") {
    TempDir dir;
    TestCa ca;
    auto problem = [](const std::string& path) {
        auto checked = CheckCaFile(path);
        REQUIRE_FALSE(checked);
        CHECK(checked.error().code == ErrorCode::kInvalidInput);
        CHECK(Contains(checked.error().message, path));
        return checked.error().message;
    };
    CHECK(Contains(problem(dir.File("missing.pem")), "No such file"));
    CHECK(Contains(problem(dir.path()), "not a regular file"));
    CHECK(Contains(problem(dir.Write("empty.pem", "")), "holds no PEM certificate"));
    CHECK(Contains(problem(dir.Write("der.pem", "\x30\x82\x01\x0a garbage")),
                   "holds no PEM certificate"));
    CHECK(Contains(problem(dir.Write("key.pem", ca.Issue("x", "DNS:x").key_pem)),
                   "holds no PEM certificate"));
    // A damaged second certificate: its body is cut in half.
    std::string broken = ca.cert_pem();
    broken.erase(broken.size() / 2, broken.size() / 4);
    const std::string message = problem(dir.Write("broken.pem", ca.cert_pem() + broken));
    CHECK(Contains(message, "certificate 2 does not parse"));
    CHECK_FALSE(Contains(message, ca.cert_pem().substr(40, 20)));  // no content in the message
}

TEST_CASE("CaCertificates::Load parses a CA file once; AddTo puts it into a store") {
    TempDir dir;
    TestCa ca;
    TestCa other("second test CA");
    auto extra = CaCertificates::Load(dir.Write("ca.pem", ca.cert_pem() + other.cert_pem()));
    REQUIRE(extra);
    CHECK((*extra)->size() == 2);
    CHECK((*extra)->ca_file() == dir.File("ca.pem"));
    X509_STORE* store = X509_STORE_new();
    REQUIRE(store != nullptr);
    CHECK((*extra)->AddTo(store));
    CHECK((*extra)->AddTo(store));  // again: already there is no error
    STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
    CHECK(sk_X509_OBJECT_num(objects) == 2);
    X509_STORE_free(store);
    auto missing = CaCertificates::Load(dir.File("nope.pem"));
    REQUIRE_FALSE(missing);
    CHECK(Contains(missing.error().message, "nope.pem"));
}

TEST_CASE("IsLoopbackHost knows the names of this machine") {
    for (const char* host : {"localhost", "LOCALHOST", "localhost.", "sim.localhost", "127.0.0.1",
                             "127.1.2.3", "::1"}) {
        CAPTURE(host);
        CHECK(IsLoopbackHost(host));
    }
    for (const char* host : {"", "example.com", "localhost.example.com", "mylocalhost", "10.0.0.1",
                             "128.0.0.1", "0.0.0.0", "::", "::ffff:10.0.0.1", "127.0.0.1.nip.io"}) {
        CAPTURE(host);
        CHECK_FALSE(IsLoopbackHost(host));
    }
}

}  // namespace
}  // namespace fg::tls
