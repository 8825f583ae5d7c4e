// libFuzzer target for the HTTP front door (scripts/fuzz.sh): bytes → Beast's request parser
// with the daemon's limits, request after request as on a keep-alive connection; each parsed
// request goes where HttpSession::dispatch_request sends it — the Gate (with auth on, and off
// on loopback), match_route, the JSON body, the stream's channels from the query or the body,
// the handlers that change nothing (every GET, minting a token) and the publish API, on the
// daemon's parts built in-process. Never a crash, a hang or a 500: every refusal is a 4xx with a
// detail; a route's params are the percent-decoded segments of the path; a 401 says how to
// authenticate; the target as logged keeps no access_token.
#include "gateway/gate.hpp"
#include "gateway/rest.hpp"

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/model.hpp"
#include "plugins/plugins.hpp"
#include "scheduler/scheduler.hpp"
#include "telemetry/telemetry.hpp"

#include "fuzz_support.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdint>
#include <set>

using namespace tickerd;
using namespace tickerd::gateway;
using namespace tickerd::fuzz;
namespace http = boost::beast::http;

namespace {

const Limits kLimits;  // the daemon's defaults
constexpr std::size_t kMaxChannels = 50;
constexpr int kRequestsPerInput = 8;

bool is_4xx(unsigned status) {
    return status >= 400 && status < 500;
}

void check_error(const Error& error) {
    FUZZ_REQUIRE(is_4xx(error.status));
    FUZZ_REQUIRE(!error.detail.empty());
}

void check_channels(const Result<ChannelSet>& channels) {
    if (!channels) return check_error(channels.error());
    FUZZ_REQUIRE(!channels->empty() && channels->size() <= kMaxChannels);
    std::set<std::string> distinct(channels->begin(), channels->end());
    FUZZ_REQUIRE(distinct.size() == channels->size());
    for (const auto& channel : *channels)
        FUZZ_REQUIRE(parse_channel(channel).has_value());
}

// The pieces of `text` between `separator`s: a path's segments, a query's parameters.
std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> out;
    while (true) {
        auto at = text.find(separator);
        out.push_back(text.substr(0, at));
        if (at == std::string_view::npos) return out;
        text.remove_prefix(at + 1);
    }
}

void check_match(const Result<RouteMatch, RouteMiss>& match, http::verb method,
                 std::string_view path) {
    if (!match) {
        const auto& miss = match.error();
        auto status = miss.error.status;
        FUZZ_REQUIRE(status == 400 || status == 404 || status == 405);
        FUZZ_REQUIRE((status == 405) == !miss.allow.empty());
        return;
    }
    FUZZ_REQUIRE(match->route->method == method);
    FUZZ_REQUIRE(methods_for(path).find(http::to_string(method)) != std::string::npos);
    auto holes = static_cast<std::size_t>(
        std::count(match->route->pattern.begin(), match->route->pattern.end(), '{'));
    FUZZ_REQUIRE(match->params.size() == holes);
    auto segments = split(path, '/');
    for (const auto& param : match->params) {
        FUZZ_REQUIRE(!param.empty());
        FUZZ_REQUIRE(std::any_of(segments.begin(), segments.end(), [&](std::string_view segment) {
            return percent_decode(segment) == param;
        }));
    }
}

// The token a stream would use (query_param's: the first access_token) must not reach a log
// line: no parameter of the logged target's query still carries it.
void check_redaction(std::string_view target, std::string_view query) {
    std::string used;
    for (auto parameter : split(query, '&')) {
        if (parameter.starts_with("access_token=")) {
            used = parameter;
            break;
        }
    }
    if (used.empty() || used == "access_token=" || used == "access_token=…") return;
    auto logged = redacted_target(target);
    auto question = logged.find('?');
    FUZZ_REQUIRE(question != std::string::npos);
    for (auto parameter : split(std::string_view(logged).substr(question + 1), '&'))
        FUZZ_REQUIRE(parameter != used);
}

void check_gate(const access::Gatekeeper& gatekeeper, const Request& request,
                const Result<RouteMatch, RouteMiss>& match, std::string_view query) {
    static const ListenerInfo listener{true, "127.0.0.1"};
    Gate gate(gatekeeper, listener, request);
    gate.cors_headers();
    if (auto host = gate.check_host(); !host) {
        FUZZ_REQUIRE(host.error().status == 421 && !gatekeeper.enabled());
        return;
    }
    if (request.method() == http::verb::options) {
        auto status = gate.preflight().status;
        FUZZ_REQUIRE(status == 204 || status == 403 || status == 404);
        return;
    }
    if (!match) return;
    const Route& route = *match->route;
    if (auto origin = gate.check_origin(route); !origin) {
        FUZZ_REQUIRE(origin.error().status == 403);
    }
    if (auto origin = gate.check_websocket_origin(); !origin) {
        FUZZ_REQUIRE(origin.error().status == 403);
    }
    auto principal = gate.admit(route, query);
    if (!principal) {
        const Reply& reply = principal.error();
        FUZZ_REQUIRE(reply.status == 401 || reply.status == 403);
        bool challenged = std::any_of(reply.headers.begin(), reply.headers.end(), [](auto& header) {
            return header.first == http::field::www_authenticate;
        });
        FUZZ_REQUIRE(challenged == (reply.status == 401));
        return;
    }
    bool stream = route.kind == RouteKind::sse || route.kind == RouteKind::websocket;
    if (!stream) return;
    Result<ChannelSet> channels = ChannelSet{};
    if (route.takes_body) {
        auto body = read_json_body(request, kLimits.max_json_depth);
        if (!body) return check_error(body.error());
        channels = resolve_channels_from_body(*body, kMaxChannels);
    } else {
        channels = resolve_channels_from_query(query, kMaxChannels);
    }
    check_channels(channels);
    if (channels) {
        if (auto allowed = authorize_channels(*principal, *channels); !allowed) {
            FUZZ_REQUIRE(allowed.error().status == 403);
        }
    }
}

