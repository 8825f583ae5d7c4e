// POST /streaming/publish/{channel} (CONTRACT.md §8): a client's own data into a channel,
// wrapped as a StreamMessage, numbered in the channel's one series, kept as latest and
// fanned out like a polled message — through Redis when it is on.
#include "gateway/rest.hpp"

#include <boost/json.hpp>

namespace tickerd::gateway {

namespace json = boost::json;

namespace {

// {"data": {…}}: `data` an object; a "symbol" in it, if any, the channel's.
Result<json::object> read_data(const json::value& body, const ChannelKey& channel) {
    if (!body.is_object()) return Error::invalid("", "expected a JSON object {\"data\": {…}}");
    const json::value* data = nullptr;
    for (const auto& [key, value] : body.get_object()) {
        if (key != "data") return Error::invalid(std::string(key), "unknown field (expected data)");
        data = &value;
    }
    if (!data) return Error::invalid("data", "missing: the message's data, a JSON object");
    if (!data->is_object()) return Error::invalid("data", "expected a JSON object");
    const auto* symbol = data->get_object().if_contains("symbol");
    if (symbol) {
        const auto* text = symbol->if_string();
        auto normalized = text ? normalize_symbol(*text) : std::nullopt;
        if (normalized != channel.symbol) {
            return Error::invalid("data.symbol", "must be the channel's symbol, '" +
                                                     channel.symbol + "', when given");
        }
    }
    return data->get_object();
}

// A polled type's channel is numbered by the instance polling it: here, unless this is an
// edge (which polls nothing) or another instance holds the channel's lease.
Result<std::string> publish_polled(Services& services, const bus::Publication& publication) {
    if (services.config.redis.enabled && services.config.role == config::Role::edge) {
        return Error(409, publication.channel.name() +
                              " is numbered by the instance polling it, and an edge polls "
                              "nothing: publish it there, or into a published type");
    }
    return services.workers.publish(publication);
}

}  // namespace

Reply publish_message(Services& services, const RouteArgs& args) {
    ChannelTypes types(services.config.published_types);
    const std::string& text = args.params.at(0);
    auto channel = normalize_channel(text, types);
    if (!channel) {
        return error_reply(
            Error::invalid("channel", "'" + text +
                                          "' is not a channel to publish into (expected "
                                          "stream:<type>:<SYMBOL>, the type one of " +
                                          types.describe() + ")"));
    }
    if (!args.principal.may_publish(channel->name())) {
        return error_reply(
            Error(403, "channel: this credential may not publish into '" + channel->name() + "'"));
    }
    auto body = read_json_body(args);
    if (!body) return error_reply(body.error());
    auto data = read_data(*body, *channel);
    if (!data) return error_reply(data.error());

    bus::Publication publication{
        *channel, args.principal.name.empty() ? "api" : args.principal.name, std::move(*data)};
    auto id = channel->data_type()
                  ? publish_polled(services, publication)
                  : services.bus.publish_numbered(
                        publication, latest_ttl(services.state.snapshot()->global, nullptr));
    if (!id) return error_reply(id.error());
    services.telemetry.metrics().count_published(channel->type, channel->symbol);
    return json_reply(202, json::object{{"id", *id}, {"channel", channel->name()}});
}

}  // namespace tickerd::gateway
