// Instruments, cadences and global settings: read from the state store's snapshot, changed
// through it (durably, before the answer goes out).
#include "gateway/rest.hpp"

#include <boost/json/object.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace tickerd::gateway {

namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

Result<std::string> symbol_from_path(const RouteArgs& args) {
    auto symbol = normalize_symbol(args.params.at(0));
    if (!symbol) {
        return Error::invalid("symbol", "'" + args.params.at(0) +
                                            "' is not a valid symbol (1-20 of A-Z 0-9 . ^ = -)");
    }
    return *symbol;
}

Result<DataType> data_type_from_path(const RouteArgs& args) {
    auto type = parse_data_type(args.params.at(0));
    if (!type) {
        return Error::not_found("unknown data type '" + args.params.at(0) +
                                "' (market_data, news, fundamentals, analytics, insider_data)");
    }
    return *type;
}

Reply instrument_not_found(const std::string& symbol) {
    return error_reply(Error::not_found("Instrument " + symbol + " not found"));
}

// The stored value as JSON with `status`, or the error: 422 naming the field, 503 when the
// state folder cannot be written.
template <class T>
Reply stored_reply(unsigned status, const Result<T>& stored) {
    return stored ? json_reply(status, to_json(*stored)) : error_reply(stored.error());
}

// A page of the instruments list holds this many by default, and at most the second.
constexpr std::size_t kDefaultInstrumentPage = 1000;
constexpr std::size_t kMaxInstrumentPage = 10000;

}  // namespace

// Every instrument, as always; with ?limit= or ?after=SYMBOL, a page of them in symbol order,
// the next page named by a Link header (rel="next", RFC 8288) so that the body keeps its
// shape. At 100,000 instruments the whole list is megabytes.
Reply list_instruments(Services& services, const RouteArgs& args) {
    auto after = query_param(args.query, "after");
    bool paged = after || query_param(args.query, "limit");
    auto limit = limit_param(args.query, kDefaultInstrumentPage, kMaxInstrumentPage);
    if (!limit) return error_reply(limit.error());
    auto snapshot = services.state.snapshot();
    const auto& table = snapshot->instruments;
    json::array instruments;
    auto it = after ? table.upper_bound(*after) : table.begin();
    std::string last;
    for (; it != table.end() && (!paged || instruments.size() < *limit); ++it) {
        instruments.push_back(to_json(*it));
        last = it->symbol;
    }
    auto reply = json_reply(200, instruments);
    if (paged && it != table.end()) {
        // The symbol percent-encoded as a query value (^GSPC, EURUSD=X).
        auto after = boost::urls::encode(last, boost::urls::unreserved_chars);
        reply.headers.emplace_back(
            http::field::link, "</streaming/config/instruments?limit=" + std::to_string(*limit) +
                                   "&after=" + after + ">; rel=\"next\"");
    }
    return reply;
}

Reply get_instrument(Services& services, const RouteArgs& args) {
    auto symbol = symbol_from_path(args);
    if (!symbol) return error_reply(symbol.error());
    auto snapshot = services.state.snapshot();
    const Instrument* instrument = snapshot->find_instrument(*symbol);
    return instrument ? json_reply(200, to_json(*instrument)) : instrument_not_found(*symbol);
}

Reply put_instrument(Services& services, const RouteArgs& args) {
    auto body = read_json_body(args);
    if (!body) return error_reply(body.error());
    auto instrument = parse_instrument(*body);
    if (!instrument) return error_reply(instrument.error());
    return stored_reply(201, services.state.upsert_instrument(std::move(*instrument)));
}

Reply delete_instrument(Services& services, const RouteArgs& args) {
    auto symbol = symbol_from_path(args);
    if (!symbol) return error_reply(symbol.error());
    auto removed = services.state.remove_instrument(*symbol);
    if (!removed) return error_reply(removed.error());
    return *removed ? no_content() : instrument_not_found(*symbol);
}

Reply list_cadences(Services& services, const RouteArgs&) {
    json::array cadences;
    auto snapshot = services.state.snapshot();
    for (auto type : kAllDataTypes)
        cadences.push_back(to_json(snapshot->cadence(type)));
    return json_reply(200, cadences);
}

Reply get_cadence(Services& services, const RouteArgs& args) {
    auto type = data_type_from_path(args);
    if (!type) return error_reply(type.error());
    return json_reply(200, to_json(services.state.snapshot()->cadence(*type)));
}

Reply put_cadence(Services& services, const RouteArgs& args) {
    auto type = data_type_from_path(args);
    if (!type) return error_reply(type.error());
    auto body = read_json_body(args);
    if (!body) return error_reply(body.error());
    auto cadence = parse_cadence(*body, *type);
    if (!cadence) return error_reply(cadence.error());
    return stored_reply(200, services.state.put_cadence(*cadence));
}

Reply get_global_settings(Services& services, const RouteArgs&) {
    return json_reply(200, to_json(services.state.snapshot()->global));
}

Reply put_global_settings(Services& services, const RouteArgs& args) {
    auto body = read_json_body(args);
    if (!body) return error_reply(body.error());
    auto settings = parse_global_settings(*body, services.state.snapshot()->global);
    if (!settings) return error_reply(settings.error());
    return stored_reply(200, services.state.put_global(*settings));
}

}  // namespace tickerd::gateway
