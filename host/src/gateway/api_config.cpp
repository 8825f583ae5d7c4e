// Instruments, cadences and global settings: read from the state store's snapshot, changed
// through it (durably, before the answer goes out).
#include "gateway/rest.hpp"

#include <boost/json/object.hpp>

#include <system_error>

namespace tickerd::gateway {

namespace json = boost::json;

namespace {

// Runs a change against the store and turns what can go wrong into the reply a client
// should see: 422 naming the field, or 503 when the state folder cannot be written.
template <class Change>
Reply apply_change(Change change) {
    try {
        return change();
    } catch (const ValidationError& e) {
        return error_reply({422, e.what()});
    } catch (const std::system_error& e) {
        return error_reply({503, std::string("configuration not saved: ") + e.what()});
    }
}

std::optional<std::string> symbol_from_path(const RouteArgs& args, Reply& error) {
    auto symbol = normalize_symbol(args.params.at(0));
    if (!symbol) {
        error = error_reply({422, "symbol: '" + args.params.at(0) +
                                      "' is not a valid symbol (1-20 of A-Z 0-9 . ^ = -)"});
    }
    return symbol;
}

std::optional<DataType> data_type_from_path(const RouteArgs& args, Reply& error) {
    auto type = parse_data_type(args.params.at(0));
    if (!type) {
        error = error_reply({404, "unknown data type '" + args.params.at(0) +
                                      "' (market_data, news, fundamentals, analytics, "
                                      "insider_data)"});
    }
    return type;
}

Reply instrument_not_found(const std::string& symbol) {
    return error_reply({404, "Instrument " + symbol + " not found"});
}

}  // namespace

Reply list_instruments(Services& services, const RouteArgs&) {
    json::array instruments;
    for (const auto& instrument : services.state.snapshot()->instruments) {
        instruments.push_back(to_json(instrument));
    }
    return json_reply(200, instruments);
}

Reply get_instrument(Services& services, const RouteArgs& args) {
    Reply error;
    auto symbol = symbol_from_path(args, error);
    if (!symbol) return error;
    auto snapshot = services.state.snapshot();
    const Instrument* instrument = snapshot->find_instrument(*symbol);
    return instrument ? json_reply(200, to_json(*instrument)) : instrument_not_found(*symbol);
}

Reply put_instrument(Services& services, const RouteArgs& args) {
    auto body = read_json_body(args.request);
    if (auto* refused = std::get_if<ApiError>(&body)) return error_reply(*refused);
    return apply_change([&] {
        auto stored =
            services.state.upsert_instrument(parse_instrument(std::get<json::value>(body)));
        return json_reply(201, to_json(stored));
    });
}

Reply delete_instrument(Services& services, const RouteArgs& args) {
    Reply error;
    auto symbol = symbol_from_path(args, error);
    if (!symbol) return error;
    return apply_change([&] {
        return services.state.remove_instrument(*symbol) ? no_content()
                                                         : instrument_not_found(*symbol);
    });
}

Reply list_cadences(Services& services, const RouteArgs&) {
    json::array cadences;
    auto snapshot = services.state.snapshot();
    for (auto type : kAllDataTypes)
        cadences.push_back(to_json(snapshot->cadence(type)));
    return json_reply(200, cadences);
}

Reply get_cadence(Services& services, const RouteArgs& args) {
    Reply error;
    auto type = data_type_from_path(args, error);
    if (!type) return error;
    return json_reply(200, to_json(services.state.snapshot()->cadence(*type)));
}

Reply put_cadence(Services& services, const RouteArgs& args) {
    Reply error;
    auto type = data_type_from_path(args, error);
    if (!type) return error;
    auto body = read_json_body(args.request);
    if (auto* refused = std::get_if<ApiError>(&body)) return error_reply(*refused);
    return apply_change([&] {
        return json_reply(
            200,
            to_json(services.state.put_cadence(parse_cadence(std::get<json::value>(body), *type))));
    });
}

Reply get_global_settings(Services& services, const RouteArgs&) {
    return json_reply(200, to_json(services.state.snapshot()->global));
}

Reply put_global_settings(Services& services, const RouteArgs& args) {
    auto body = read_json_body(args.request);
    if (auto* refused = std::get_if<ApiError>(&body)) return error_reply(*refused);
    return apply_change([&] {
        auto base = services.state.snapshot()->global;
        return json_reply(200, to_json(services.state.put_global(
                                   parse_global_settings(std::get<json::value>(body), base))));
    });
}

}  // namespace tickerd::gateway