// What the handlers read: the daemon's parts in-process, nothing running, no plugin.
struct Daemon {
    boost::asio::io_context io;
    config::DaemonConfig config = [] {
        config::DaemonConfig declared;
        declared.published_types = {"signals"};  // so the publish API's both paths are reached
        return declared;
    }();
    config::StateStore state{fuzz_keys().folder / "state", config::RuntimeConfig::defaults()};
    plugins::PluginHost plugins{{}};
    std::unique_ptr<bus::Bus> bus = bus::make_embedded_bus();
    telemetry::Store telemetry;
    scheduler::WorkerManager workers{io, state, plugins, *bus, telemetry};
    alerts::AlertCenter alerts{*bus, state, config.alerts, ""};
    Services services{config,
                      state,
                      workers,
                      plugins,
                      *bus,
                      telemetry,
                      *fuzz_keys().gatekeeper,
                      alerts,
                      std::chrono::steady_clock::now()};
};
Daemon& daemon() {
    static Daemon* parts = new Daemon;  // never destroyed: its workers' io never ran
    return *parts;
}

// The handlers that change nothing (reads, minting a token) and the publish API (which
// changes only the in-process bus) answer bad input with a 4xx: an exception would be the
// daemon's 500.
void check_handler(const Request& request, const RouteMatch& match, std::string_view query) {
    const Route& route = *match.route;
    bool reads = route.need == Need::read && route.handler;
    if (!reads && route.handler != &mint_token && route.handler != &publish_message) return;
    access::Principal admin{"ops", {access::Scope::admin}, {}, std::nullopt};
    auto reply =
        route.handler(daemon().services, RouteArgs{request, match.params, query, admin, kLimits});
    FUZZ_REQUIRE(reply.status < 500);
    if (reply.status >= 400) FUZZ_REQUIRE(!reply.body.empty());
}

// The 101 of a WebSocket opening handshake, or a 400 / 426 saying why not.
void check_handshake(const Request& request) {
    auto accepted = accept_websocket(request);
    if (!accepted) {
        auto status = accepted.error().status;
        FUZZ_REQUIRE(status == 400 || status == 426);
        return;
    }
    const auto& greeting = accepted->greeting;
    FUZZ_REQUIRE(greeting.starts_with("HTTP/1.1 101 ") && greeting.ends_with("\r\n\r\n"));
    FUZZ_REQUIRE(greeting.find("\r\n\r\n") == greeting.size() - 4);  // nothing injected
}

void dispatch(const Request& request) {
    std::string_view target = request.target();
    auto question = target.find('?');
    std::string_view path = target.substr(0, question);
    std::string_view query =
        question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
    auto match = match_route(request.method(), path);
    check_match(match, request.method(), path);
    if (match && match->route->takes_body) {
        auto body = read_json_body(request, kLimits.max_json_depth);
        if (!body) check_error(body.error());
    }
    if (match) check_handler(request, *match, query);
    if (match && match->route->kind == RouteKind::websocket) check_handshake(request);
    check_channels(resolve_channels_from_query(query, kMaxChannels));
    check_redaction(target, query);
    check_gate(*fuzz_keys().gatekeeper, request, match, query);
    check_gate(*fuzz_keys().open, request, match, query);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    log::init(log::Level::error);
    daemon();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    for (int i = 0; i < kRequestsPerInput && !input.empty(); ++i) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(kLimits.max_header_bytes));
        parser.body_limit(kLimits.max_body_bytes);
        parser.eager(true);
        // Eager, one put() parses all it can. "need more" then means more than the input has:
        // the connection's end, as when Beast's read asks the socket and gets none (put() must
        // not see the same bytes twice: Beast asserts in its chunk parser then).
        boost::beast::error_code ec;
        auto used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
        input.remove_prefix(used);
        if (ec == http::error::need_more || (!ec && !parser.is_done())) parser.put_eof(ec);
        if (ec || !parser.is_done()) return 0;  // the daemon answers 4xx or closes
        dispatch(parser.release());
    }
    return 0;
}
