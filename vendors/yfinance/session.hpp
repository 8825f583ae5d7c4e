// Yahoo's quoteSummary wants a crumb, and the crumb is only handed to a client holding
// Yahoo's cookie. The handshake: GET the cookie URL (https://fc.yahoo.com answers 404 but sets
// the cookie), then GET /v1/test/getcrumb with that cookie; the crumb goes into the query and
// the cookie into every request after. Both are kept until Yahoo refuses them (401/403), then
// fetched again once.
#pragma once

#include <tickerd/plugin.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <variant>

namespace yfinance {

struct Credentials {
    std::string cookie;  // "A3=…; B=…", as sent back in the Cookie header
    std::string crumb;
};

// The cookie pairs ("name=value") of every Set-Cookie header, joined by "; ".
std::string cookies_from(const tickerd::sdk::HttpResponse& response);

class Session {
  public:
    Session(std::string cookie_url, std::string crumb_url, int32_t timeout_ms);

    // The credentials held, or fresh ones from the handshake; the error outcome when the
    // handshake fails. Thread-safe; no lock is held while a request is in flight.
    std::variant<Credentials, tickerd::sdk::Outcome> credentials(const tickerd::sdk::Call& call);
    // Yahoo refused `stale`: the next call shakes hands again.
    void forget(const Credentials& stale);

  private:
    std::variant<Credentials, tickerd::sdk::Outcome> handshake(
        const tickerd::sdk::Call& call) const;

    const std::string cookie_url_;
    const std::string crumb_url_;
    const int32_t timeout_ms_;
    std::mutex mutex_;
    std::optional<Credentials> held_;
};

}  // namespace yfinance
