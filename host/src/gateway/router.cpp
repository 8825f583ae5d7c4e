// The route table and what every route shares: matching, JSON bodies, replies.
#include "gateway/rest.hpp"

#include "core/json_writer.hpp"

#include <boost/beast/http/status.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <charconv>

namespace tickerd::gateway {

namespace http = boost::beast::http;

namespace {

using enum RouteKind;
using http::verb;

// Literal segments win over {} when both match ("workers/start-all" is not a worker id),
// because the table lists them first. The last column is what a credential must allow
// (CONTRACT.md §6): reading needs `read`, changing the configuration `admin`.
const std::array kRoutes = {
    Route{verb::get, "/", inline_rest, &get_status, false, Need::read},
    Route{verb::get, "/livez", inline_rest, &get_livez, false, Need::nothing},
    Route{verb::get, "/readyz", inline_rest, &get_readyz, false, Need::nothing},
    Route{verb::get, "/metrics", inline_rest, &get_metrics, false, Need::metrics},
    // Open: they hold no data (the page's own API calls are authorised as usual).
    Route{verb::get, "/openapi.json", inline_rest, &get_openapi, false, Need::nothing},
    Route{verb::get, "/dashboard", inline_rest, &get_dashboard, false, Need::nothing},
    Route{verb::get, "/dashboard/{}", inline_rest, &get_dashboard_asset, false, Need::nothing},
    Route{verb::get, "/streaming/channels", inline_rest, &get_channels, false, Need::read},
    // Off the I/O threads: with Redis, a channel nobody here subscribes to is read from Redis.
    Route{verb::get, "/streaming/latest/{}", bus_rest, &get_latest, false, Need::read},
    // Off the I/O threads: a symbol not aggregated here is answered from Redis' latest.
    Route{verb::get, "/streaming/bars/{}", bus_rest, &get_bars, false, Need::read},
    // Off the I/O threads: with Redis, history is read from its streams.
    Route{verb::get, "/streaming/history/{}", bus_rest, &get_history, false, Need::read},
    Route{verb::post, "/streaming/subscribe/sse", sse, nullptr, true, Need::read},
    Route{verb::get, "/streaming/subscribe/sse", sse, nullptr, false, Need::read},
    Route{verb::get, "/streaming/ws", websocket, nullptr, false, Need::read},
    Route{verb::post, "/streaming/tokens", inline_rest, &mint_token, true, Need::credential},
    // Off the I/O threads: with Redis, a published type is numbered in Redis (a round trip).
    Route{verb::post, "/streaming/publish/{}", bus_rest, &publish_message, true, Need::publish},
    Route{verb::get, "/streaming/alerts", inline_rest, &get_alerts, false, Need::read},
    Route{verb::get, "/streaming/alerts/rules", inline_rest, &list_alert_rules, false, Need::read},
    Route{verb::post, "/streaming/alerts/rules", blocking_rest, &put_alert_rule, true, Need::admin},
    Route{verb::get, "/streaming/alerts/rules/{}", inline_rest, &get_alert_rule, false, Need::read},
    Route{verb::delete_, "/streaming/alerts/rules/{}", blocking_rest, &delete_alert_rule, false,
          Need::admin},
    Route{verb::get, "/streaming/config/instruments", inline_rest, &list_instruments, false,
          Need::read},
    Route{verb::post, "/streaming/config/instruments", blocking_rest, &put_instrument, true,
          Need::admin},
    Route{verb::get, "/streaming/config/instruments/{}", inline_rest, &get_instrument, false,
          Need::read},
    Route{verb::delete_, "/streaming/config/instruments/{}", blocking_rest, &delete_instrument,
          false, Need::admin},
    Route{verb::get, "/streaming/config/cadences", inline_rest, &list_cadences, false, Need::read},
    Route{verb::get, "/streaming/config/cadences/{}", inline_rest, &get_cadence, false, Need::read},
    Route{verb::put, "/streaming/config/cadences/{}", blocking_rest, &put_cadence, true,
          Need::admin},
    Route{verb::get, "/streaming/config/config", inline_rest, &get_global_settings, false,
          Need::read},
    Route{verb::put, "/streaming/config/config", blocking_rest, &put_global_settings, true,
          Need::admin},
    Route{verb::get, "/streaming/config/workers", inline_rest, &list_workers, false, Need::read},
    Route{verb::post, "/streaming/config/workers/start-all", inline_rest, &start_all_workers, false,
          Need::admin},
    Route{verb::post, "/streaming/config/workers/stop-all", inline_rest, &stop_all_workers, false,
          Need::admin},
    Route{verb::get, "/streaming/config/workers/{}", inline_rest, &get_worker, false, Need::read},
    Route{verb::post, "/streaming/config/workers/{}/start", inline_rest, &start_worker, false,
          Need::admin},
    Route{verb::post, "/streaming/config/workers/{}/stop", inline_rest, &stop_worker, false,
          Need::admin},
    Route{verb::get, "/streaming/config/telemetry/{}", inline_rest, &get_telemetry, false,
          Need::read},
    Route{verb::get, "/streaming/config/vendors", inline_rest, &list_vendors, false, Need::read},
    Route{verb::post, "/streaming/config/vendors/reload", blocking_rest, &reload_vendors, false,
          Need::admin},
};

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> segments;
    while (!path.empty()) {
        if (path.front() == '/') path.remove_prefix(1);
        auto slash = path.find('/');
        segments.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash);
    }
    return segments;
}

