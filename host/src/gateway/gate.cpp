// The gate every request passes. Browsers are the reason for most of it: they send requests
// to a daemon on the user's own machine on behalf of any page (a form or a no-cors fetch needs
// no preflight), they resolve a page's own name to 127.0.0.1 if its DNS says so (rebinding),
// and they cannot put a credential in a header for EventSource or WebSocket.
//
// The choices, documented in the README's Security section:
//   - CSRF: a POST/PUT/DELETE carrying an Origin that is neither this server's nor allowed is
//     refused (403). Browsers always send Origin on such requests; curl and scripts send none,
//     so the seed's `curl -X POST …/start-all` keeps working.
//   - `cors.allowed_origins: ["*"]` lets any origin read (GET, streams), not change anything.
//   - `?access_token=` is accepted on the stream routes only, where browsers need it.
#include "gateway/gate.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <cctype>

namespace tickerd::gateway {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kRealm = "Bearer realm=\"tickerd\"";
// How long a browser may remember a preflight's answer.
constexpr std::string_view kPreflightMaxAge = "600";
constexpr std::string_view kAllowedHeaders = "Authorization, Content-Type, Last-Event-ID";
// Where a stream's credential may sit in the query, for browsers.
constexpr std::string_view kAccessTokenParam = "access_token";

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// "localhost:8000" → "localhost", "[::1]:8000" → "::1".
std::string host_name(std::string_view host) {
    if (host.starts_with('[')) return lower(host.substr(1, host.find(']') - 1));
    return lower(
        host.substr(0, host.rfind(':') == std::string_view::npos ? host.size() : host.rfind(':')));
}

bool is_loopback_name(std::string_view name) {
    return name == "localhost" || name == "::1" || name.starts_with("127.");
}

bool changes_state(http::verb method) {
    return method == http::verb::post || method == http::verb::put ||
           method == http::verb::delete_ || method == http::verb::patch;
}

std::optional<access::Scope> scope_for(Need need) {
    switch (need) {
        case Need::read:
        case Need::metrics:
            return access::Scope::read;
        case Need::publish:
            return access::Scope::publish;
        case Need::admin:
            return access::Scope::admin;
        case Need::nothing:
        case Need::credential:
            break;
    }
    return std::nullopt;
}

// "Authorization: Bearer <credential>"; for a stream, ?access_token= too.
std::string credential_of(const Request& request, const Route& route, std::string_view query) {
    std::string_view authorization = request[http::field::authorization];
    constexpr std::string_view kBearer = "bearer ";
    if (authorization.size() > kBearer.size() &&
        lower(authorization.substr(0, kBearer.size())) == kBearer) {
        return std::string(authorization.substr(kBearer.size()));
    }
    bool stream = route.kind == RouteKind::sse || route.kind == RouteKind::websocket;
    if (stream) {
        if (auto token = query_param(query, kAccessTokenParam)) return *token;
    }
    return {};
}

// A 401 names how to authenticate; an invalid credential says so (RFC 6750 §3).
Reply challenge(const Error& error, std::string_view detail) {
    Reply reply = error_reply(error);
    reply.headers.emplace_back(http::field::www_authenticate,
                               std::string(kRealm) + std::string(detail));
    return reply;
}

}  // namespace

Gate::Gate(const access::Gatekeeper& gatekeeper, const ListenerInfo& listener,
           const Request& request)
    : gatekeeper_(gatekeeper),
      settings_(gatekeeper.settings()),
      listener_(listener),
      request_(request),
      origin_(request[http::field::origin]) {}

Result<void> Gate::check_host() const {
    if (settings_->enabled || !listener_.loopback) return {};
    std::string_view host = request_[http::field::host];
    if (host.empty()) return {};  // HTTP/1.0; a browser always names the host
    auto name = host_name(host);
    if (is_loopback_name(name) || name == lower(listener_.address)) return {};
    for (const auto& allowed : settings_->allowed_hosts) {
        if (lower(allowed) == name) return {};
    }
    return Error(421, "Host '" + std::string(host) +
                          "' is not served here without auth: add it to auth.allowed_hosts");
}

