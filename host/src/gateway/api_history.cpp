// GET /streaming/history/{channel}?since=<message id>&limit=N (CONTRACT.md §7): what a channel
// kept, oldest first. Without `since`, its newest `limit` messages; with it, the first `limit`
// after that message, and whether the history still reaches back to it (`recovered`). The
// messages are the StreamMessages as published, spliced into the answer as they are.
#include "gateway/rest.hpp"

#include "core/json_writer.hpp"

#include <boost/json.hpp>

namespace tickerd::gateway {

namespace json = boost::json;

namespace {

constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

Result<std::optional<uint64_t>> history_since(std::string_view query) {
    auto text = query_param(query, "since");
    if (!text) return std::optional<uint64_t>{};
    auto seq = bus::seq_of_id(*text);
    if (!seq) {
        return Error::invalid("since",
                              "'" + *text + "' is not a message id such as 1764504000123-42");
    }
    return std::optional<uint64_t>{*seq};
}

}  // namespace

Reply get_history(Services& services, const RouteArgs& args) {
    ChannelTypes types(services.config.published_types, services.config.bars.intervals);
    auto channel = normalize_channel(args.params.at(0), types);
    if (!channel) {
        return error_reply(Error::not_found(
            "channel '" + args.params.at(0) +
            "' is not well-formed (stream:<data_type>:<SYMBOL>, the data type one of " +
            types.describe() + ")"));
    }
    auto name = channel->name();
    if (auto allowed = authorize_channels(args.principal, {name}); !allowed) {
        return error_reply(allowed.error());
    }
    auto since = history_since(args.query);
    if (!since) return error_reply(since.error());
    auto limit = limit_param(args.query, kDefaultLimit, kMaxLimit);
    if (!limit) return error_reply(limit.error());

    auto page = services.bus.history(name, {*since, *limit});
    if (!page) return error_reply(page.error());
    std::string body = R"({"channel":)" + write_json(json::value(name)) + R"(,"messages":[)";
    for (std::size_t i = 0; i < page->messages.size(); ++i) {
        if (i) body += ',';
        body += page->messages[i]->json;
    }
    body += "]";
    if (*since) body += std::string(R"(,"recovered":)") + (page->complete ? "true" : "false");
    body += std::string(R"(,"more":)") + (page->more ? "true" : "false") + "}";
    return Reply{200, std::move(body), {}};
}

}  // namespace tickerd::gateway
