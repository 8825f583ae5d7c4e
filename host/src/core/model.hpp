// The domain vocabulary every part of the daemon shares: data types, symbols, channels,
// instruments, cadences and the global streaming settings, with their JSON forms.
#pragma once

#include "core/result.hpp"

#include <boost/json.hpp>

#include <array>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickerd {

enum class DataType { market_data, news, fundamentals, analytics, insider_data };

inline constexpr std::array<DataType, 5> kAllDataTypes = {
    DataType::market_data, DataType::news, DataType::fundamentals, DataType::analytics,
    DataType::insider_data};

std::string_view to_string(DataType type);
std::optional<DataType> parse_data_type(std::string_view text);

// Upper-cases and validates a symbol: [A-Z0-9.^=-], 1–20 characters.
std::optional<std::string> normalize_symbol(std::string_view text);

// "stream:{type}:{symbol}": `type` is a polled data type or a type declared in the
// config's `published_types` (lower-case letters, digits and '_', starting with a letter).
struct ChannelKey {
    std::string type;
    std::string symbol;
    std::string name() const;
    std::optional<DataType> data_type() const;  // set for the five polled types
    bool operator==(const ChannelKey&) const = default;
};
std::string channel_name(DataType type, std::string_view symbol);
std::string channel_name(std::string_view type, std::string_view symbol);
// Accepts only well-formed names (a well-formed type, a valid upper-case symbol, or
// stream:alerts:system); whether this daemon serves the type is ChannelTypes' question.
std::optional<ChannelKey> parse_channel(std::string_view channel);

// Why `name` cannot be a published type: not 1-40 of [a-z0-9_] starting with a letter, or a
// name the daemon keeps for itself (the polled types, "alerts", "bars_…").
Result<void> check_published_type(std::string_view name);

// An OHLC bar interval (CONTRACT.md §8): "2s", "1m", "5m", "15m", "1h", "1d", a whole number
// of seconds, minutes or hours that divides a day (so bars align to UTC boundaries), or "1d"
// (a day of the exchange's zone).
struct BarInterval {
    std::string name;  // as configured; the channel type is "bars_" + name
    std::chrono::seconds length{60};
    bool daily = false;
    bool operator==(const BarInterval&) const = default;
};
Result<BarInterval> parse_bar_interval(std::string_view text);
// The `bars` section: which intervals are aggregated, and the zone whose midnight starts
// a daily bar.
struct BarSettings {
    std::vector<std::string> intervals{"1m", "5m", "15m", "1h", "1d"};
    std::string daily_time_zone = "America/New_York";
    bool operator==(const BarSettings&) const = default;
};
// "bars_1m": the channel type of an interval's bars (stream:bars_1m:AAPL).
std::string bar_channel_type(std::string_view interval);

// The channel types this daemon serves: the five polled data types, the published ones and,
// given the bar intervals, its derived streams: the bars of those intervals ("bars_1m") and
// the alerts. A view: the lists it is made from must outlive it.
class ChannelTypes {
  public:
    ChannelTypes() = default;  // the polled types only
    explicit ChannelTypes(const std::vector<std::string>& published) : published_(&published) {}
    ChannelTypes(const std::vector<std::string>& published,
                 const std::vector<std::string>& bar_intervals)
        : published_(&published), bar_intervals_(&bar_intervals) {}
    bool serves(std::string_view type) const;
    bool is_published(std::string_view type) const;
    bool is_bars(std::string_view type) const;  // "bars_<a configured interval>"
    bool is_alerts(std::string_view type) const;
    std::string describe() const;  // "market_data, news, …, signals"

  private:
    const std::vector<std::string>* published_ = nullptr;
    const std::vector<std::string>* bar_intervals_ = nullptr;
};

// The worker polling a data type: "worker_market_data" (API paths, messages' metadata).
std::string worker_id(DataType type);
std::optional<DataType> parse_worker_id(std::string_view id);

struct Instrument {
    std::string symbol;
    std::vector<DataType> data_types{DataType::market_data};
    bool enabled = true;
    boost::json::object custom_config;

    bool serves(DataType type) const;
};

