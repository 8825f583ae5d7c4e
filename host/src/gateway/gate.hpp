// Internal to the gateway: the checks a request passes before its route runs
// (CONTRACT.md §6) — the Host it names (without auth, on loopback), the Origin of a
// cross-site request (CORS and its preflight), the credential and its scope.
#pragma once

#include "gateway/rest.hpp"

#include "access/access.hpp"

#include <string>
#include <string_view>

namespace tickerd::gateway {

// The listener, as the Host check needs it.
struct ListenerInfo {
    bool loopback = true;
    std::string address;  // "127.0.0.1", "::1"
};

// One request's view of the access settings.
class Gate {
  public:
    Gate(const access::Gatekeeper& gatekeeper, const ListenerInfo& listener,
         const Request& request);

    // Without auth, a listener on loopback answers only Host names that name it (a page on
    // another site cannot reach it through DNS rebinding). 421 otherwise.
    Result<void> check_host() const;
    // The answer to a CORS preflight (OPTIONS).
    Reply preflight() const;
    // A state-changing request a browser sends from another site without a preflight is
    // refused unless its origin is allowed: 403.
    Result<void> check_origin(const Route& route) const;
    // A WebSocket handshake from a page of an origin not allowed: 403.
    Result<void> check_websocket_origin() const;
    // Who asks, and whether their scope covers the route; else the answer: 401 with
    // WWW-Authenticate (RFC 6750), or 403. Without auth everyone may do everything.
    Result<access::Principal, Reply> admit(const Route& route, std::string_view query) const;
    // Access-Control-Allow-Origin (and Vary) for a response to an allowed origin.
    Headers cors_headers() const;

  private:
    bool origin_allowed(bool for_reading) const;
    bool same_origin() const;

    const access::Gatekeeper& gatekeeper_;
    std::shared_ptr<const access::AccessSettings> settings_;
    const ListenerInfo& listener_;
    const Request& request_;
    std::string_view origin_;
};

// The request target with the value of every access_token query parameter replaced, for logs.
std::string redacted_target(std::string_view target);

}  // namespace tickerd::gateway
