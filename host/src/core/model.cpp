#include "core/model.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <set>

namespace tickerd {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 5> kDataTypeNames = {"market_data", "news", "fundamentals",
                                                            "analytics", "insider_data"};

constexpr std::string_view kChannelPrefix = "stream:";
constexpr std::string_view kWorkerPrefix = "worker_";

bool is_symbol_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '^' || c == '=' ||
           c == '-';
}

// A channel type's name: what a published type may be called, and what a channel names.
bool is_type_name(std::string_view name) {
    if (name.empty() || name.size() > 40 || name[0] < 'a' || name[0] > 'z') return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

std::string data_type_list() {
    std::string out;
    for (auto name : kDataTypeNames) {
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

// Inside one parse, a bad value unwinds the nested readers as this exception; the public
// parse_* functions turn it into their Result, so it never leaves this file.
struct Invalid {
    std::string field;
    std::string why;
};

template <class Parse>
auto validated(Parse parse) -> Result<decltype(parse())> {
    try {
        return parse();
    } catch (const Invalid& invalid) {
        return Error::invalid(invalid.field, invalid.why);
    }
}

// Strict field readers: each names the field when the type is wrong.
const json::object& as_object(const json::value& v, const std::string& field) {
    if (!v.is_object()) throw Invalid{field, "expected an object"};
    return v.get_object();
}

bool read_bool(const json::value& v, const std::string& field) {
    if (!v.is_bool()) throw Invalid{field, "expected true or false"};
    return v.get_bool();
}

double read_number(const json::value& v, const std::string& field) {
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    if (v.is_double()) return v.get_double();
    throw Invalid{field, "expected a number"};
}

int read_int(const json::value& v, const std::string& field, int min, int max) {
    double d = read_number(v, field);
    if (d != std::floor(d)) throw Invalid{field, "expected an integer"};
    if (d < min || d > max) {
        throw Invalid{field,
                      "must be between " + std::to_string(min) + " and " + std::to_string(max)};
    }
    return static_cast<int>(d);
}

std::string read_string(const json::value& v, const std::string& field) {
    if (!v.is_string()) throw Invalid{field, "expected a string"};
    return std::string(v.get_string());
}

DataType read_data_type(const json::value& v, const std::string& field) {
    auto type = parse_data_type(read_string(v, field));
    if (!type) {
        throw Invalid{field, "unknown data type '" + std::string(v.get_string()) +
                                 "' (expected one of " + data_type_list() + ")"};
    }
    return *type;
}

void reject_unknown_keys(const json::object& object, std::initializer_list<std::string_view> known,
                         const std::string& where) {
    for (const auto& item : object) {
        if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
            std::string field =
                where.empty() ? std::string(item.key()) : where + "." + std::string(item.key());
            throw Invalid{field, "unknown field"};
        }
    }
}

}  // namespace

std::string_view to_string(DataType type) {
    return kDataTypeNames[static_cast<size_t>(type)];
}

std::optional<DataType> parse_data_type(std::string_view text) {
    for (size_t i = 0; i < kDataTypeNames.size(); ++i) {
        if (kDataTypeNames[i] == text) return kAllDataTypes[i];
    }
    return std::nullopt;
}

std::optional<std::string> normalize_symbol(std::string_view text) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    std::string symbol(text);
    for (char& c : symbol) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (!is_symbol_char(c)) return std::nullopt;
    }
    return symbol;
}

std::string ChannelKey::name() const {
    return channel_name(type, symbol);
}

std::optional<DataType> ChannelKey::data_type() const {
    return parse_data_type(type);
}

std::string channel_name(DataType type, std::string_view symbol) {
    return channel_name(to_string(type), symbol);
}

std::string channel_name(std::string_view type, std::string_view symbol) {
    std::string name(kChannelPrefix);
    name += type;
    name += ':';
    name += symbol;
    return name;
}

