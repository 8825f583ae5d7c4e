// libFuzzer target for the credentials (scripts/fuzz.sh): bytes → Gatekeeper::authenticate,
// the gatekeeper holding an API key, an admin key file, an HS256 secret and an RSA public
// key. The first byte picks what the rest is:
//   0: the credential itself (a key, a token, anything: Authorization or ?access_token=);
//   1: a token's claims, signed HS256 with the configured secret (the claims reader);
//   2: "<header>\n<key><payload>": a token with any header, HMAC-signed with the secret, the
//      public key's PEM (algorithm confusion), nothing or a wrong key, picked by <key>.
// Never a crash; a credential accepted is a configured API key or a token whose signature
// verifies under a configured key with the algorithm its header names (checked with OpenSSL,
// not the daemon's JWT code), for a subject, not expired.
// With TICKERD_FUZZ_SEED_DIR set, it first writes real tokens of this run's keys there.
#include "fuzz_support.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>

using namespace tickerd;
using namespace tickerd::fuzz;
namespace json = boost::json;

namespace {

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void write_seeds(const std::string& folder) {
    const auto& keys = fuzz_keys();
    auto now = unix_now();
    auto claims = [&](json::object extra) {
        json::object payload{
            {"sub", "app"}, {"aud", "tickerd"}, {"exp", now + 3600}, {"scope", "read"}};
        for (auto& [key, value] : extra)
            payload[key] = value;
        return json::serialize(payload);
    };
    const std::string hs256 = R"({"alg":"HS256","typ":"JWT"})";
    auto minted = keys.gatekeeper->mint(
        access::Principal{"ops", {access::Scope::admin}, {}, std::nullopt},
        access::TokenRequest{access::Scopes{access::Scope::read},
                             std::vector<std::string>{"stream:market_data:*"}, 300, "browser"});
    std::vector<std::string> seeds = {
        std::string(1, '\0') + keys.read_key,
        std::string(1, '\0') + keys.admin_key,
        std::string(1, '\0') + (minted ? minted->token : ""),
        std::string(1, '\0') + hmac_token(hs256, claims({}), keys.hs256_secret),
        std::string(1, '\0') + rs256_token(claims({{"scope", "read publish"}})),
        std::string(1, '\0') + hmac_token(hs256, claims({{"exp", now - 10}}), keys.hs256_secret),
        std::string(1, '\0') + hmac_token(R"({"alg":"none"})", claims({}), ""),
        std::string(1, '\1') + claims({{"channels", {"stream:news:*", "*"}}}),
        std::string(1, '\1') + claims({{"aud", {"other", "tickerd"}}, {"nbf", now + 60}}),
        std::string(1, '\2') + R"({"alg":"HS256"})" + "\n" + "s" + claims({}),
        std::string(1, '\2') + R"({"alg":"RS256","typ":"JWT"})" + "\n" + "p" + claims({}),
        std::string(1, '\2') + R"({"alg":"HS256","kid":"x"})" + "\n" + "p" + claims({}),
    };
    for (std::size_t i = 0; i < seeds.size(); ++i) {
        std::ofstream(folder + "/token-" + std::to_string(i), std::ios::binary) << seeds[i];
    }
}

// The key a mode-2 token is signed with.
std::string signing_key(char choice) {
    switch (choice) {
        case 's':
            return fuzz_keys().hs256_secret;
        case 'p':
            return fuzz_keys().rsa_public_pem;
        case 'e':
            return "";
        default:
            return "not the secret, but as long as one should be";
    }
}

void check(std::string_view credential) {
    const auto& keys = fuzz_keys();
    auto principal = keys.gatekeeper->authenticate(credential);
    if (!principal) {
        FUZZ_REQUIRE(principal.error().status == 401);
        FUZZ_REQUIRE(!principal.error().detail.empty());
        return;
    }
    FUZZ_REQUIRE(!principal->name.empty());
    if (credential == keys.read_key || credential == keys.admin_key) {
        FUZZ_REQUIRE(!principal->expires_at);
        return;
    }
    FUZZ_REQUIRE(signed_with_configured_keys(credential));
    FUZZ_REQUIRE(principal->expires_at &&
                 *principal->expires_at > std::chrono::system_clock::now());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz_keys();  // the RSA key is made once, not in the first input's time
    if (const char* folder = std::getenv("TICKERD_FUZZ_SEED_DIR")) write_seeds(folder);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0:
            check(rest);
            break;
        case 1:
            check(hmac_token(R"({"alg":"HS256","typ":"JWT"})", rest, fuzz_keys().hs256_secret));
            break;
        case 2: {
            auto newline = rest.find('\n');
            if (newline == std::string_view::npos || newline + 1 >= rest.size()) break;
            check(hmac_token(rest.substr(0, newline), rest.substr(newline + 2),
                             signing_key(rest[newline + 1])));
            break;
        }
    }
    return 0;
}
