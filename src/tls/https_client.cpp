#include "src/tls/https_client.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace fg::tls {
namespace {

bool IsIpLiteral(const std::string& host) {
    unsigned char address[16];
    return ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// How long the second look at a failed connection may take (see ConnectFailure).
constexpr int kProbeMillis = 2000;

// strerror's text with a lower-case first letter, to follow a colon.
std::string Reason(int error) {
    std::string text = std::strerror(error);
    if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') {
        text[0] = static_cast<char>(text[0] - 'A' + 'a');
    }
    return text;
}

// The error of one non-blocking connect to `address`, bounded by kProbeMillis; 0 on success.
int TryConnect(const addrinfo& address) {
    const int fd = ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            address.ai_protocol);
    if (fd < 0) {
        return errno;
    }
    int error = 0;
    if (::connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
        error = errno;
        if (error == EINPROGRESS) {
            pollfd ready{.fd = fd, .events = POLLOUT, .revents = 0};
            const int polled = ::poll(&ready, 1, kProbeMillis);
            socklen_t length = sizeof error;
            if (polled == 0) {
                error = ETIMEDOUT;
            } else if (polled < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
                error = errno;
            }
        }
    }
    ::close(fd);
    return error;
}

// httplib 0.11.4 reports a failed connection as "Connection" and keeps the system's reason to
// itself, so the connection is tried once more, here, to learn it: the name that does not
// resolve, the port nobody listens on, the network that is unreachable.
std::string ConnectFailure(std::string_view host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string name(host);
    const std::string service = std::to_string(port);
    if (const int resolved = ::getaddrinfo(name.c_str(), service.c_str(), &hints, &found);
        resolved != 0) {
        return fmt::format("cannot resolve the host: {}",
                           resolved == EAI_SYSTEM ? Reason(errno) : ::gai_strerror(resolved));
    }
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
    int error = 0;
    for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
        error = TryConnect(*address);
        if (error == 0) {
            return "cannot connect (it accepts connections again now)";
        }
    }
    return fmt::format("cannot connect: {}", Reason(error));
}

}  // namespace

std::string FailureReason(httplib::Error error, std::string_view host, int port) {
    switch (error) {
        case httplib::Error::Connection:
            return ConnectFailure(host, port);
        case httplib::Error::ConnectionTimeout:
            return "cannot connect: timed out";
        case httplib::Error::Read:
            return "no answer: the connection was closed or timed out before the whole answer "
                   "came";
        case httplib::Error::Write:
            return "the connection was closed or timed out while the request was sent";
        default:
            return httplib::to_string(error);
    }
}

bool Secure(httplib::Client& client, std::string_view host, const CaCertificates* extra) {
    client.set_follow_location(false);
    client.enable_server_certificate_verification(true);
    SSL_CTX* context = client.ssl_context();
    if (context == nullptr) {
        return true;  // plain http
    }
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    // The context's own store: httplib 0.11.4 adds OpenSSL's default paths (the system store)
    // to it before the first handshake, as no CA path is set (SSLClient::load_certs).
    if (extra != nullptr && !extra->AddTo(SSL_CTX_get_cert_store(context))) {
        return false;
    }
    // httplib checks the name itself after the handshake, but reports a mismatch with no
    // reason; asking OpenSSL to check it too makes the verify result say "hostname mismatch".
    // OpenSSL's check also follows RFC 6125 (no common-name fallback when there are DNS names).
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(context);
    const std::string name(host);
    if (IsIpLiteral(name)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, name.data(), name.size());
    }
    return true;
}

std::string DescribeFailure(const httplib::Client& client, httplib::Error error,
                            std::string_view host, int port) {
    switch (error) {
        case httplib::Error::SSLServerVerification: {
            const long result = client.get_openssl_verify_result();
            std::string reason = result == X509_V_OK
                                     ? fmt::format("the certificate does not name {}", host)
                                     : std::string(X509_verify_cert_error_string(result));
            if (result == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                result == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                result == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) {
                reason += " (signed by a private CA? name its certificate in ca_file)";
            }
            return fmt::format("https://{}:{}: certificate verify failed: {}", host, port, reason);
        }
        case httplib::Error::SSLConnection:
            return fmt::format(
                "https://{}:{}: TLS handshake failed (not a TLS server, or no protocol version "
                "or cipher in common)",
                host, port);
        case httplib::Error::SSLLoadingCerts:
            return fmt::format("https://{}:{}: the trusted CA certificates cannot be loaded", host,
                               port);
        default: {
            // IPv6 literals in brackets, so that the port stays apart.
            const bool ipv6 = host.find(':') != std::string_view::npos;
            return fmt::format("transport error: {}{}{}:{}: {}", ipv6 ? "[" : "", host,
                               ipv6 ? "]" : "", port, FailureReason(error, host, port));
        }
    }
}

}  // namespace fg::tls