std::optional<ChannelKey> parse_channel(std::string_view channel) {
    if (!channel.starts_with(kChannelPrefix)) return std::nullopt;
    channel.remove_prefix(kChannelPrefix.size());
    auto colon = channel.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto type = channel.substr(0, colon);
    auto symbol_text = channel.substr(colon + 1);
    if (type == kAlertsType && symbol_text == kSystemAlerts)
        return ChannelKey{std::string(type), std::string(symbol_text)};
    auto symbol = normalize_symbol(symbol_text);
    // Channels are case-sensitive names: only the canonical upper-case form is one.
    if (!is_type_name(type) || !symbol || *symbol != symbol_text) return std::nullopt;
    return ChannelKey{std::string(type), *symbol};
}

Result<void> check_published_type(std::string_view name) {
    if (!is_type_name(name)) {
        return Error::invalid("published_types",
                              "'" + std::string(name) +
                                  "' is not a type name (1-40 of a-z 0-9 _, starting with a "
                                  "letter)");
    }
    if (parse_data_type(name) || name == "alerts" || name.starts_with("bars_")) {
        return Error::invalid("published_types", "'" + std::string(name) +
                                                     "' is a name the daemon keeps for its own "
                                                     "streams");
    }
    return {};
}

Result<BarInterval> parse_bar_interval(std::string_view text) {
    auto bad = [&](const std::string& why) {
        return Error::invalid("bars.intervals", "'" + std::string(text) + "' " + why);
    };
    if (text.size() < 2) return bad("is not an interval (like 1m, 5m, 15m, 1h, 1d)");
    char unit = text.back();
    auto digits = text.substr(0, text.size() - 1);
    long count = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (ec != std::errc{} || end != digits.data() + digits.size() || count <= 0 ||
        digits.front() == '0') {
        return bad("is not an interval (like 1m, 5m, 15m, 1h, 1d)");
    }
    BarInterval interval{std::string(text), {}, false};
    switch (unit) {
        case 's':
            interval.length = std::chrono::seconds(count);
            break;
        case 'm':
            interval.length = std::chrono::minutes(count);
            break;
        case 'h':
            interval.length = std::chrono::hours(count);
            break;
        case 'd':
            if (count != 1) return bad("is not supported: the daily interval is 1d");
            interval.length = std::chrono::seconds(86400);
            interval.daily = true;
            return interval;
        default:
            return bad("has no unit s, m, h or d");
    }
    if (interval.length >= std::chrono::seconds(86400) ||
        std::chrono::seconds(86400).count() % interval.length.count() != 0)
        return bad("does not divide a day (bars align to UTC boundaries)");
    return interval;
}

std::string bar_channel_type(std::string_view interval) {
    return "bars_" + std::string(interval);
}

bool ChannelTypes::serves(std::string_view type) const {
    return parse_data_type(type) || is_published(type) || is_bars(type) || is_alerts(type);
}

bool ChannelTypes::is_alerts(std::string_view type) const {
    return bar_intervals_ && type == kAlertsType;
}

bool ChannelTypes::is_bars(std::string_view type) const {
    if (!bar_intervals_ || !type.starts_with("bars_")) return false;
    type.remove_prefix(5);
    return std::find(bar_intervals_->begin(), bar_intervals_->end(), type) != bar_intervals_->end();
}

bool ChannelTypes::is_published(std::string_view type) const {
    return published_ &&
           std::find(published_->begin(), published_->end(), type) != published_->end();
}

std::string ChannelTypes::describe() const {
    std::string list = data_type_list();
    if (published_) {
        for (const auto& type : *published_)
            list += ", " + type;
    }
    if (bar_intervals_) {
        for (const auto& interval : *bar_intervals_)
            list += ", " + bar_channel_type(interval);
        list += ", " + std::string(kAlertsType);
    }
    return list;
}

std::string worker_id(DataType type) {
    return std::string(kWorkerPrefix) + std::string(to_string(type));
}

std::optional<DataType> parse_worker_id(std::string_view id) {
    if (!id.starts_with(kWorkerPrefix)) return std::nullopt;
    return parse_data_type(id.substr(kWorkerPrefix.size()));
}

