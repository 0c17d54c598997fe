#pragma once

// A throwaway certificate authority made at test time with the OpenSSL API (no openssl CLI,
// nothing on disk until asked), and an httplib server on 127.0.0.1 that records requests.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "tests/support/fake_http_server.hpp"
#include "tests/support/process.hpp"

namespace fg::testing {

/// A key and certificate in PEM.
struct Credential {
    std::string cert_pem{};
    std::string key_pem{};
};

/// A self-signed CA (EC P-256, valid from an hour ago for a day) that issues server
/// certificates.
class TestCa {
public:
    explicit TestCa(const std::string& common_name = "funnelguard throwaway test CA");
    ~TestCa();
    TestCa(const TestCa&) = delete;
    TestCa& operator=(const TestCa&) = delete;

    const std::string& cert_pem() const { return self_.cert_pem; }
    /// A server certificate for `subject_alt_names` in OpenSSL's syntax
    /// ("DNS:localhost,IP:127.0.0.1") with `common_name` as its subject.
    Credential Issue(const std::string& common_name, const std::string& subject_alt_names) const;

private:
    struct Keys;
    std::unique_ptr<Keys> keys_;
    Credential self_;
};

/// One request as the TLS server saw it.
struct SeenRequest {
    std::string method{};
    std::string path{};
    std::string authorization{};
    std::string body{};
};

/// An httplib server on 127.0.0.1, port 0, answering every method and path through `handler`
/// and recording each request the handler ran for: HTTPS with `credential` (written to `dir`),
/// or plain HTTP.
class TestServer {
public:
    using Handler = FakeHttpServer::Handler;

    TestServer(const TempDir& dir, const std::string& name, const Credential& credential,
               Handler handler);
    explicit TestServer(Handler handler);  // plain http
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    int port() const { return server_.port(); }
    /// "https://<host>:<port>" (or http:// for a plain server).
    std::string Url(const std::string& host = "127.0.0.1") const;
    std::vector<SeenRequest> Requests() const;
    std::size_t Count() const { return server_.Count(); }

private:
    FakeHttpServer server_;
};

/// A CA, its certificate in a file (a tenant's ca_file) and a server certificate it issued for
/// 127.0.0.1 and localhost.
struct TestPki {
    TempDir dir{};
    TestCa ca{};
    std::string ca_file = dir.Write("ca.pem", ca.cert_pem());
    Credential server = ca.Issue("localhost", "DNS:localhost,IP:127.0.0.1");
};

/// Points OpenSSL's default certificate file (the "system store") at `path` for the scope.
class ScopedCertFile {
public:
    explicit ScopedCertFile(const std::string& path);
    ~ScopedCertFile();
    ScopedCertFile(const ScopedCertFile&) = delete;
    ScopedCertFile& operator=(const ScopedCertFile&) = delete;

private:
    std::optional<std::string> previous_;
};

}  // namespace fg::testing