// Matches `path` against `pattern`; the {} segments go to `params` (still encoded).
bool matches(std::string_view pattern, const std::vector<std::string_view>& path,
             std::vector<std::string_view>& params) {
    auto wanted = split_path(pattern);
    if (wanted.size() != path.size()) return false;
    params.clear();
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        if (wanted[i] == "{}") {
            if (path[i].empty()) return false;
            params.push_back(path[i]);
        } else if (wanted[i] != path[i]) {
            return false;
        }
    }
    return true;
}

bool is_json_content_type(std::string_view type) {
    auto semicolon = type.find(';');
    type = type.substr(0, semicolon);
    while (!type.empty() && type.back() == ' ')
        type.remove_suffix(1);
    std::string lower(type);
    for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower == "application/json";
}

}  // namespace

std::span<const Route> routes() {
    return kRoutes;
}

Reply json_reply(unsigned status, const boost::json::value& body) {
    return {status, write_json(body), {}};
}

Reply error_reply(const Error& error) {
    return json_reply(error.status, boost::json::object{{"detail", error.detail}});
}

Reply error_reply(const RouteMiss& miss) {
    Reply reply = error_reply(miss.error);
    if (!miss.allow.empty()) reply.headers.emplace_back(http::field::allow, miss.allow);
    return reply;
}

Reply no_content() {
    return {204, {}, {}};
}

std::string methods_for(std::string_view path) {
    auto segments = split_path(path);
    std::vector<std::string_view> params;
    std::string methods;
    for (const auto& route : kRoutes) {
        if (!matches(route.pattern, segments, params)) continue;
        std::string name(http::to_string(route.method));
        if (methods.find(name) == std::string::npos)
            methods += (methods.empty() ? "" : ", ") + name;
    }
    return methods;
}

Result<RouteMatch, RouteMiss> match_route(http::verb method, std::string_view path) {
    auto segments = split_path(path);
    std::vector<std::string_view> params;
    for (const auto& route : kRoutes) {
        // Another route may match this path with this method (a literal before {}).
        if (route.method != method || !matches(route.pattern, segments, params)) continue;
        RouteMatch match{&route, {}};
        for (auto param : params) {
            auto decoded = percent_decode(param);
            if (!decoded)
                return RouteMiss{Error::malformed("malformed path: bad percent-encoding"), {}};
            match.params.push_back(std::move(*decoded));
        }
        return match;
    }
    if (auto allow = methods_for(path); !allow.empty()) {
        return RouteMiss{Error(405, "Method Not Allowed"), allow};
    }
    return RouteMiss{Error::not_found("Not Found"), {}};
}

Result<boost::json::value> read_json_body(const Request& request, int max_depth) {
    auto type = request[http::field::content_type];
    if (!type.empty() && !is_json_content_type(type)) {
        return Error::unsupported("Content-Type must be application/json, not '" +
                                  std::string(type) + "'");
    }
    auto value = parse_json(request.body(), max_depth);
    if (!value) return Error::malformed("malformed JSON body: " + value.error().detail);
    return value;
}

Result<boost::json::value> parse_json(std::string_view text, int max_depth) {
    boost::json::parse_options options;
    options.max_depth = static_cast<std::size_t>(max_depth);
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec, {}, options);
    if (ec == boost::json::error::too_deep) {
        return Error::malformed("nested deeper than " + std::to_string(max_depth) + " levels");
    }
    if (ec) return Error::malformed(ec.message());
    return value;
}

Result<std::size_t> limit_param(std::string_view query, std::size_t fallback, std::size_t max) {
    auto text = query_param(query, "limit");
    if (!text) return fallback;
    std::size_t limit = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (ec != std::errc() || end != text->data() + text->size() || limit < 1 || limit > max) {
        return Error::invalid("limit", "must be an integer from 1 to " + std::to_string(max) +
                                           ", not '" + *text + "'");
    }
    return limit;
}

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        auto equals = pair.find('=');
        if (pair.substr(0, equals) == key) {
            if (equals == std::string_view::npos) return std::string();
            // Left raw when malformed: the caller validates the value and says what is wrong.
            auto raw = pair.substr(equals + 1);
            return percent_decode(raw).value_or(std::string(raw));
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

}  // namespace tickerd::gateway