bool Gate::same_origin() const {
    auto authority = origin_.substr(std::min(origin_.find("://"), origin_.size()));
    if (authority.starts_with("://")) authority.remove_prefix(3);
    return !authority.empty() && lower(authority) == lower(request_[http::field::host]);
}

bool Gate::origin_allowed(bool for_reading) const {
    if (origin_.empty() || same_origin()) return true;
    for (const auto& allowed : settings_->allowed_origins) {
        if (allowed == "*" ? for_reading : lower(allowed) == lower(origin_)) return true;
    }
    return false;
}

Reply Gate::preflight() const {
    std::string_view method = request_[http::field::access_control_request_method];
    bool reading = method.empty() || method == "GET" || method == "HEAD";
    if (origin_.empty() || !origin_allowed(reading)) {
        return error_reply(Error(403, "origin '" + std::string(origin_) + "' is not allowed"));
    }
    std::string_view target = request_.target();
    auto methods = methods_for(target.substr(0, target.find('?')));
    if (methods.empty()) return error_reply(Error::not_found("Not Found"));
    Reply reply{204, {}, cors_headers()};
    reply.headers.emplace_back(http::field::access_control_allow_methods, methods + ", OPTIONS");
    reply.headers.emplace_back(http::field::access_control_allow_headers, kAllowedHeaders);
    reply.headers.emplace_back(http::field::access_control_max_age, kPreflightMaxAge);
    return reply;
}

Result<void> Gate::check_origin(const Route& route) const {
    if (!changes_state(route.method) || origin_allowed(false)) return {};
    return Error(403, "cross-origin request from '" + std::string(origin_) +
                          "' refused: list the origin in cors.allowed_origins");
}

Result<void> Gate::check_websocket_origin() const {
    if (origin_allowed(true)) return {};
    return Error(403, "WebSocket from origin '" + std::string(origin_) +
                          "' refused: list the origin in cors.allowed_origins");
}

Result<access::Principal, Reply> Gate::admit(const Route& route, std::string_view query) const {
    bool open =
        route.need == Need::nothing || (route.need == Need::metrics && !settings_->protect_metrics);
    if (!settings_->enabled || open) {
        return access::Principal{"", access::Scopes{access::Scope::admin}, {}, std::nullopt};
    }
    auto credential = credential_of(request_, route, query);
    if (credential.empty()) {
        return challenge(Error(401, "a credential is required (Authorization: Bearer …)"), "");
    }
    auto principal = gatekeeper_.authenticate(credential);
    if (!principal) return challenge(principal.error(), ", error=\"invalid_token\"");
    auto scope = scope_for(route.need);
    if (scope && !principal->scopes.allows(*scope)) {
        return error_reply(Error(403, "this credential lacks the '" +
                                          std::string(access::to_string(*scope)) + "' scope"));
    }
    return std::move(*principal);
}

Headers Gate::cors_headers() const {
    if (origin_.empty() || same_origin() || !origin_allowed(!changes_state(request_.method()))) {
        return {};
    }
    // A page's script reads only the safelisted response headers unless told: the next
    // page's address (Link) and when to come back after a 429 (Retry-After) are not.
    return {{http::field::access_control_allow_origin, std::string(origin_)},
            {http::field::access_control_expose_headers, "Link, Retry-After"},
            {http::field::vary, "Origin"}};
}

// Every query parameter the credential could be read from, parsed as query_param() parses
// it: a value of another parameter that merely contains "access_token=" is not one.
std::string redacted_target(std::string_view target) {
    auto question = target.find('?');
    if (question == std::string_view::npos) return std::string(target);
    std::string out(target.substr(0, question + 1));
    auto query = target.substr(question + 1);
    while (true) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        auto equals = pair.find('=');
        if (equals != std::string_view::npos && pair.substr(0, equals) == kAccessTokenParam) {
            out.append(pair.substr(0, equals + 1)).append("…");
        } else {
            out.append(pair);
        }
        if (amp == std::string_view::npos) return out;
        out += '&';
        query.remove_prefix(amp + 1);
    }
}

}  // namespace tickerd::gateway
