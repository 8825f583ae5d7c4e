// Access control (CONTRACT.md §6): who is asking (API keys and JWTs), what they may do
// (the read, publish and admin scopes, and the channels a token is limited to), and short-lived
// tokens for browsers. Checked once per request or subscription, never per message.
#pragma once

#include "core/result.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickerd::access {

enum class Scope { read, publish, admin };
inline constexpr std::array<std::string_view, 3> kScopeNames = {"read", "publish", "admin"};
std::string_view to_string(Scope scope);
std::optional<Scope> parse_scope(std::string_view text);

// A set of scopes; admin implies the others.
class Scopes {
  public:
    Scopes() = default;
    Scopes(std::initializer_list<Scope> scopes);
    void add(Scope scope) { bits_ |= bit(scope); }
    bool allows(Scope scope) const { return (bits_ & (bit(scope) | bit(Scope::admin))) != 0; }
    bool covers(Scopes other) const;  // every scope of `other` is allowed here
    std::vector<std::string_view> names() const;
    bool operator==(const Scopes&) const = default;

  private:
    static uint8_t bit(Scope scope) { return static_cast<uint8_t>(1u << static_cast<int>(scope)); }
    uint8_t bits_ = 0;
};

// `pattern` with `*` matching any run of characters ("stream:market_data:*").
bool channel_matches(std::string_view pattern, std::string_view channel);

// Who is asking.
struct Principal {
    std::string name;  // the key's name or the token's subject
    Scopes scopes;
    // Patterns of the channels the holder may read or publish into; empty: every channel.
    std::vector<std::string> channels;
    // When the credential stops being valid (tokens); a stream ends then.
    std::optional<std::chrono::system_clock::time_point> expires_at;

    bool may_read(std::string_view channel) const;
    bool may_publish(std::string_view channel) const;

  private:
    bool within_channels(std::string_view channel) const;
};

// The "auth" settings (config file; CONTRACT.md §10).
struct KeySettings {
    std::string name;
    std::string sha256;               // hex digest of the key, or
    std::filesystem::path key_file;   // a file holding the key itself
    std::vector<std::string> scopes;  // checked when loaded
    bool operator==(const KeySettings&) const = default;
};

struct AccessSettings {
    bool enabled = false;
    std::vector<KeySettings> keys;
    std::optional<std::filesystem::path> hs256_secret_file;  // verifies HS256, signs minted tokens
    std::optional<std::filesystem::path> public_key_file;    // verifies RS256 or ES256 (PEM)
    int token_ttl_seconds = 300;                             // the longest a minted token lives
    std::string audience = "tickerd";                        // a token's "aud" must name it
    bool allow_unauthenticated_remote = false;
    bool protect_metrics = false;
    // Browsers' origins allowed to call the API and open streams (CORS; the WebSocket
    // handshake's Origin); "*" allows any origin to read.
    std::vector<std::string> allowed_origins;
    // Without auth, the Host names answered besides the loopback ones (DNS rebinding).
    std::vector<std::string> allowed_hosts;
    bool operator==(const AccessSettings&) const = default;
};

// The "tls" settings: a PEM certificate (chain) and key, and optionally the CA that client
// certificates must be signed by (mutual TLS).
struct TlsSettings {
    std::optional<std::filesystem::path> cert_file;
    std::optional<std::filesystem::path> key_file;
    std::optional<std::filesystem::path> client_ca_file;
    // A second listener for TLS; empty: the main listener speaks TLS.
    std::string listen;
    bool enabled() const { return cert_file.has_value(); }
    bool operator==(const TlsSettings&) const = default;
};

// What every client is held to (the "limits" settings); each limit has a named answer.
struct Limits {
    std::size_t max_header_bytes = 16 * 1024;        // request line and headers: 431
    std::size_t max_body_bytes = 1024 * 1024;        // a request body: 413
    int max_json_depth = 32;                         // nesting in a JSON body or message: 400
    std::size_t max_connections = 18000;             // open at once: 503, then closed
    std::size_t max_connections_per_ip = 1000;       // from one address: 503, then closed
    std::size_t max_channels_per_connection = 1000;  // subscribed at once: 422 / error frame
    std::size_t max_ws_message_bytes = 64 * 1024;    // one client message: close 1009
    // REST requests per credential (or address, without auth) and WebSocket requests per
    // connection, per minute: 429 with Retry-After / an error frame, then close 1008. 0: none.
    int requests_per_minute = 600;
    std::chrono::seconds header_timeout{10};   // a request's line and headers must arrive in it
    std::chrono::seconds idle_timeout{60};     // a kept-alive connection with no request
    std::chrono::seconds request_timeout{30};  // a request's body; writing an answer
    std::size_t max_queued_messages = 4096;    // per stream: beyond it a slow client is cut
    std::size_t max_queued_bytes = 8 * 1024 * 1024;
    std::chrono::seconds keepalive_interval{15};  // SSE comment / WebSocket ping when idle
    bool operator==(const Limits&) const = default;
};

// A minted token.
struct Token {
    std::string token;
    std::chrono::system_clock::time_point expires_at;
};

// What a token asks for, within what its holder may do.
struct TokenRequest {
    std::optional<Scopes> scopes;                      // default: the holder's
    std::optional<std::vector<std::string>> channels;  // default: the holder's
    std::optional<int> ttl_seconds;                    // default and maximum: token_ttl_seconds
    std::optional<std::string> subject;                // another subject: admin only
};

// Checks credentials against the keys and JWT keys of the current settings. Thread-safe;
// reload() swaps in new settings (keys and secrets re-read) while requests go on.
class Gatekeeper {
  public:
    // Reads the key files and the JWT key files; a problem names the setting and the file.
    static Result<std::shared_ptr<Gatekeeper>> make(const AccessSettings& settings);
    ~Gatekeeper();

    // Takes new settings; on a problem the current ones stay.
    Result<void> reload(const AccessSettings& settings);

    // The settings in force: a snapshot, cheap to hold for the length of a request.
    std::shared_ptr<const AccessSettings> settings() const;
    bool enabled() const { return settings()->enabled; }

    // The credential of "Authorization: Bearer <credential>" or ?access_token=: an API key
    // or a JWT. A missing, malformed, expired or unknown one is a 401.
    Result<Principal> authenticate(std::string_view credential) const;

    // A short-lived HS256 token for `holder`, or for another subject when an admin asks.
    // 403 when it would grant more than the holder has; 501 without an HS256 secret.
    Result<Token> mint(const Principal& holder, const TokenRequest& request) const;

    struct State;  // the keys and JWT keys of one version of the settings (gatekeeper.cpp)

  private:
    explicit Gatekeeper(std::shared_ptr<const State> state);
    std::atomic<std::shared_ptr<const State>> state_;
};

}  // namespace tickerd::access
