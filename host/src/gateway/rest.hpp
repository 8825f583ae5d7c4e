// Internal to the gateway: the REST side. Routes map a method and a path pattern to a
// handler; handlers turn a request into a Reply and never throw for bad input (they answer
// 4xx with a `detail`). Not used outside gateway/.
#pragma once

#include "gateway/streams.hpp"

#include "access/access.hpp"

#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tickerd::gateway {

// Response headers besides the ones every answer has.
using Headers = std::vector<std::pair<boost::beast::http::field, std::string>>;
// The same for headers Beast has no field for (Content-Security-Policy, …), by name.
using NamedHeaders = std::vector<std::pair<std::string, std::string>>;

// What a REST handler produces; the HTTP session turns it into a response.
struct Reply {
    unsigned status = 200;
    std::string body;  // JSON (unless `headers` names another Content-Type); empty for 204
    Headers headers;   // Allow of a 405, WWW-Authenticate of a 401, …
    NamedHeaders named_headers = {};  // the dashboard's Content-Security-Policy, …
};
Reply json_reply(unsigned status, const boost::json::value& body);
Reply error_reply(const Error& error);
Reply no_content();

// One request as a handler sees it.
struct RouteArgs {
    const Request& request;
    std::vector<std::string> params;  // the {} segments of the pattern, percent-decoded
    std::string_view query;           // after '?', not decoded
    const access::Principal& principal;
    const Limits& limits;
};

using Handler = Reply (*)(Services&, const RouteArgs&);

enum class RouteKind {
    inline_rest,    // cheap: answered on the I/O thread
    blocking_rest,  // writes durable state (fsync): answered from the gateway's config thread
    bus_rest,       // may wait on Redis: answered from the gateway's bus threads (with Redis on)
    sse,
    websocket,
};

// What a route needs of the credential (when auth is on).
enum class Need {
    nothing,     // open: /livez, /readyz
    metrics,     // open unless auth.protect_metrics, then `read`: /metrics
    credential,  // any valid credential (POST /streaming/tokens)
    read,        // the scopes, as CONTRACT.md §6 gives them
    publish,
    admin,
};

struct Route {
    boost::beast::http::verb method;
    std::string_view pattern;  // "/streaming/config/instruments/{}"
    RouteKind kind;
    Handler handler;  // null for streams
    bool takes_body;  // a JSON body is read (and its Content-Type checked)
    Need need;
};

// Every route, in the order they are matched (read-only: the OpenAPI test compares them with
// the document).
std::span<const Route> routes();

struct RouteMatch {
    const Route* route;
    std::vector<std::string> params;
};
// Why no route takes a request: 404, 400 for a malformed path, or 405 with the methods the
// path does take (`allow`).
struct RouteMiss {
    Error error;
    std::string allow;
};
// Every method some route takes for `path` ("GET, POST"), for a preflight.
std::string methods_for(std::string_view path);
Result<RouteMatch, RouteMiss> match_route(boost::beast::http::verb method, std::string_view path);
Reply error_reply(const RouteMiss& miss);

// The JSON body of a request: 415 unless the Content-Type is JSON (or absent), 400 when it
// does not parse or nests deeper than `max_depth`.
Result<boost::json::value> read_json_body(const Request& request, int max_depth);
inline Result<boost::json::value> read_json_body(const RouteArgs& args) {
    return read_json_body(args.request, args.limits.max_json_depth);
}
// JSON text with the same depth limit (WebSocket messages).
Result<boost::json::value> parse_json(std::string_view text, int max_depth);

// One query parameter, percent-decoded; nullopt when absent.
std::optional<std::string> query_param(std::string_view query, std::string_view key);
// The `limit` parameter: an integer from 1 to `max`, `fallback` when absent; else a 422
// naming it.
Result<std::size_t> limit_param(std::string_view query, std::size_t fallback, std::size_t max);

// Handlers, one file per resource.
Reply get_status(Services&, const RouteArgs&);           // api_status.cpp
Reply get_livez(Services&, const RouteArgs&);            // api_status.cpp
Reply get_readyz(Services&, const RouteArgs&);           // api_status.cpp
Reply get_metrics(Services&, const RouteArgs&);          // api_metrics.cpp
Reply get_channels(Services&, const RouteArgs&);         // api_status.cpp
Reply get_latest(Services&, const RouteArgs&);           // api_status.cpp
Reply list_instruments(Services&, const RouteArgs&);     // api_config.cpp
Reply get_instrument(Services&, const RouteArgs&);       // api_config.cpp
Reply put_instrument(Services&, const RouteArgs&);       // api_config.cpp
Reply delete_instrument(Services&, const RouteArgs&);    // api_config.cpp
Reply list_cadences(Services&, const RouteArgs&);        // api_config.cpp
Reply get_cadence(Services&, const RouteArgs&);          // api_config.cpp
Reply put_cadence(Services&, const RouteArgs&);          // api_config.cpp
Reply get_global_settings(Services&, const RouteArgs&);  // api_config.cpp
Reply put_global_settings(Services&, const RouteArgs&);  // api_config.cpp
Reply list_workers(Services&, const RouteArgs&);         // api_workers.cpp
Reply get_worker(Services&, const RouteArgs&);           // api_workers.cpp
Reply start_worker(Services&, const RouteArgs&);         // api_workers.cpp
Reply stop_worker(Services&, const RouteArgs&);          // api_workers.cpp
Reply start_all_workers(Services&, const RouteArgs&);    // api_workers.cpp
Reply stop_all_workers(Services&, const RouteArgs&);     // api_workers.cpp
Reply get_telemetry(Services&, const RouteArgs&);        // api_workers.cpp
Reply list_vendors(Services&, const RouteArgs&);         // api_workers.cpp
Reply get_bars(Services&, const RouteArgs&);             // api_bars.cpp
Reply get_history(Services&, const RouteArgs&);          // api_history.cpp
Reply reload_vendors(Services&, const RouteArgs&);       // api_workers.cpp
Reply mint_token(Services&, const RouteArgs&);           // api_tokens.cpp
Reply publish_message(Services&, const RouteArgs&);      // api_publish.cpp
Reply get_alerts(Services&, const RouteArgs&);           // api_alerts.cpp
Reply list_alert_rules(Services&, const RouteArgs&);     // api_alerts.cpp
Reply get_alert_rule(Services&, const RouteArgs&);       // api_alerts.cpp
Reply put_alert_rule(Services&, const RouteArgs&);       // api_alerts.cpp
Reply delete_alert_rule(Services&, const RouteArgs&);    // api_alerts.cpp
Reply get_openapi(Services&, const RouteArgs&);          // api_web.cpp
Reply get_dashboard(Services&, const RouteArgs&);        // api_web.cpp
Reply get_dashboard_asset(Services&, const RouteArgs&);  // api_web.cpp

// The OpenAPI document as GET /openapi.json serves it: info.version is the daemon's.
std::string openapi_document();

}  // namespace tickerd::gateway
