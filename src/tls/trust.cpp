#include "src/tls/trust.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

namespace fg::tls {
namespace {

// A CA bundle is a few hundred kilobytes at most (Debian's whole system bundle is ~220 KB).
constexpr std::size_t kMaxCaFileBytes = 16 * 1024 * 1024;

struct X509Free {
    void operator()(X509* certificate) const { X509_free(certificate); }
};
using Certificate = std::unique_ptr<X509, X509Free>;

struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};

Error CaFileError(const std::string& path, std::string_view reason) {
    return MakeError(ErrorCode::kInvalidInput, "CA file {}: {}", path, reason);
}

// OpenSSL's reason for the last failure on this thread, and an empty error queue afterwards.
std::string TakeOpenSslReason() {
    const unsigned long code = ERR_peek_last_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    std::string text = reason != nullptr ? reason : "unknown error";
    ERR_clear_error();
    return text;
}

Result<std::vector<Certificate>> ReadCertificates(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        return CaFileError(path, fmt::format("cannot read it: {}", std::strerror(errno)));
    }
    if (!S_ISREG(info.st_mode)) {
        return CaFileError(path, "not a regular file");
    }
    if (static_cast<std::size_t>(info.st_size) > kMaxCaFileBytes) {
        return CaFileError(path, "larger than 16 MiB: not a CA bundle");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return CaFileError(path, fmt::format("cannot read it: {}", std::strerror(errno)));
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) {
        return MakeError(ErrorCode::kInternal, "CA file {}: out of memory", path);
    }
    ERR_clear_error();
    std::vector<Certificate> certificates;
    for (;;) {
        Certificate certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (certificate) {
            certificates.push_back(std::move(certificate));
            continue;
        }
        const unsigned long code = ERR_peek_last_error();
        if (ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
            ERR_clear_error();  // the end of the file: no further BEGIN CERTIFICATE line
            break;
        }
        return CaFileError(path, fmt::format("certificate {} does not parse: {}",
                                             certificates.size() + 1, TakeOpenSslReason()));
    }
    if (certificates.empty()) {
        return CaFileError(path,
                           "holds no PEM certificate (expected \"-----BEGIN CERTIFICATE-----\")");
    }
    return certificates;
}

}  // namespace

Result<int> CheckCaFile(const std::string& path) {
    auto certificates = ReadCertificates(path);
    if (!certificates) {
        return certificates.error();
    }
    return static_cast<int>(certificates->size());
}

CaCertificates::CaCertificates(std::vector<X509*> certificates, std::string ca_file)
    : certificates_(std::move(certificates)), ca_file_(std::move(ca_file)) {}

CaCertificates::~CaCertificates() {
    for (X509* certificate : certificates_) {
        X509_free(certificate);
    }
}

Result<std::shared_ptr<const CaCertificates>> CaCertificates::Load(const std::string& ca_file) {
    auto certificates = ReadCertificates(ca_file);
    if (!certificates) {
        return certificates.error();
    }
    std::vector<X509*> owned;
    owned.reserve(certificates->size());
    for (Certificate& certificate : *certificates) {
        owned.push_back(certificate.release());
    }
    return std::shared_ptr<const CaCertificates>(new CaCertificates(std::move(owned), ca_file));
}

bool CaCertificates::AddTo(X509_STORE* store) const {
    for (X509* certificate : certificates_) {
        // The store counts its own reference; a certificate it holds already is no error.
        if (X509_STORE_add_cert(store, certificate) != 1) {
            const unsigned long code = ERR_peek_last_error();
            ERR_clear_error();
            if (ERR_GET_REASON(code) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
                return false;
            }
        }
    }
    return true;
}

bool IsLoopbackHost(std::string_view host) {
    std::string lower;
    for (const char c : host) {
        lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    while (!lower.empty() && lower.back() == '.') {
        lower.pop_back();  // "localhost." is the same name
    }
    const std::string_view suffix = ".localhost";
    if (lower == "localhost" ||
        (lower.size() > suffix.size() &&
         lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0)) {
        return true;
    }
    in_addr v4{};
    if (::inet_pton(AF_INET, lower.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, lower.c_str(), &v6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
    }
    return false;
}

}  // namespace fg::tls
