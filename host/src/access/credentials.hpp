// Internal to access/: the credentials one version of the settings holds, and the two kinds
// of check (keys.cpp, jwt.cpp) the gatekeeper runs them through.
#pragma once

#include "access/access.hpp"

#include <array>
#include <string>
#include <vector>

namespace tickerd::access::detail {

using Digest = std::array<unsigned char, 32>;  // SHA-256

struct ApiKey {
    std::string name;
    Digest digest;
    Scopes scopes;
};

// How tokens signed with a public key are checked.
enum class PublicKeyAlg { rs256, es256 };

struct Credentials {
    std::vector<ApiKey> keys;
    std::string hs256_secret;  // empty: none
    std::string public_key;    // PEM; empty: none
    PublicKeyAlg public_key_alg = PublicKeyAlg::rs256;
    int token_ttl_seconds = 300;
    std::string audience;
};

// Reads the "auth" settings' keys and key files into Credentials.
Result<Credentials> load_credentials(const AccessSettings& settings);

Digest sha256(std::string_view data);
// The key whose digest matches `presented`'s, compared in constant time, or null.
const ApiKey* find_key(const std::vector<ApiKey>& keys, std::string_view presented);

// Does `credential` have the form of a JWT (three base64url parts)?
bool looks_like_jwt(std::string_view credential);
Result<Principal> verify_jwt(const Credentials& credentials, std::string_view token);
Result<Token> sign_jwt(const Credentials& credentials, const Principal& claims,
                       std::chrono::seconds ttl);

}  // namespace tickerd::access::detail
