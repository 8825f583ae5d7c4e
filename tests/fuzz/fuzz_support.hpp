// What the front-door fuzz targets share: a failed invariant stops the run (libFuzzer keeps
// the input), and a gatekeeper as a daemon with auth on holds one — an API key, an admin key
// in a key file, an HS256 secret and an RSA public key, made once per run in a temp folder.
#pragma once

#include "access/access.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tickerd::fuzz {

// Like assert, in every build: a broken invariant is a finding.
#define FUZZ_REQUIRE(condition)             \
    do {                                    \
        if (!(condition)) __builtin_trap(); \
    } while (false)

struct FuzzKeys {
    std::string read_key;         // an API key with the read scope
    std::string admin_key;        // an API key with the admin scope (from a key file)
    std::string hs256_secret;     // auth.jwt.hs256_secret_file
    std::string rsa_public_pem;   // auth.jwt.public_key_file
    std::string rsa_private_pem;  // signs the RS256 seed tokens
    access::AccessSettings settings;
    std::shared_ptr<access::Gatekeeper> gatekeeper;  // auth on, with the settings above
    std::shared_ptr<access::Gatekeeper> open;        // auth off (loopback Host checks)
    std::filesystem::path folder;                    // the run's temp folder
};
const FuzzKeys& fuzz_keys();

std::string base64url(std::string_view bytes);
// RFC 7515's base64url: no padding; nullopt for a character outside the alphabet or an
// impossible length (the bits left over are ignored).
std::optional<std::string> base64url_decode(std::string_view text);
std::string hmac_sha256(std::string_view key, std::string_view data);
// <header>.<payload>.<signature> signed with HMAC-SHA256 under `key`, whatever the header says.
std::string hmac_token(std::string_view header_json, std::string_view payload,
                       std::string_view key);
// RS256 under the run's private key.
std::string rs256_token(std::string_view payload_json);
// Whether `token`'s signature verifies under a configured key with the algorithm its header
// names — checked here with OpenSSL, independently of the daemon's JWT code.
bool signed_with_configured_keys(std::string_view token);

}  // namespace tickerd::fuzz
