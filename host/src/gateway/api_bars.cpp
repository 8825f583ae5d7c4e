// GET /streaming/bars/{symbol}?interval=1m&limit=N (CONTRACT.md §8): a symbol's recent OHLC
// bars. The instance aggregating the symbol answers from its ring of recent final bars
// (`source: "aggregator"`); any other instance (an edge, or one that does not poll the symbol)
// from the bar channel's history (`source: "history"`: with Redis, every instance has it), or
// without history from the channel's latest message, in progress or final (`source: "latest"`).
#include "gateway/rest.hpp"

#include <boost/json.hpp>

#include <optional>
#include <utility>

namespace tickerd::gateway {

namespace json = boost::json;

namespace {

constexpr std::size_t kDefaultBars = 100;
constexpr std::size_t kMaxBars = 500;  // the aggregator's ring per symbol and interval
// Messages of a bar channel's history read for its finals (updates come between them).
constexpr std::size_t kHistoryScan = 1000;

Result<std::string> bars_interval(std::string_view query, const std::vector<std::string>& ours) {
    auto text = query_param(query, "interval");
    if (!text) {
        if (ours.empty()) return Error::not_found("no bars: bars.intervals is empty");
        auto one_minute = std::find(ours.begin(), ours.end(), "1m");
        return one_minute != ours.end() ? *one_minute : ours.front();
    }
    if (std::find(ours.begin(), ours.end(), *text) == ours.end()) {
        std::string list;
        for (const auto& name : ours)
            list += (list.empty() ? "" : ", ") + name;
        return Error::invalid("interval", "'" + *text + "' is not an interval aggregated here (" +
                                              (list.empty() ? "none" : list) + ")");
    }
    return *text;
}

// The last `limit` final bars in a bar channel's history, and the bar in progress when the
// newest message is one; nullopt when the channel has no history here.
std::optional<std::pair<json::array, json::value>> bars_from_history(bus::Bus& bus,
                                                                     const std::string& channel,
                                                                     std::size_t limit) {
    auto page = bus.history(channel, {std::nullopt, kHistoryScan});
    if (!page || page->messages.empty()) return std::nullopt;
    json::array finals;
    json::value current = nullptr;
    for (const auto& message : page->messages) {
        auto data = json::parse(message->json).at("data");
        if (data.at("final").as_bool()) {
            finals.push_back(std::move(data));
            current = nullptr;
        } else {
            current = std::move(data);
        }
    }
    if (finals.size() > limit) {
        finals.erase(finals.begin(), finals.end() - static_cast<std::ptrdiff_t>(limit));
    }
    return std::pair{std::move(finals), std::move(current)};
}

}  // namespace

Reply get_bars(Services& services, const RouteArgs& args) {
    auto symbol = normalize_symbol(args.params.at(0));
    if (!symbol) {
        return error_reply(Error::invalid(
            "symbol", "'" + args.params.at(0) + "' is not a symbol ([A-Z0-9.^=-], 1-20)"));
    }
    auto interval = bars_interval(args.query, services.config.bars.intervals);
    if (!interval) return error_reply(interval.error());
    auto limit = limit_param(args.query, kDefaultBars, kMaxBars);
    if (!limit) return error_reply(limit.error());

    json::object answer{{"symbol", *symbol}, {"interval", *interval}};
    if (auto recent = services.workers.bars(*symbol, *interval, *limit)) {
        answer["source"] = "aggregator";
        answer["bars"] = std::move(recent->at("bars"));
        answer["current"] = std::move(recent->at("current"));
        return json_reply(200, answer);
    }
    auto channel = channel_name(bar_channel_type(*interval), *symbol);
    // Not aggregated here: the bar channel's history (any instance has it with Redis).
    if (auto from_history = bars_from_history(services.bus, channel, *limit)) {
        answer["source"] = "history";
        answer["bars"] = std::move(from_history->first);
        answer["current"] = std::move(from_history->second);
        return json_reply(200, answer);
    }
    // No history either: the channel's latest message is all this instance has.
    answer["source"] = "latest";
    json::array bars;
    json::value current = nullptr;
    if (auto latest = services.bus.latest(channel)) {
        auto message = json::parse(latest->json);
        auto& data = message.at("data");
        if (data.at("final").as_bool()) {
            bars.push_back(data);
        } else {
            current = data;
        }
    }
    answer["bars"] = std::move(bars);
    answer["current"] = std::move(current);
    return json_reply(200, answer);
}

}  // namespace tickerd::gateway
