#include "tests/unit/tls/pki.hpp"

#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace fg::testing {
namespace {

struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
    void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void Check(bool ok, const char* what) {
    if (!ok) {
        throw std::runtime_error(fmt::format("test PKI: {} failed", what));
    }
}

Key NewKey() {
    Key key(EVP_EC_gen("P-256"));
    Check(key != nullptr, "EVP_EC_gen");
    return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    Check(extension != nullptr, "X509V3_EXT_conf_nid");
    Check(X509_add_ext(cert, extension, -1) == 1, "X509_add_ext");
    X509_EXTENSION_free(extension);
}

// A certificate for `key` named `common_name`, issued by `issuer` (null: self-signed).
Cert NewCert(EVP_PKEY* key, const std::string& common_name, X509* issuer) {
    Cert cert(X509_new());
    Check(cert != nullptr, "X509_new");
    Check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
    unsigned char serial[16];
    Check(RAND_bytes(serial, sizeof serial) == 1, "RAND_bytes");
    serial[0] &= 0x7f;  // positive
    BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
    Check(BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert.get())) != nullptr, "serial");
    BN_free(number);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_NAME* name = X509_get_subject_name(cert.get());
    Check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                     -1, -1, 0) == 1,
          "subject");
    Check(X509_set_issuer_name(cert.get(),
                               issuer != nullptr ? X509_get_subject_name(issuer) : name) == 1,
          "issuer");
    Check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
    return cert;
}

std::string ToPem(X509* cert) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    Check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string ToPem(EVP_PKEY* key) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    Check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_bio_PrivateKey");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

struct TestCa::Keys {
    Key key;
    Cert cert;
};

TestCa::TestCa(const std::string& common_name) : keys_(std::make_unique<Keys>()) {
    keys_->key = NewKey();
    keys_->cert = NewCert(keys_->key.get(), common_name, nullptr);
    X509* cert = keys_->cert.get();
    AddExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    AddExtension(cert, cert, NID_subject_key_identifier, "hash");
    Check(X509_sign(cert, keys_->key.get(), EVP_sha256()) > 0, "X509_sign");
    self_.cert_pem = ToPem(cert);
    self_.key_pem = ToPem(keys_->key.get());
}

TestCa::~TestCa() = default;

Credential TestCa::Issue(const std::string& common_name,
                         const std::string& subject_alt_names) const {
    Key key = NewKey();
    Cert cert = NewCert(key.get(), common_name, keys_->cert.get());
    X509* ca = keys_->cert.get();
    AddExtension(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), ca, NID_key_usage, "critical,digitalSignature");
    AddExtension(cert.get(), ca, NID_ext_key_usage, "serverAuth");
    AddExtension(cert.get(), ca, NID_subject_alt_name, subject_alt_names);
    AddExtension(cert.get(), ca, NID_authority_key_identifier, "keyid:always");
    Check(X509_sign(cert.get(), keys_->key.get(), EVP_sha256()) > 0, "X509_sign");
    return Credential{.cert_pem = ToPem(cert.get()), .key_pem = ToPem(key.get())};
}

namespace {

std::unique_ptr<httplib::Server> MakeSslServer(const TempDir& dir, const std::string& name,
                                               const Credential& credential) {
    const std::string cert = dir.Write(name + ".crt", credential.cert_pem);
    const std::string key = dir.Write(name + ".key", credential.key_pem);
    return std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
}

}  // namespace

TestServer::TestServer(const TempDir& dir, const std::string& name, const Credential& credential,
                       Handler handler)
    : server_(MakeSslServer(dir, name, credential)) {
    server_.ServeAll(std::move(handler));
    server_.Start();
}

TestServer::TestServer(Handler handler) {
    server_.ServeAll(std::move(handler));
    server_.Start();
}

std::string TestServer::Url(const std::string& host) const { return server_.Url("", host); }

std::vector<SeenRequest> TestServer::Requests() const {
    std::vector<SeenRequest> out;
    for (const RecordedRequest& request : server_.Requests()) {
        out.push_back(SeenRequest{.method = request.method,
                                  .path = request.path,
                                  .authorization = request.Header("Authorization"),
                                  .body = request.body});
    }
    return out;
}

ScopedCertFile::ScopedCertFile(const std::string& path) {
    if (const char* value = std::getenv("SSL_CERT_FILE")) {
        previous_ = value;
    }
    ::setenv("SSL_CERT_FILE", path.c_str(), 1);
}

ScopedCertFile::~ScopedCertFile() {
    if (previous_) {
        ::setenv("SSL_CERT_FILE", previous_->c_str(), 1);
    } else {
        ::unsetenv("SSL_CERT_FILE");
    }
}

}  // namespace fg::testing
