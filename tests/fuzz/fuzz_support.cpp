#include "fuzz_support.hpp"

#include "support/keys.hpp"

#include <boost/json.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace tickerd::fuzz {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char byte : bytes) {
        out += kDigits[byte >> 4];
        out += kDigits[byte & 15];
    }
    return out;
}

std::string sha256(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(digest), length);
}

// The temp folder of the key files, removed when the run ends normally.
struct Folder {
    fs::path path;
    Folder() {
        std::string pattern = (fs::temp_directory_path() / "tickerd-fuzz-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~Folder() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    fs::path write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name, std::ios::binary) << text;
        return path / name;
    }
};

FuzzKeys make_keys() {
    static Folder folder;
    FuzzKeys keys;
    keys.folder = folder.path;
    keys.read_key = "fuzz-read-key-0123456789";
    keys.admin_key = "fuzz-admin-key-0123456789";
    keys.hs256_secret = "a fuzzing HS256 secret, 32 bytes or more";
    auto rsa = testing::make_rsa_key_pair();
    keys.rsa_public_pem = rsa.public_pem;
    keys.rsa_private_pem = rsa.private_pem;

    auto& settings = keys.settings;
    settings.enabled = true;
    settings.keys = {
        {"reader", hex(sha256(keys.read_key)), {}, {"read"}},
        {"ops", "", folder.write("admin.key", keys.admin_key + "\n"), {"admin"}},
    };
    settings.hs256_secret_file = folder.write("jwt.secret", keys.hs256_secret);
    settings.public_key_file = folder.write("jwt.pub", keys.rsa_public_pem);
    settings.allowed_origins = {"https://app.example.com"};
    settings.allowed_hosts = {"tickerd.internal"};
    auto gatekeeper = access::Gatekeeper::make(settings);
    if (!gatekeeper) throw std::runtime_error("gatekeeper: " + gatekeeper.error().detail);
    keys.gatekeeper = *gatekeeper;
    access::AccessSettings off = settings;
    off.enabled = false;
    keys.open = *access::Gatekeeper::make(off);
    return keys;
}

// The header's "alg", when the header is a JSON object naming one.
std::optional<std::string> header_alg(std::string_view token) {
    auto header = base64url_decode(token.substr(0, token.find('.')));
    if (!header) return std::nullopt;
    boost::system::error_code ec;
    auto value = boost::json::parse(*header, ec);
    if (ec || !value.is_object()) return std::nullopt;
    const auto* alg = value.get_object().if_contains("alg");
    if (!alg || !alg->is_string()) return std::nullopt;
    return std::string(alg->get_string());
}

bool rs256_verifies(std::string_view signing_input, std::string_view signature) {
    const auto& pem = fuzz_keys().rsa_public_pem;
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    bool ok = key && context &&
              EVP_DigestVerifyInit(context, nullptr, EVP_sha256(), nullptr, key) == 1 &&
              EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(signature.data()),
                               signature.size(),
                               reinterpret_cast<const unsigned char*>(signing_input.data()),
                               signing_input.size()) == 1;
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(key);
    return ok;
}

}  // namespace

const FuzzKeys& fuzz_keys() {
    static const FuzzKeys keys = make_keys();
    return keys;
}

std::string base64url(std::string_view bytes) {
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char byte : bytes) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(buffer >> bits) & 63];
        }
    }
    if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        auto value = kAlphabet.find(c);
        if (value == std::string_view::npos) return std::nullopt;
        buffer = (buffer << 6) | static_cast<uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
    return std::string(reinterpret_cast<char*>(mac), length);
}

std::string hmac_token(std::string_view header_json, std::string_view payload,
                       std::string_view key) {
    auto signing_input = base64url(header_json) + "." + base64url(payload);
    return signing_input + "." + base64url(hmac_sha256(key, signing_input));
}

std::string rs256_token(std::string_view payload_json) {
    const auto& pem = fuzz_keys().rsa_private_pem;
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    auto signing_input =
        base64url(R"({"alg":"RS256","typ":"JWT"})") + "." + base64url(payload_json);
    std::string signature(EVP_PKEY_get_size(key), '\0');
    std::size_t length = signature.size();
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(signing_input.data()),
                   signing_input.size());
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(key);
    signature.resize(length);
    return signing_input + "." + base64url(signature);
}

bool signed_with_configured_keys(std::string_view token) {
    auto last_dot = token.rfind('.');
    if (last_dot == std::string_view::npos) return false;
    auto signing_input = token.substr(0, last_dot);
    auto signature = base64url_decode(token.substr(last_dot + 1));
    auto alg = header_alg(token);
    if (!signature || !alg) return false;
    if (*alg == "HS256") return *signature == hmac_sha256(fuzz_keys().hs256_secret, signing_input);
    if (*alg == "RS256") return rs256_verifies(signing_input, *signature);
    return false;
}

}  // namespace tickerd::fuzz
