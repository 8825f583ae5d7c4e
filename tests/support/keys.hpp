// Key material made for one test run: nothing secret is kept in the tree.
#pragma once

#include <string>

namespace tickerd::testing {

// An RSA key pair as PEM text: the private key signs RS256 tokens, the public one is what
// auth.jwt.public_key_file holds. Needs only OpenSSL (the fuzz targets use it too).
struct RsaKeyPair {
    std::string private_pem;
    std::string public_pem;
};
RsaKeyPair make_rsa_key_pair();

// The lower-case hex SHA-256 of `text`: what auth.keys[].sha256 holds for an API key.
std::string sha256_hex(const std::string& text);
// The lower-case hex HMAC-SHA256 of `text` under `secret` (a webhook body's signature).
std::string hmac_sha256_hex(const std::string& secret, const std::string& text);

}  // namespace tickerd::testing
