#include "src/common/secret.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace fg {

bool SecretEquals(std::string_view presented, std::string_view expected) {
    // Hashing first makes the comparison length-independent too: CRYPTO_memcmp needs equal sizes.
    unsigned char a[SHA256_DIGEST_LENGTH];
    unsigned char b[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
    SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0 && !expected.empty();
}

}  // namespace fg
