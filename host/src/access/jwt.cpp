// JSON Web Tokens through libjwt. The algorithm is chosen by what is configured, never
// trusted from the token: a token's header only picks between the configured keys, and the
// verified token's algorithm must be the one its key is for (so a public key can never be
// used as an HMAC secret). The claims are then read strictly: exp, aud and sub required.
#include "access/credentials.hpp"

#include <boost/json.hpp>

#include <jwt.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace tickerd::access::detail {

namespace json = boost::json;

namespace {

using Clock = std::chrono::system_clock;

constexpr int64_t kLatestExpiry = 7258118400;  // 2200-01-01T00:00:00Z

Error unauthorized(std::string why) {
    return Error(401, std::move(why));
}

struct JwtFree {
    void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;
struct CharFree {
    void operator()(char* text) const { std::free(text); }
};
using CString = std::unique_ptr<char, CharFree>;

// base64url (RFC 4648 §5) through OpenSSL's base64 decoder.
std::optional<std::string> base64url_decode(std::string_view text) {
    std::string standard(text);
    for (char& c : standard) {
        if (c == '-') c = '+';
        if (c == '_') c = '/';
    }
    std::size_t padding = (4 - standard.size() % 4) % 4;
    standard.append(padding, '=');
    // EVP_DecodeBlock writes 3 bytes per 4 characters, counting the padding as zero bytes.
    std::string out(standard.size() / 4 * 3, '\0');
    int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(standard.data()),
                                 static_cast<int>(standard.size()));
    if (length < 0 || static_cast<std::size_t>(length) < padding) return std::nullopt;
    out.resize(static_cast<std::size_t>(length) - padding);
    return out;
}

// Three parts of base64url without padding (RFC 7515 §3.1, §2), joined by dots.
bool is_base64url_token(std::string_view token) {
    return std::all_of(token.begin(), token.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
}

// The "alg" of the token's header; only used to pick among the configured keys.
std::optional<std::string> header_alg(std::string_view token) {
    auto header = base64url_decode(token.substr(0, token.find('.')));
    if (!header) return std::nullopt;
    boost::system::error_code ec;
    auto value = json::parse(*header, ec);
    if (ec || !value.is_object()) return std::nullopt;
    const auto* alg = value.get_object().if_contains("alg");
    if (!alg || !alg->is_string()) return std::nullopt;
    return std::string(alg->get_string());
}

struct KeyChoice {
    jwt_alg_t alg;
    const std::string* key;
};

Result<KeyChoice> choose_key(const Credentials& credentials, std::string_view token) {
    auto alg = header_alg(token);
    if (!alg) return unauthorized("malformed token");
    if (*alg == "HS256" && !credentials.hs256_secret.empty()) {
        return KeyChoice{JWT_ALG_HS256, &credentials.hs256_secret};
    }
    bool rs = credentials.public_key_alg == PublicKeyAlg::rs256;
    if (!credentials.public_key.empty() && *alg == (rs ? "RS256" : "ES256")) {
        return KeyChoice{rs ? JWT_ALG_RS256 : JWT_ALG_ES256, &credentials.public_key};
    }
    return unauthorized("tokens signed with " + *alg + " are not accepted here");
}

std::optional<int64_t> number_claim(const json::object& claims, std::string_view name) {
    const auto* value = claims.if_contains(name);
    if (!value || !value->is_number()) return std::nullopt;
    boost::system::error_code ec;
    auto number = value->to_number<int64_t>(ec);
    if (ec) return std::nullopt;
    return number;
}

bool names_audience(const json::value* aud, std::string_view audience) {
    if (!aud) return false;
    if (aud->is_string()) return aud->get_string() == audience;
    if (!aud->is_array()) return false;
    for (const auto& item : aud->get_array()) {
        if (item.is_string() && item.get_string() == audience) return true;
    }
    return false;
}

Result<Principal> principal_of(const json::object& claims, const std::string& audience) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch());
    auto exp = number_claim(claims, "exp");
    if (!exp) return unauthorized("the token has no exp");
    if (now.count() >= *exp) return unauthorized("the token has expired");
    if (auto nbf = number_claim(claims, "nbf"); nbf && now.count() < *nbf) {
        return unauthorized("the token is not valid yet");
    }
    if (!names_audience(claims.if_contains("aud"), audience)) {
        return unauthorized("the token is not for this service (aud must name '" + audience + "')");
    }
    const auto* sub = claims.if_contains("sub");
    if (!sub || !sub->is_string() || sub->get_string().empty()) {
        return unauthorized("the token has no sub");
    }
    // The clock counts nanoseconds in 64 bits, up to the year 2262: a later exp (a backend's
    // "never") is held as kLatestExpiry, so that nothing computing with it overflows.
    auto expires = Clock::time_point(std::chrono::seconds(std::min(*exp, kLatestExpiry)));
    Principal principal{std::string(sub->get_string()), {}, {}, expires};
    if (const auto* scope = claims.if_contains("scope"); scope && scope->is_string()) {
        std::string_view names = scope->get_string();
        while (!names.empty()) {
            auto space = names.find(' ');
            if (auto known = parse_scope(names.substr(0, space))) principal.scopes.add(*known);
            names = space == std::string_view::npos ? "" : names.substr(space + 1);
        }
    }
    if (const auto* channels = claims.if_contains("channels")) {
        if (!channels->is_array()) return unauthorized("the token's channels is not a list");
        for (const auto& pattern : channels->get_array()) {
            if (!pattern.is_string()) return unauthorized("the token's channels is not a list");
            principal.channels.emplace_back(pattern.get_string());
        }
        // A token naming no channel may read none, not every one.
        if (principal.channels.empty()) principal.scopes = {};
    }
    return principal;
}

}  // namespace