std::chrono::seconds latest_ttl(const GlobalSettings& global, const Cadence* cadence) {
    double seconds = global.cache_ttl_seconds;
    if (cadence) seconds = std::max(seconds, 3 * cadence->interval_seconds);
    return std::chrono::seconds(std::llround(std::ceil(seconds)));
}

bool Instrument::serves(DataType type) const {
    return std::find(data_types.begin(), data_types.end(), type) != data_types.end();
}

Cadence default_cadence(DataType type) {
    // CONTRACT.md §2's defaults, in kAllDataTypes' order.
    constexpr std::array<double, 5> kDefaultIntervals = {60, 300, 3600, 600, 1800};
    Cadence cadence;
    cadence.data_type = type;
    cadence.interval_seconds = kDefaultIntervals[static_cast<std::size_t>(type)];
    return cadence;
}

json::object to_json(const Instrument& instrument) {
    json::array types;
    for (auto type : instrument.data_types)
        types.emplace_back(to_string(type));
    return {{"symbol", instrument.symbol},
            {"data_types", std::move(types)},
            {"enabled", instrument.enabled},
            {"custom_config", instrument.custom_config}};
}

json::object to_json(const Cadence& cadence) {
    return {{"data_type", to_string(cadence.data_type)},
            {"interval_seconds", cadence.interval_seconds},
            {"enabled", cadence.enabled},
            {"retry_attempts", cadence.retry_attempts},
            {"retry_backoff_multiplier", cadence.retry_backoff_multiplier},
            {"vendor_fallback", cadence.vendor_fallback}};
}

json::object to_json(const GlobalSettings& settings) {
    return {{"global_enabled", settings.global_enabled},
            {"max_retries", settings.max_retries},
            {"cache_ttl_seconds", settings.cache_ttl_seconds}};
}

namespace {

constexpr std::array<std::string_view, 2> kRuleKindNames = {"crossing", "percent_move"};
constexpr std::array<std::string_view, 3> kDirectionNames = {"any", "up", "down"};

}  // namespace

bool is_rule_id(std::string_view id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
}

json::object to_json(const PriceRule& rule) {
    json::object out;
    if (!rule.id.empty()) out["id"] = rule.id;
    out.insert({{"symbol", rule.symbol},
                {"field", rule.field},
                {"kind", kRuleKindNames[static_cast<std::size_t>(rule.kind)]}});
    if (rule.kind == PriceRule::Kind::crossing) {
        out["op"] = rule.op;
        out["value"] = rule.threshold;
    } else {
        out["percent_move"] = rule.percent;
        out["direction"] = kDirectionNames[static_cast<std::size_t>(rule.direction)];
        out["window_seconds"] = rule.window.count();
    }
    out["cooldown_seconds"] = rule.cooldown.count();
    return out;
}

