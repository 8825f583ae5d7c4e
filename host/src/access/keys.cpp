// API keys: kept only as SHA-256 digests (a key file is hashed as it is read), a presented
// key hashed and compared with each digest in constant time, so neither the keys nor the
// time a comparison takes say anything about them. Reading the settings' key files and
// JWT key files is here too.
#include "access/credentials.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace tickerd::access::detail {

namespace {

// Keys shorter than this are guessable; HS256 wants a secret as long as its hash.
constexpr std::size_t kMinimumKeyLength = 16;
constexpr std::size_t kMinimumSecretLength = 32;

Error problem(const std::string& where, const std::string& why) {
    return Error::invalid(where, why);
}

// A file's contents without the trailing newline an editor adds.
Result<std::string> read_secret(const std::filesystem::path& file, const std::string& where) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return problem(where, "'" + file.string() + "' cannot be read");
    std::ostringstream contents;
    contents << in.rdbuf();
    std::string text = std::move(contents).str();
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.pop_back();
    return text;
}

std::optional<Digest> parse_hex_digest(std::string_view hex) {
    if (hex.size() != 64) return std::nullopt;
    Digest digest{};
    for (std::size_t i = 0; i < digest.size(); ++i) {
        unsigned value = 0;
        for (char c : hex.substr(2 * i, 2)) {
            int nibble = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                         : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                         : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                     : -1;
            if (nibble < 0) return std::nullopt;
            value = value * 16 + static_cast<unsigned>(nibble);
        }
        digest[i] = static_cast<unsigned char>(value);
    }
    return digest;
}

Result<Scopes> read_scopes(const std::vector<std::string>& names, const std::string& where) {
    if (names.empty()) return problem(where, "name at least one of read, publish, admin");
    Scopes scopes;
    for (const auto& name : names) {
        auto scope = parse_scope(name);
        if (!scope) return problem(where, "'" + name + "' is not one of read, publish, admin");
        scopes.add(*scope);
    }
    return scopes;
}

Result<ApiKey> load_key(const KeySettings& settings, const std::string& where) {
    if (settings.name.empty()) return problem(where + ".name", "required");
    auto scopes = read_scopes(settings.scopes, where + ".scopes");
    if (!scopes) return scopes.error();
    if (settings.sha256.empty() == settings.key_file.empty()) {
        return problem(where, "give either sha256 (the key's SHA-256 in hex) or key_file");
    }
    if (!settings.sha256.empty()) {
        auto digest = parse_hex_digest(settings.sha256);
        if (!digest) return problem(where + ".sha256", "expected 64 hex digits");
        return ApiKey{settings.name, *digest, *scopes};
    }
    auto key = read_secret(settings.key_file, where + ".key_file");
    if (!key) return key.error();
    if (key->size() < kMinimumKeyLength) {
        return problem(where + ".key_file", "the key is shorter than " +
                                                std::to_string(kMinimumKeyLength) + " characters");
    }
    return ApiKey{settings.name, sha256(*key), *scopes};
}

// RS256 for an RSA key, ES256 for a P-256 one; other keys cannot verify what we accept.
Result<PublicKeyAlg> public_key_alg(const std::string& pem, const std::string& where) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    if (!key) return problem(where, "not a PEM public key");
    int type = EVP_PKEY_get_base_id(key);
    char group[64] = {};
    std::size_t group_length = 0;
    bool p256 = type == EVP_PKEY_EC &&
                EVP_PKEY_get_group_name(key, group, sizeof group, &group_length) == 1 &&
                std::string_view(group) == "prime256v1";
    EVP_PKEY_free(key);
    if (type == EVP_PKEY_RSA) return PublicKeyAlg::rs256;
    if (p256) return PublicKeyAlg::es256;
    return problem(where, "an RSA key (RS256) or a P-256 EC key (ES256) is needed");
}

Result<void> load_jwt_keys(const AccessSettings& settings, Credentials& out) {
    if (settings.hs256_secret_file) {
        auto secret = read_secret(*settings.hs256_secret_file, "auth.jwt.hs256_secret_file");
        if (!secret) return secret.error();
        if (secret->size() < kMinimumSecretLength) {
            return problem(
                "auth.jwt.hs256_secret_file",
                "the secret is shorter than " + std::to_string(kMinimumSecretLength) + " bytes");
        }
        out.hs256_secret = std::move(*secret);
    }
    if (settings.public_key_file) {
        auto pem = read_secret(*settings.public_key_file, "auth.jwt.public_key_file");
        if (!pem) return pem.error();
        auto alg = public_key_alg(*pem, "auth.jwt.public_key_file");
        if (!alg) return alg.error();
        out.public_key = std::move(*pem) + "\n";
        out.public_key_alg = *alg;
    }
    return {};
}

}  // namespace

Digest sha256(std::string_view data) {
    Digest digest{};
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
    return digest;
}

const ApiKey* find_key(const std::vector<ApiKey>& keys, std::string_view presented) {
    auto digest = sha256(presented);
    const ApiKey* found = nullptr;
    for (const auto& key : keys) {  // every key is compared, found or not
        if (CRYPTO_memcmp(key.digest.data(), digest.data(), digest.size()) == 0) found = &key;
    }
    return found;
}

Result<Credentials> load_credentials(const AccessSettings& settings) {
    Credentials credentials;
    credentials.token_ttl_seconds = settings.token_ttl_seconds;
    credentials.audience = settings.audience;
    for (std::size_t i = 0; i < settings.keys.size(); ++i) {
        auto key = load_key(settings.keys[i], "auth.keys[" + std::to_string(i) + "]");
        if (!key) return key.error();
        credentials.keys.push_back(std::move(*key));
    }
    if (auto jwt = load_jwt_keys(settings, credentials); !jwt) return jwt.error();
    if (settings.enabled && credentials.keys.empty() && credentials.hs256_secret.empty() &&
        credentials.public_key.empty()) {
        return problem("auth", "enabled, but no keys and no JWT key: nobody could get in");
    }
    return credentials;
}

}  // namespace tickerd::access::detail
