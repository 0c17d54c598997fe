#pragma once

#include <string>
#include <string_view>

#include "src/tls/trust.hpp"

namespace httplib {
class Client;
enum class Error;
}  // namespace httplib

namespace fg::tls {

/// What every outbound client of funnelguard gets, whatever it talks to:
/// - redirects are never followed (a Location elsewhere would get the token or the payload);
/// - for an https:// client: the server's certificate chain is verified against the system
///   store plus `extra` (when not null) and must name `host` (DNS name or IP address, checked
///   by OpenSSL), TLS 1.2 at least. A failed check ends the connection after the handshake, before
///   a byte of the request is written. An https client never falls back to plain http.
/// `host` is the host the client connects to, as in its URL.
/// False when `extra` could not be added (out of memory): the client must not be used.
bool Secure(httplib::Client& client, std::string_view host, const CaCertificates* extra);

/// A failed request's reason for an error message, naming the host and port but never the
/// URL's userinfo, path or query: for a certificate that did not verify "https://<host>:<port>:
/// certificate verify failed: <OpenSSL's reason>", for other TLS failures what failed, otherwise
/// "transport error: <host>:<port>: <FailureReason>".
std::string DescribeFailure(const httplib::Client& client, httplib::Error error,
                            std::string_view host, int port);

/// Why a request to host:port failed, in words: "cannot connect: connection refused", "cannot
/// resolve the host: <reason>", "cannot connect: timed out", "no answer: ...". For a refused or
/// failed connection the system's reason is learnt by connecting once more (at most 2 s), as
/// httplib keeps it to itself.
std::string FailureReason(httplib::Error error, std::string_view host, int port);

}  // namespace fg::tls