struct Cadence {
    DataType data_type = DataType::market_data;
    double interval_seconds = 60;
    bool enabled = true;
    int retry_attempts = 3;
    double retry_backoff_multiplier = 2.0;
    bool vendor_fallback = true;
};
Cadence default_cadence(DataType type);

struct GlobalSettings {
    bool global_enabled = true;
    int max_retries = 3;
    // Floor for the latest-value cache TTL; a channel's TTL is the larger of this and three
    // intervals of its data type, so slow data types never read as empty between polls.
    int cache_ttl_seconds = 300;
};

// How long a channel's latest message is kept: cache_ttl_seconds, and for a polled type at
// least three of its intervals, so slow data types never read as empty between polls.
std::chrono::seconds latest_ttl(const GlobalSettings& global, const Cadence* cadence);

// A price alert rule (CONTRACT.md §8), kept with the runtime config: on `symbol`'s
// market_data, either a crossing of `threshold` by a numeric field of `data` (`op` says
// which way: > and >= upwards, < and <= downwards), or a move of at least `percent` within
// `window`. After firing, a rule stays quiet for `cooldown`.
struct PriceRule {
    enum class Kind { crossing, percent_move };
    enum class Direction { any, up, down };
    std::string id;  // 1-64 of A-Z a-z 0-9 _ . -
    std::string symbol;
    std::string field = "price";
    Kind kind = Kind::crossing;
    std::string op = ">=";
    double threshold = 0;
    double percent = 0;
    Direction direction = Direction::any;
    std::chrono::seconds window{300};
    std::chrono::seconds cooldown{0};
    bool operator==(const PriceRule&) const = default;
};
// Whether `id` may name a price rule.
bool is_rule_id(std::string_view id);

// A webhook alerts are POSTed to (the config's `alerts.webhooks`).
struct WebhookSettings {
    std::string url;
    std::string secret;                   // signs the body, or
    std::filesystem::path secret_file;    // a file holding the secret
    std::vector<std::string> rules{"*"};  // the alerts' `rule` names it wants; `*` matches any run
    bool operator==(const WebhookSettings&) const = default;
};

// The `alerts` section: the system rules' thresholds and the webhooks.
struct AlertSettings {
    int worker_failures = 5;              // polls of one symbol failing in a row
    std::chrono::seconds redis_down{30};  // Redis unreachable this long
    std::size_t webhook_queue = 1000;     // alerts waiting per webhook; then oldest dropped
    std::chrono::seconds webhook_max_backoff{60};  // between a failing webhook's retries
    std::size_t max_rules = 100000;                // price rules kept
    std::vector<WebhookSettings> webhooks;
    bool operator==(const AlertSettings&) const = default;
};

// "stream:alerts:system": the system alerts' channel ("system" is not a symbol).
inline constexpr std::string_view kAlertsType = "alerts";
inline constexpr std::string_view kSystemAlerts = "system";

// JSON forms. The parse_* functions validate strictly (unknown keys, wrong types, ranges);
// what fails is a 422 Error naming the field (`Error::field`; empty for the whole value).
boost::json::object to_json(const Instrument& instrument);
boost::json::object to_json(const Cadence& cadence);
boost::json::object to_json(const GlobalSettings& settings);
Result<Instrument> parse_instrument(const boost::json::value& json);
// `path_type` is the data type named by the URL (PUT /cadences/{type}); a body may omit it.
Result<Cadence> parse_cadence(const boost::json::value& json, std::optional<DataType> path_type);
Result<GlobalSettings> parse_global_settings(const boost::json::value& json,
                                             const GlobalSettings& base);
boost::json::object to_json(const PriceRule& rule);
// A rule without an id gets an empty one (the store names it).
Result<PriceRule> parse_price_rule(const boost::json::value& json);

// A numeric field of a message's `data`; nullopt when it is absent or not a number.
std::optional<double> number_at(const boost::json::object& data, std::string_view field);
// `x op y` for `op` one of > >= < <= == != (a view's where=, a price rule's crossing); false
// for any other `op`.
bool compare(double x, std::string_view op, double y);

// "2026-11-24T12:00:00.123Z"
std::string iso8601_utc(std::chrono::system_clock::time_point when);

}  // namespace tickerd
