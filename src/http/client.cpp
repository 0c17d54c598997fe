#include "src/http/client.hpp"

#include <algorithm>
#include <exception>

#include <fmt/format.h>
#include <httplib.h>

#include "src/common/log.hpp"
#include "src/http/retry_after.hpp"
#include "src/tls/https_client.hpp"

namespace fg::http {
namespace {

const Clock& SystemTime() {
    static const SystemClock clock;
    return clock;
}

FailureKind KindOf(httplib::Error error) {
    switch (error) {
        case httplib::Error::Connection:
        case httplib::Error::ConnectionTimeout:
        case httplib::Error::BindIPAddress:
            return FailureKind::kConnect;
        case httplib::Error::SSLConnection:
        case httplib::Error::SSLLoadingCerts:
        case httplib::Error::SSLServerVerification:
            return FailureKind::kTls;
        case httplib::Error::Write:
            return FailureKind::kSend;
        case httplib::Error::UnsupportedMultipartBoundaryChars:
            return FailureKind::kUnusable;
        default:
            // Read, Canceled, Compression, Unknown: the request may have been processed.
            return FailureKind::kReceive;
    }
}

// httplib 0.11.4 writes header fields as given, so a CR or LF would split the request and a
// colon in a name would forge another field.
bool IsHeaderValueSafe(std::string_view value) {
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool IsHeaderName(std::string_view name) {
    constexpr std::string_view kTokenMarks = "!#$%&'*+-.^_`|~";
    return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               kTokenMarks.find(c) != std::string_view::npos;
    });
}

bool HasHeader(const Request& request, std::string_view name) {
    for (const auto& [key, value] : request.headers) {
        if (key.size() == name.size() &&
            std::equal(key.begin(), key.end(), name.begin(),
                       [](char a, char b) { return (a | 0x20) == (b | 0x20); })) {
            return true;
        }
    }
    return false;
}

}  // namespace

bool IsRetryableStatus(int status) { return status == 408 || status == 429 || status >= 500; }

Classification ClassifyStatus(int status) {
    if (status >= 200 && status < 300) {
        return {.verdict = Verdict::kDelivered};
    }
    if (IsRetryableStatus(status)) {
        // A 429 is refused before any work; a 408 or a 5xx may come after some.
        return {.verdict = Verdict::kRetry, .not_sent = status == 429};
    }
    return {.verdict = Verdict::kRejected};
}

Classification ClassifyFailure(FailureKind kind) {
    switch (kind) {
        case FailureKind::kUnusable:
            return {.verdict = Verdict::kRejected, .not_sent = true};
        case FailureKind::kConnect:
        case FailureKind::kTls:
            // A certificate can be fixed, a server can come back: retry, knowing nothing left.
            return {.verdict = Verdict::kRetry, .not_sent = true};
        case FailureKind::kSend:
        case FailureKind::kReceive:
            break;
    }
    return {.verdict = Verdict::kRetry, .not_sent = false};
}

Classification Classify(const Outcome& outcome) {
    return outcome ? ClassifyStatus(outcome->status) : ClassifyFailure(outcome.failure.kind);
}

std::string Failure::Message() const {
    return path.empty() ? fmt::format("{}: {}", method, reason)
                        : fmt::format("{} {}: {}", method, path, reason);
}

Result<std::unique_ptr<Client>> Client::Make(const Url& url, ClientOptions options) {
    std::shared_ptr<const tls::CaCertificates> extra_ca;
    if (!options.ca_file.empty()) {
        if (!url.https()) {
            return MakeError(ErrorCode::kInvalidInput,
                             "ca_file is for an https:// URL; this one is http://");
        }
        auto loaded = tls::CaCertificates::Load(options.ca_file);
        if (!loaded) {
            return MakeError(ErrorCode::kUnavailable, "ca_file: {}", loaded.error().message);
        }
        extra_ca = std::move(*loaded);
    }
    std::unique_ptr<Client> client(new Client(url, std::move(options), std::move(extra_ca)));
    // One connection now, so that what cannot work is known before the first request; it
    // opens no socket until then and becomes the first idle one.
    std::unique_ptr<httplib::Client> first = client->Connect();
    if (!first) {
        if (client->extra_ca_ != nullptr) {
            return MakeError(ErrorCode::kUnavailable,
                             "ca_file: its certificates cannot be added (out of memory)");
        }
        return MakeError(ErrorCode::kInvalidInput, "{} is not supported by this build", url.scheme);
    }
    client->GiveBack(std::move(first));
    return client;
}

Client::Client(Url url, ClientOptions options, std::shared_ptr<const tls::CaCertificates> extra_ca)
    : url_(std::move(url)),
      options_(std::move(options)),
      extra_ca_(std::move(extra_ca)),
      origin_(fmt::format("{}://{}:{}", url_.scheme, url_.host, url_.port)) {
    if (options_.clock == nullptr) {
        options_.clock = &SystemTime();
    }
}

Client::~Client() = default;

