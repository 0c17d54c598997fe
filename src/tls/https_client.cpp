#include "src/tls/https_client.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace fg::tls {
namespace {

bool IsIpLiteral(const std::string& host) {
    unsigned char address[16];
    return ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

}  // namespace

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

bool IsTlsFailure(httplib::Error error) {
    return error == httplib::Error::SSLConnection || error == httplib::Error::SSLLoadingCerts ||
           error == httplib::Error::SSLServerVerification;
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
        default:
            return fmt::format("transport error: {}", httplib::to_string(error));
    }
}

std::string_view LocationAuthority(std::string_view location) {
    const auto scheme = location.find("://");
    if (scheme == std::string_view::npos) {
        return {};
    }
    std::string_view authority = location.substr(scheme + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority = authority.substr(at + 1);
    }
    return authority;
}

}  // namespace fg::tls