namespace {

template <std::size_t N>
std::size_t read_choice(const json::value& v, const std::string& field,
                        const std::array<std::string_view, N>& names) {
    auto text = read_string(v, field);
    auto found = std::find(names.begin(), names.end(), text);
    if (found != names.end()) return static_cast<std::size_t>(found - names.begin());
    std::string list;
    for (auto name : names)
        list += (list.empty() ? "" : ", ") + std::string(name);
    throw Invalid{field, "must be one of " + list + ", got '" + text + "'"};
}

// {"symbol", "field", "op", "value"} or {"symbol", "field", "percent_move", "window_seconds",
// "direction"}, each with an optional "id" and "cooldown_seconds"; "kind" may say which.
PriceRule read_price_rule(const json::value& value) {
    const auto& object = as_object(value, "");
    reject_unknown_keys(object,
                        {"id", "symbol", "field", "kind", "op", "value", "percent_move",
                         "direction", "window_seconds", "cooldown_seconds"},
                        "");
    PriceRule rule;
    if (const auto* id = object.if_contains("id")) {
        rule.id = read_string(*id, "id");
        if (!is_rule_id(rule.id)) throw Invalid{"id", "must be 1-64 of A-Z a-z 0-9 _ . -"};
    }
    const auto* symbol = object.if_contains("symbol");
    if (!symbol) throw Invalid{"symbol", "field required"};
    auto normalized = normalize_symbol(read_string(*symbol, "symbol"));
    if (!normalized) throw Invalid{"symbol", "not a valid symbol (1-20 of A-Z 0-9 . ^ = -)"};
    rule.symbol = *normalized;
    if (const auto* field = object.if_contains("field")) {
        rule.field = read_string(*field, "field");
        if (rule.field.empty() || rule.field.size() > 64)
            throw Invalid{"field", "must name a field of the market data (1-64 characters)"};
    }
    bool moves = object.contains("percent_move");
    if (const auto* kind = object.if_contains("kind"))
        moves = read_choice(*kind, "kind", kRuleKindNames) == 1;
    rule.kind = moves ? PriceRule::Kind::percent_move : PriceRule::Kind::crossing;
    auto forbid = [&](std::initializer_list<const char*> keys, const char* why) {
        for (const auto* key : keys)
            if (object.contains(key)) throw Invalid{key, why};
    };
    if (moves) {
        forbid({"op", "value"}, "belongs to a crossing rule, not a percent_move one");
        const auto* percent = object.if_contains("percent_move");
        if (!percent) throw Invalid{"percent_move", "field required"};
        rule.percent = read_number(*percent, "percent_move");
        if (!(rule.percent > 0 && rule.percent <= 1000))
            throw Invalid{"percent_move", "must be above 0 and at most 1000"};
        if (const auto* direction = object.if_contains("direction")) {
            rule.direction = static_cast<PriceRule::Direction>(
                read_choice(*direction, "direction", kDirectionNames));
        }
        if (const auto* window = object.if_contains("window_seconds"))
            rule.window = std::chrono::seconds(read_int(*window, "window_seconds", 1, 7 * 86400));
    } else {
        forbid({"percent_move", "direction", "window_seconds"},
               "belongs to a percent_move rule, not a crossing one");
        const auto* op = object.if_contains("op");
        if (!op) throw Invalid{"op", "field required (>, >=, < or <=)"};
        rule.op = read_string(*op, "op");
        if (rule.op != ">" && rule.op != ">=" && rule.op != "<" && rule.op != "<=")
            throw Invalid{"op", "must be >, >=, < or <=, got '" + rule.op + "'"};
        const auto* threshold = object.if_contains("value");
        if (!threshold) throw Invalid{"value", "field required (the threshold)"};
        rule.threshold = read_number(*threshold, "value");
    }
    if (const auto* cooldown = object.if_contains("cooldown_seconds"))
        rule.cooldown = std::chrono::seconds(read_int(*cooldown, "cooldown_seconds", 0, 7 * 86400));
    return rule;
}

Instrument read_instrument(const json::value& value) {
    const auto& object = as_object(value, "");
    reject_unknown_keys(object, {"symbol", "data_types", "enabled", "custom_config"}, "");
    Instrument instrument;
    const auto* symbol = object.if_contains("symbol");
    if (!symbol) throw Invalid{"symbol", "field required"};
    auto normalized = normalize_symbol(read_string(*symbol, "symbol"));
    if (!normalized) {
        throw Invalid{"symbol", "must be 1-20 characters of A-Z, 0-9, '.', '^', '=' or '-', got '" +
                                    std::string(symbol->get_string()) + "'"};
    }
    instrument.symbol = *normalized;
    if (const auto* types = object.if_contains("data_types")) {
        if (!types->is_array()) throw Invalid{"data_types", "expected a list"};
        instrument.data_types.clear();
        std::set<DataType> seen;
        for (size_t i = 0; i < types->get_array().size(); ++i) {
            auto type =
                read_data_type(types->get_array()[i], "data_types[" + std::to_string(i) + "]");
            if (seen.insert(type).second) instrument.data_types.push_back(type);
        }
        if (instrument.data_types.empty()) {
            throw Invalid{"data_types", "must name at least one data type"};
        }
    }
    if (const auto* enabled = object.if_contains("enabled")) {
        instrument.enabled = read_bool(*enabled, "enabled");
    }
    if (const auto* custom = object.if_contains("custom_config")) {
        instrument.custom_config = as_object(*custom, "custom_config");
    }
    return instrument;
}

Cadence read_cadence(const json::value& value, std::optional<DataType> path_type) {
    const auto& object = as_object(value, "");
    reject_unknown_keys(object,
                        {"data_type", "interval_seconds", "enabled", "retry_attempts",
                         "retry_backoff_multiplier", "vendor_fallback"},
                        "");
    std::optional<DataType> type = path_type;
    if (const auto* body_type = object.if_contains("data_type")) {
        type = read_data_type(*body_type, "data_type");
    }
    if (!type) throw Invalid{"data_type", "field required"};
    Cadence cadence = default_cadence(*type);
    if (const auto* interval = object.if_contains("interval_seconds")) {
        cadence.interval_seconds = read_number(*interval, "interval_seconds");
        // Sub-second cadences exist for demos and benchmarks; a day is the sane ceiling.
        if (!(cadence.interval_seconds >= 0.01 && cadence.interval_seconds <= 86400)) {
            throw Invalid{"interval_seconds", "must be between 0.01 and 86400"};
        }
    }
    if (const auto* enabled = object.if_contains("enabled")) {
        cadence.enabled = read_bool(*enabled, "enabled");
    }
    if (const auto* attempts = object.if_contains("retry_attempts")) {
        cadence.retry_attempts = read_int(*attempts, "retry_attempts", 0, 20);
    }
    if (const auto* multiplier = object.if_contains("retry_backoff_multiplier")) {
        cadence.retry_backoff_multiplier = read_number(*multiplier, "retry_backoff_multiplier");
        if (!(cadence.retry_backoff_multiplier >= 1.0 &&
              cadence.retry_backoff_multiplier <= 10.0)) {
            throw Invalid{"retry_backoff_multiplier", "must be between 1.0 and 10.0"};
        }
    }
    if (const auto* fallback = object.if_contains("vendor_fallback")) {
        cadence.vendor_fallback = read_bool(*fallback, "vendor_fallback");
    }
    return cadence;
}

GlobalSettings read_global_settings(const json::value& value, const GlobalSettings& base) {
    const auto& object = as_object(value, "");
    reject_unknown_keys(object, {"global_enabled", "max_retries", "cache_ttl_seconds"}, "");
    GlobalSettings settings = base;
    if (const auto* enabled = object.if_contains("global_enabled")) {
        settings.global_enabled = read_bool(*enabled, "global_enabled");
    }
    if (const auto* retries = object.if_contains("max_retries")) {
        settings.max_retries = read_int(*retries, "max_retries", 0, 20);
    }
    if (const auto* ttl = object.if_contains("cache_ttl_seconds")) {
        settings.cache_ttl_seconds = read_int(*ttl, "cache_ttl_seconds", 1, 7 * 86400);
    }
    return settings;
}

}  // namespace