std::unique_ptr<httplib::Client> Client::Connect() const {
    std::unique_ptr<httplib::Client> connection;
    try {
        connection = std::make_unique<httplib::Client>(origin_);
    } catch (const std::exception&) {
        return nullptr;  // httplib throws for a scheme it was built without (https)
    }
    if (!connection->is_valid()) {
        return nullptr;
    }
    const auto connect = static_cast<time_t>(options_.connect_timeout.count());
    const auto read = static_cast<time_t>(options_.read_timeout.count());
    connection->set_connection_timeout(connect, 0);
    connection->set_read_timeout(read, 0);
    connection->set_write_timeout(read, 0);
    connection->set_tcp_nodelay(true);
    connection->set_keep_alive(true);
    if (url_.has_userinfo) {
        connection->set_basic_auth(url_.user, url_.password);
    }
    // No redirects (one could carry the body and the credentials elsewhere); certificates
    // verified, TLS 1.2 at least.
    if (!tls::Secure(*connection, url_.host, extra_ca_.get())) {
        return nullptr;
    }
    return connection;
}

std::unique_ptr<httplib::Client> Client::Take() {
    {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            std::unique_ptr<httplib::Client> connection = std::move(idle_.back());
            idle_.pop_back();
            return connection;
        }
    }
    return Connect();
}

void Client::GiveBack(std::unique_ptr<httplib::Client> connection) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < std::max<std::size_t>(options_.max_idle, 1)) {
        idle_.push_back(std::move(connection));
    }
}

std::string Client::FullTarget(std::string_view target) const {
    const auto mark = target.find('?');
    const std::string_view path = target.substr(0, mark);
    const std::string_view query =
        mark == std::string_view::npos ? std::string_view{} : target.substr(mark + 1);
    std::string full;
    if (path.empty()) {
        full = url_.path.empty() ? "/" : url_.path;
    } else {
        std::string_view base = url_.path;
        while (!base.empty() && base.back() == '/') {
            base.remove_suffix(1);
        }
        full = std::string(base);
        if (path.front() != '/') {
            full += '/';
        }
        full += path;
    }
    full += url_.query;
    if (!query.empty()) {
        full += url_.query.empty() ? '?' : '&';
        full += query;
    }
    return full;
}

Outcome Client::Send(const Request& request) {
    Outcome outcome;
    Failure& failure = outcome.failure;
    failure.method = request.method;
    failure.path =
        std::string(std::string_view(request.target).substr(0, request.target.find('?')));
    auto fail = [&outcome](FailureKind kind, std::string reason) {
        outcome.failure.kind = kind;
        outcome.failure.reason = std::move(reason);
        return std::move(outcome);
    };
    if (!std::all_of(request.target.begin(), request.target.end(), [](char c) {
            const auto byte = static_cast<unsigned char>(c);
            return byte > 0x20 && byte < 0x7f;
        })) {
        // The request line is written as given too; a target is percent-encoded by its caller.
        return fail(FailureKind::kUnusable,
                    "the target has spaces or control characters; not sent");
    }
    for (const auto& [name, value] : request.headers) {
        if (!IsHeaderName(name)) {
            return fail(FailureKind::kUnusable, "a header name is not an HTTP token; not sent");
        }
        if (!IsHeaderValueSafe(value)) {
            // The value is not repeated: it may be a credential.
            return fail(FailureKind::kUnusable,
                        fmt::format("header {} has a line break or NUL; not sent", name));
        }
    }
    std::unique_ptr<httplib::Client> connection = Take();
    if (!connection) {
        return fail(
            FailureKind::kUnusable,
            fmt::format("no connection to {} can be set up (out of memory?)", url_.Authority()));
    }
    httplib::Request http;
    http.method = request.method;
    http.path = FullTarget(request.target);
    if (!HasHeader(request, "User-Agent") && !options_.user_agent.empty()) {
        http.headers.emplace("User-Agent", options_.user_agent);
    }
    for (const auto& [name, value] : request.headers) {
        http.headers.emplace(name, value);
    }
    if (!request.body.empty()) {
        if (!request.content_type.empty()) {
            http.headers.emplace("Content-Type", request.content_type);
        }
        http.body = request.body;
    }
    std::optional<httplib::Result> result;
    try {
        result.emplace(connection->send(http));
    } catch (const std::exception& error) {
        // httplib reports failures as values; this is the library's boundary all the same.
        return fail(FailureKind::kReceive, fmt::format("transport error: {}: {}", url_.Authority(),
                                                       LogSafe(error.what())));
    }
    if (!*result) {
        // The connection is dropped: whatever state it is in, the next request starts afresh.
        const httplib::Error error = result->error();
        return fail(KindOf(error), tls::DescribeFailure(*connection, error, url_.host, url_.port));
    }
    const httplib::Response& answer = result->value();
    Response response{.status = answer.status, .body = answer.body};
    if (answer.status >= 300 && answer.status < 400) {
        response.location = answer.get_header_value("Location");
    }
    if (IsRetryableStatus(answer.status)) {
        if (answer.has_header("Retry-After")) {
            response.retry_after =
                ParseRetryAfter(answer.get_header_value("Retry-After"), options_.clock->Now());
        }
        if (!response.retry_after && request.body_retry_after) {
            response.retry_after = BodyRetryAfter(response.body, options_.clock->Now());
        }
    }
    GiveBack(std::move(connection));
    outcome.response = std::move(response);
    return outcome;
}

}  // namespace fg::http