bool looks_like_jwt(std::string_view credential) {
    auto first = credential.find('.');
    if (first == std::string_view::npos) return false;
    auto second = credential.find('.', first + 1);
    return second != std::string_view::npos &&
           credential.find('.', second + 1) == std::string_view::npos;
}

Result<Principal> verify_jwt(const Credentials& credentials, std::string_view token) {
    // libjwt's base64 decoder skips what is not base64 (and a NUL ends its string): the
    // signed token must be all there is, so one token has one spelling.
    if (!is_base64url_token(token)) return unauthorized("malformed token");
    auto choice = choose_key(credentials, token);
    if (!choice) return choice.error();
    jwt_t* raw = nullptr;
    std::string text(token);
    int failed =
        jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(choice->key->data()),
                   static_cast<int>(choice->key->size()));
    JwtPtr jwt(raw);
    if (failed || !jwt) return unauthorized("the token's signature does not verify");
    if (jwt_get_alg(jwt.get()) != choice->alg) return unauthorized("the token's algorithm changed");
    CString grants(jwt_get_grants_json(jwt.get(), nullptr));
    boost::system::error_code ec;
    auto claims = grants ? json::parse(grants.get(), ec) : json::value();
    if (ec || !claims.is_object()) return unauthorized("the token's claims are not an object");
    return principal_of(claims.get_object(), credentials.audience);
}

Result<Token> sign_jwt(const Credentials& credentials, const Principal& claims,
                       std::chrono::seconds ttl) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch());
    auto expires = now + ttl;
    std::string scope;
    for (auto name : claims.scopes.names())
        scope += (scope.empty() ? "" : " ") + std::string(name);
    json::object payload{{"sub", claims.name},
                         {"aud", credentials.audience},
                         {"iat", now.count()},
                         {"exp", expires.count()},
                         {"scope", scope}};
    if (!claims.channels.empty()) {
        payload["channels"] = json::array(claims.channels.begin(), claims.channels.end());
    }
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) return Error(500, "cannot make a token");
    JwtPtr jwt(raw);
    const auto& secret = credentials.hs256_secret;
    auto text = json::serialize(payload);
    if (jwt_add_grants_json(jwt.get(), text.c_str()) != 0 ||
        jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                    static_cast<int>(secret.size())) != 0) {
        return Error(500, "cannot sign a token");
    }
    CString encoded(jwt_encode_str(jwt.get()));
    if (!encoded) return Error(500, "cannot sign a token");
    return Token{encoded.get(), Clock::time_point(expires)};
}

}  // namespace tickerd::access::detail
