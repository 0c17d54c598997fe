#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/result.hpp"

struct x509_st;
struct x509_store_st;

namespace fg::tls {

/// Reads `path` as one or more PEM certificates (a private CA, or a chain of them) and returns
/// how many there are. kInvalidInput when the file is missing, unreadable, holds no certificate
/// or a block that does not parse; the reason names the file, never its content.
Result<int> CheckCaFile(const std::string& path);

/// The certificates of a `ca_file`, parsed once, that an outbound HTTPS client trusts besides
/// the system store: they are added to each connection's own store, which httplib fills with
/// OpenSSL's default paths (/etc/ssl/certs on Debian, or SSL_CERT_FILE / SSL_CERT_DIR when set)
/// at its first handshake. The file adds to the system store, it never replaces it. Stores are
/// never shared between connections: OpenSSL's set_default_paths is not safe on a store in use.
/// Immutable once loaded; connections on any thread share it.
class CaCertificates {
public:
    /// kInvalidInput as CheckCaFile reports it.
    static Result<std::shared_ptr<const CaCertificates>> Load(const std::string& ca_file);
    ~CaCertificates();
    CaCertificates(const CaCertificates&) = delete;
    CaCertificates& operator=(const CaCertificates&) = delete;

    /// Adds every certificate to `store` (one already there is no error); false on failure.
    bool AddTo(x509_store_st* store) const;
    std::size_t size() const { return certificates_.size(); }
    const std::string& ca_file() const { return ca_file_; }

private:
    CaCertificates(std::vector<x509_st*> certificates, std::string ca_file);

    std::vector<x509_st*> certificates_;  // owned
    std::string ca_file_;
};

/// Whether `host` (as written in a URL, without brackets) names this machine: "localhost",
/// "*.localhost", 127.0.0.0/8 or ::1. Plain http is acceptable only there.
bool IsLoopbackHost(std::string_view host);

}  // namespace fg::tls
