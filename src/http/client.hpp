#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/http/url.hpp"
#include "src/tls/trust.hpp"

namespace httplib {
class Client;
}  // namespace httplib

namespace fg::http {

/// How a Client talks to its origin.
struct ClientOptions {
    Duration connect_timeout{5};
    Duration read_timeout{20};  // per read of the answer; also bounds writing the request
    /// https only: PEM certificates of a private CA, trusted besides the system store.
    std::string ca_file{};
    /// Idle keep-alive connections kept for reuse; more callers at once open more connections,
    /// and those beyond this many are closed when they are done.
    std::size_t max_idle = 8;
    std::string user_agent = "funnelguard";  // unless a request sets its own
    /// Reads HTTP-date Retry-After values; must outlive the client. nullptr: the system clock.
    const Clock* clock = nullptr;
};

/// One request. `target` is appended to the URL's path ("/api/v4/leads?page=2" after
/// "https://x.amocrm.ru/prefix"); an empty target is the URL itself, path and query as written.
/// A query of the URL is kept on every request, before the target's own.
struct Request {
    std::string method = "GET";
    std::string target{};
    std::vector<std::pair<std::string, std::string>> headers{};
    std::string body{};
    std::string content_type{};  // sent as Content-Type when there is a body
    /// Also read a JSON body's `retry_after` (BodyRetryAfter) when the header gives none.
    bool body_retry_after = false;
};

/// Any answer, 2xx or not.
struct Response {
    int status = 0;
    std::string body{};
    /// A 3xx's Location as the server sent it: never followed. It may carry credentials, so an
    /// error names LocationAuthority(location) only.
    std::string location{};
    /// For a retryable status (IsRetryableStatus): the server's Retry-After, else the body's
    /// `retry_after` when the request asked for it.
    std::optional<Duration> retry_after{};
};

/// Why there is no answer, and what that says about the request.
enum class FailureKind {
    kUnusable,  // the client or the request cannot work (setup failed, CR/LF in a header)
    kConnect,   // no connection: refused, unreachable, no such host, connect timeout
    kTls,       // the handshake or the server's certificate failed, before the request
    kSend,      // the connection failed while the request was written: it may have arrived
    kReceive,   // no whole answer (read timeout, reset): the request may have been processed
};

struct Failure {
    FailureKind kind = FailureKind::kReceive;
    std::string method{};
    std::string path{};  // the request target's path: never its query, never the URL's path
    /// Where and why, naming host and port but never userinfo, path, query or body:
    /// "transport error: 127.0.0.1:9000: cannot connect: connection refused",
    /// "https://crm.example:443: certificate verify failed: <OpenSSL's reason>".
    std::string reason{};

    /// "POST /api/v4/tasks: <reason>"; `reason` alone where the path itself may be a secret.
    std::string Message() const;
};

/// A Response, or the Failure that left none.
struct Outcome {
    std::optional<Response> response{};
    Failure failure{};  // meaningful without a response only

    explicit operator bool() const { return response.has_value(); }
    const Response& operator*() const { return *response; }
    const Response* operator->() const { return &*response; }
};

/// What the outbox makes of an outcome, the same for every receiver.
enum class Verdict {
    kDelivered,  // 2xx
    kRetry,      // 408, 429, 5xx, and every failure to get an answer but kUnusable
    kRejected,   // any other status (3xx and 4xx included), and kUnusable: retrying cannot help
};

struct Classification {
    Verdict verdict = Verdict::kRetry;
    /// The receiver certainly did nothing: a 429 (refused before processing), or no byte of the
    /// request left (no connection, TLS refused, unusable). A retry needs no check for a
    /// write that may have landed.
    bool not_sent = false;
};

/// 408, 429 and 5xx.
bool IsRetryableStatus(int status);
Classification ClassifyStatus(int status);
Classification ClassifyFailure(FailureKind kind);
Classification Classify(const Outcome& outcome);

/// The outbound HTTP client of one origin (scheme, host, port, and the URL's path, query and
/// userinfo), for every adapter and notifier. Thread-safe: callers share a small pool of
/// keep-alive connections, each used by one request at a time.
///
/// Every connection: connect and read timeouts, TCP_NODELAY (without it cpp-httplib 0.11.4 waits
/// ~40 ms per keep-alive request), Basic auth from the URL's userinfo. For https the server's
/// chain is verified against the system store plus `ca_file` and must name the host
/// (tls::Secure); a failure ends the connection before a byte of the request is written, and
/// https never falls back to http. A redirect is never followed: the 3xx comes back as a
/// Response, so neither the body nor a credential reaches its Location.
class Client {
public:
    /// kInvalidInput: https is not supported by this build, or `ca_file` is set for an http://
    /// URL. kUnavailable: `ca_file` cannot be loaded ("ca_file: <reason>", naming the file,
    /// never its content): it may be fixed. Messages never repeat the URL.
    static Result<std::unique_ptr<Client>> Make(const Url& url, ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Sends `request` once (never retried here); any status is a Response.
    Outcome Send(const Request& request);

    const std::string& host() const { return url_.host; }
    int port() const { return url_.port; }

private:
    Client(Url url, ClientOptions options, std::shared_ptr<const tls::CaCertificates> extra_ca);
    std::unique_ptr<httplib::Client> Connect() const;
    std::unique_ptr<httplib::Client> Take();
    void GiveBack(std::unique_ptr<httplib::Client> connection);
    std::string FullTarget(std::string_view target) const;

    Url url_;
    ClientOptions options_;
    std::shared_ptr<const tls::CaCertificates> extra_ca_;  // null: the system store alone
    std::string origin_;                                   // "scheme://host:port"
    std::mutex mutex_;
    std::vector<std::unique_ptr<httplib::Client>> idle_;
};

}  // namespace fg::http