Result<Instrument> parse_instrument(const json::value& value) {
    return validated([&] { return read_instrument(value); });
}

Result<Cadence> parse_cadence(const json::value& value, std::optional<DataType> path_type) {
    return validated([&] { return read_cadence(value, path_type); });
}

Result<GlobalSettings> parse_global_settings(const json::value& value, const GlobalSettings& base) {
    return validated([&] { return read_global_settings(value, base); });
}

Result<PriceRule> parse_price_rule(const json::value& value) {
    return validated([&] { return read_price_rule(value); });
}

std::optional<double> number_at(const json::object& data, std::string_view field) {
    const auto* value = data.if_contains(field);
    if (!value || !value->is_number()) return std::nullopt;
    return value->to_number<double>();
}

bool compare(double x, std::string_view op, double y) {
    if (op == ">") return x > y;
    if (op == ">=") return x >= y;
    if (op == "<") return x < y;
    if (op == "<=") return x <= y;
    if (op == "==") return x == y;
    if (op == "!=") return x != y;
    return false;
}

std::string iso8601_utc(std::chrono::system_clock::time_point when) {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(when.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    if (ms < 0 && ms % 1000 != 0) --seconds;
    int millis = static_cast<int>(ms - static_cast<long long>(seconds) * 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buffer;
}

}  // namespace tickerd
