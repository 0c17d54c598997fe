#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "src/common/result.hpp"

struct x509_store_st;

namespace fg::tls {

/// Reads `path` as one or more PEM certificates (a private CA, or a chain of them) and returns
/// how many there are. kInvalidInput when the file is missing, unreadable, holds no certificate
/// or a block that does not parse; the reason names the file, never its content.
Result<int> CheckCaFile(const std::string& path);

/// The certificates an outbound HTTPS client trusts: the system store (OpenSSL's default paths:
/// /etc/ssl/certs on Debian, or SSL_CERT_FILE / SSL_CERT_DIR when set) plus the certificates of
/// a `ca_file`. The file adds to the system store, it never replaces it. Immutable once loaded;
/// connections on any thread share it.
class TrustStore {
public:
    /// kInvalidInput as CheckCaFile reports it.
    static Result<std::shared_ptr<const TrustStore>> Load(const std::string& ca_file);
    ~TrustStore();
    TrustStore(const TrustStore&) = delete;
    TrustStore& operator=(const TrustStore&) = delete;

    /// OpenSSL's store; hand it to an SSL_CTX with SSL_CTX_set1_cert_store (which counts a
    /// reference), never with a call that takes it over.
    x509_store_st* store() const { return store_; }
    const std::string& ca_file() const { return ca_file_; }

private:
    TrustStore(x509_store_st* store, std::string ca_file);

    x509_store_st* store_;
    std::string ca_file_;
};

/// Whether `host` (as written in a URL, without brackets) names this machine: "localhost",
/// "*.localhost", 127.0.0.0/8 or ::1. Plain http is acceptable only there.
bool IsLoopbackHost(std::string_view host);

}  // namespace fg::tls
