// POST /streaming/tokens: a short-lived token for the caller, for the places a browser cannot
// send a header (EventSource, WebSocket: ?access_token=), so a long-lived key never sits in
// a URL.
#include "gateway/rest.hpp"

#include <boost/json.hpp>

namespace tickerd::gateway {

namespace json = boost::json;

namespace {

Result<std::vector<std::string>> string_list(const json::value& value, const std::string& field) {
    if (!value.is_array()) return Error::invalid(field, "expected a list of strings");
    std::vector<std::string> items;
    for (const auto& item : value.get_array()) {
        if (!item.is_string()) return Error::invalid(field, "expected a list of strings");
        items.emplace_back(item.get_string());
    }
    return items;
}

// {"scopes": ["read"], "channels": ["stream:market_data:*"], "ttl_seconds": 60, "sub": "…"};
// every field optional.
Result<access::TokenRequest> read_token_request(const json::value& body) {
    if (!body.is_object()) return Error::invalid("", "expected a JSON object");
    access::TokenRequest request;
    for (const auto& [key, value] : body.get_object()) {
        if (key == "scopes") {
            auto names = string_list(value, "scopes");
            if (!names) return names.error();
            access::Scopes scopes;
            for (const auto& name : *names) {
                auto scope = access::parse_scope(name);
                if (!scope)
                    return Error::invalid("scopes", "'" + name + "' is not read, publish or admin");
                scopes.add(*scope);
            }
            request.scopes = scopes;
        } else if (key == "channels") {
            auto channels = string_list(value, "channels");
            if (!channels) return channels.error();
            request.channels = std::move(*channels);
        } else if (key == "ttl_seconds") {
            if (!value.is_int64()) return Error::invalid("ttl_seconds", "expected an integer");
            request.ttl_seconds =
                static_cast<int>(std::clamp<int64_t>(value.get_int64(), -1, 1 << 30));
        } else if (key == "sub") {
            if (!value.is_string() || value.get_string().empty()) {
                return Error::invalid("sub", "expected a non-empty string");
            }
            request.subject = std::string(value.get_string());
        } else {
            return Error::invalid(std::string(key),
                                  "unknown field (expected scopes, channels, ttl_seconds, sub)");
        }
    }
    return request;
}

}  // namespace

Reply mint_token(Services& services, const RouteArgs& args) {
    if (!services.access.enabled()) {
        return error_reply(Error(409, "auth is off (auth.enabled): streams need no token"));
    }
    json::value empty = json::object();
    auto body = args.request.body().empty() ? Result<json::value>(empty) : read_json_body(args);
    if (!body) return error_reply(body.error());
    auto request = read_token_request(*body);
    if (!request) return error_reply(request.error());
    auto token = services.access.mint(args.principal, *request);
    if (!token) return error_reply(token.error());
    return json_reply(
        200, json::object{{"token", token->token}, {"expires_at", iso8601_utc(token->expires_at)}});
}

}  // namespace tickerd::gateway
