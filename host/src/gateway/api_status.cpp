// GET /, the health routes, the channel list and the latest-value cache.
#include "gateway/rest.hpp"

#include "core/json_writer.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value_from.hpp>

#include <unistd.h>

#include <algorithm>

namespace tickerd::gateway {

namespace json = boost::json;

namespace {

json::value time_or_null(const std::optional<std::chrono::system_clock::time_point>& when) {
    return when ? json::value(iso8601_utc(*when)) : json::value(nullptr);
}

json::object workers_summary(Services& services) {
    int running = 0;
    auto statuses = services.workers.statuses();
    for (const auto& status : statuses)
        running += status.status == scheduler::WorkerState::running;
    return {{"total", statuses.size()}, {"running", running}};
}

json::object plugins_summary(Services& services) {
    int loaded = 0, refused = 0, ready = 0;
    for (const auto& plugin : services.plugins.plugins()) {
        (plugin.state == plugins::PluginState::loaded ? loaded : refused) += 1;
    }
    auto instances = services.plugins.instances();
    for (const auto& instance : instances)
        ready += instance.state == plugins::InstanceState::ready;
    auto http = services.plugins.http_counters();
    // The plugins.* settings (as the configuration table names them), then the counts.
    auto summary = config::settings_json(services.config, "plugins");
    summary["loaded"] = loaded;
    summary["refused"] = refused;
    summary["vendors"] = instances.size();
    summary["vendors_ready"] = ready;
    summary["http"] = {{"requests", http.requests},
                       {"failures", http.failures},
                       {"bytes_received", http.bytes_received}};
    return summary;
}

// The Redis settings as the settings table shows them (secrets left out), and how the
// links are doing.
json::object redis_status(Services& services, const bus::BusHealth& bus) {
    const auto& config = services.config;
    auto redis = config::settings_json(config, "redis");
    redis["connected"] = config.redis.enabled && bus.connected;
    redis["last_error"] = bus.last_error ? json::value(*bus.last_error) : nullptr;
    if (!config.redis.address.sentinels.empty()) {
        bool named = bus.master && !bus.master->host.empty();
        redis["master"] = named ? json::value(bus.master->describe()) : nullptr;
    }
    if (config.redis.enabled) {
        // The nodes the links talk to now: writes to the primary, reads (subscriptions,
        // latest, history) to redis.read_from's node.
        redis["write_node"] =
            bus.write_node.empty() ? json::value(nullptr) : json::value(bus.write_node);
        redis["read_node"] =
            bus.read_node.empty() ? json::value(nullptr) : json::value(bus.read_node);
        redis["published"] = bus.published;
        redis["buffered"] = bus.buffered;
        redis["dropped"] = bus.dropped;
        redis["write_refusals"] = bus.write_refusals;
        redis["last_refusal"] = bus.last_refusal ? json::value(*bus.last_refusal) : nullptr;
    }
    if (services.shared_config) {
        auto shared = services.shared_config();
        redis["config_pending"] = shared.pending;
        redis["config_refusal"] =
            shared.last_refusal ? json::value(*shared.last_refusal) : json::value(nullptr);
    }
    return redis;
}

// GET /'s document.
json::object status_document(Services& services) {
    auto uptime = std::chrono::steady_clock::now() - services.started_at;
    auto bus = services.bus.health();
    return {{"name", "tickerd"},
            {"status", "ok"},
            {"version", TICKERD_VERSION},
            {"pid", ::getpid()},  // which process answered, when several share a port
            {"uptime_seconds", std::chrono::duration<double>(uptime).count()},
            {"bus", bus.kind},
            {"role", config::to_string(services.config.role)},
            {"redis", redis_status(services, bus)},
            {"streaming", config::settings_json(services.config, "streaming")},
            {"published_types", json::value_from(services.config.published_types)},
            {"workers", workers_summary(services)},
            {"plugins", plugins_summary(services)}};
}

}  // namespace

std::string status_json(Services& services) {
    return write_json(status_document(services));
}

Reply get_status(Services& services, const RouteArgs&) {
    return json_reply(200, status_document(services));
}

// The process runs and its I/O loop answers: all a liveness probe needs to know.
Reply get_livez(Services&, const RouteArgs&) {
    return {200, "{\"status\":\"alive\"}", {}};
}

// Ready means able to serve what is configured: Redis reachable when it is on, and, on an
// instance that polls, a ready vendor instance for every data type an enabled instrument asks
// for. Each reason is a sentence an operator can act on.
Reply get_readyz(Services& services, const RouteArgs&) {
    json::array reasons;
    auto bus = services.bus.health();
    // The route is open to anyone, so the reason names no address: GET / has the last error.
    if (!bus.connected) reasons.emplace_back("Redis is unreachable (GET / says why)");
    if (bus.connected && bus.refusing)
        reasons.emplace_back("Redis refuses writes (GET / has its last refusal)");
    if (services.config.role != config::Role::edge) {
        auto snapshot = services.state.snapshot();
        for (auto type : kAllDataTypes) {
            bool asked = std::any_of(snapshot->instruments.begin(), snapshot->instruments.end(),
                                     [&](const Instrument& instrument) {
                                         return instrument.enabled && instrument.serves(type);
                                     });
            if (asked && services.plugins.ranked_for(type).empty()) {
                reasons.emplace_back("no vendor instance is ready for " +
                                     std::string(to_string(type)));
            }
        }
    }
    if (reasons.empty()) return {200, "{\"status\":\"ready\"}", {}};
    std::string detail;
    for (const auto& reason : reasons)
        detail += (detail.empty() ? "" : "; ") + std::string(reason.as_string());
    return json_reply(503, json::object{{"status", "not_ready"},
                                        {"detail", "not ready: " + detail},
                                        {"reasons", std::move(reasons)}});
}

namespace {

// GET /streaming/channels answers a page at a time: at 100,000 instruments the whole list is
// tens of megabytes and a second of one I/O thread.
constexpr std::size_t kDefaultChannelPage = 1000;
constexpr std::size_t kMaxChannelPage = 10000;

// Where a page starts: after the channel named by `?after=` (the previous page's `next`).
// Channels are ordered by symbol, then by data type in kAllDataTypes order, so a page
// boundary stays meaningful while instruments are added or removed between pages.
struct PageStart {
    std::string symbol;     // "" with no `after`: from the first instrument
    std::size_t type_rank;  // the first data type of `symbol` to list
};

Result<PageStart> page_start(std::string_view query) {
    auto after = query_param(query, "after");
    if (!after) return PageStart{"", 0};
    auto key = parse_channel(*after);
    auto type = key ? key->data_type() : std::nullopt;
    if (!type) {
        return Error::invalid(
            "after", "expected a channel (the previous page's \"next\"), not '" + *after + "'");
    }
    return PageStart{key->symbol, static_cast<std::size_t>(*type) + 1};
}

json::object channel_entry(Services& services, const Instrument& instrument, DataType type) {
    auto name = channel_name(type, instrument.symbol);
    auto stats = services.bus.stats(name);
    return json::object{
        {"channel", name},
        {"data_type", to_string(type)},
        {"symbol", instrument.symbol},
        {"pattern", "stream:" + std::string(to_string(type)) + ":*"},
        {"enabled", instrument.enabled},
        {"subscribers", stats.subscribers},
        {"last_message_at", time_or_null(stats.last_message_at)},
    };
}

}  // namespace

// {"channels": [...], "next": "<the last channel listed>" | null}: null on the last page.
Reply get_channels(Services& services, const RouteArgs& args) {
    auto limit = limit_param(args.query, kDefaultChannelPage, kMaxChannelPage);
    if (!limit) return error_reply(limit.error());
    auto start = page_start(args.query);
    if (!start) return error_reply(start.error());
    auto snapshot = services.state.snapshot();
    const auto& instruments = snapshot->instruments;
    json::array channels;
    std::string last;
    bool more = false;
    auto list = [&](const Instrument& instrument, std::size_t from_rank) {
        for (auto rank = from_rank; rank < kAllDataTypes.size(); ++rank) {
            auto type = kAllDataTypes[rank];
            if (!instrument.serves(type)) continue;
            if (channels.size() == *limit) {
                more = true;
                return;
            }
            channels.push_back(channel_entry(services, instrument, type));
            last = channel_name(type, instrument.symbol);
        }
    };
    auto it = instruments.begin();
    if (!start->symbol.empty()) {
        // The named instrument's remaining types first (when it is still there), then the
        // instruments after it.
        if (const auto* named = instruments.find(start->symbol)) list(*named, start->type_rank);
        it = instruments.upper_bound(start->symbol);
    }
    for (; it != instruments.end() && !more; ++it)
        list(*it, 0);
    json::value next = more ? json::value(last) : json::value(nullptr);
    return json_reply(200, json::object{{"channels", std::move(channels)}, {"next", next}});
}

Reply get_latest(Services& services, const RouteArgs& args) {
    const std::string& channel = args.params.at(0);
    ChannelTypes types(services.config.published_types, services.config.bars.intervals);
    auto key = parse_channel(channel);
    if (!key || !types.serves(key->type)) {
        return error_reply(
            Error::not_found("channel '" + channel +
                             "' is not well-formed (stream:<data_type>:<SYMBOL>, the data "
                             "type one of " +
                             types.describe() + ")"));
    }
    if (auto allowed = authorize_channels(args.principal, {channel}); !allowed) {
        return error_reply(allowed.error());
    }
    // A published type has no instruments: its channels are whatever clients publish into.
    if (auto type = key->data_type()) {
        auto snapshot = services.state.snapshot();
        const Instrument* instrument = snapshot->find_instrument(key->symbol);
        if (!instrument || !instrument->serves(*type)) {
            return error_reply(Error::not_found("channel '" + channel + "' is not configured"));
        }
    }
    auto message = services.bus.latest(channel);
    if (!message) {
        // "None yet" cannot be told from "Redis could not be asked" without Redis.
        auto bus = services.bus.health();
        if (!bus.connected) {
            return error_reply(Error::unavailable("Redis is unreachable (" +
                                                  bus.last_error.value_or("not connected yet") +
                                                  "); the latest message cannot be read"));
        }
        return {200, "{\"message\":null}", {}};
    }
    // The cached bytes go out as they are: no parse, no re-serialisation.
    return {200, "{\"message\":" + message->json + "}", {}};
}

}  // namespace tickerd::gateway
