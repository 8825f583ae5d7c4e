// The JSON config file (CONTRACT.md §1). Every key is optional; a key this file does not
// know is an error naming its path, so a typo never silently turns into a default.
#include "config/checks.hpp"
#include "config/config.hpp"
#include "config/json_text.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace tickerd::config {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string indexed(const std::string& path, size_t index) {
    return path + "[" + std::to_string(index) + "]";
}

// Reads values out of one file's JSON, naming "<origin>: <key path>" in every error.
class FileReader {
  public:
    FileReader(std::string origin, fs::path base_dir)
        : origin_(std::move(origin)), base_dir_(std::move(base_dir)) {}

    [[noreturn]] void fail(const std::string& path, const std::string& why) const {
        throw ConfigError(origin_ + ": " + path + ": " + why);
    }
    std::string source(const std::string& path) const { return origin_ + ": " + path; }

    const json::object& object(const json::value& v, const std::string& path,
                               std::initializer_list<std::string_view> known) const {
        if (!v.is_object()) fail(path, "expected an object");
        for (const auto& item : v.get_object()) {
            if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
            std::string names;
            for (auto name : known)
                names += (names.empty() ? "" : ", ") + std::string(name);
            fail(join(path, item.key()), "unknown key (known keys: " + names + ")");
        }
        return v.get_object();
    }

    const json::array& array(const json::value& v, const std::string& path) const {
        if (!v.is_array()) fail(path, "expected a list");
        return v.get_array();
    }

    std::string string(const json::value& v, const std::string& path) const {
        if (!v.is_string()) fail(path, "expected a string");
        return std::string(v.get_string());
    }

    std::string non_empty_string(const json::value& v, const std::string& path) const {
        auto text = string(v, path);
        if (text.empty()) fail(path, "must not be empty");
        return text;
    }

    bool boolean(const json::value& v, const std::string& path) const {
        if (!v.is_bool()) fail(path, "expected true or false");
        return v.get_bool();
    }

    int integer(const json::value& v, const std::string& path, long long min,
                long long max = std::numeric_limits<int>::max()) const {
        long long value = 0;
        if (v.is_int64()) {
            value = v.get_int64();
        } else if (v.is_uint64()) {
            value = std::numeric_limits<long long>::max();  // out of every range we accept
        } else if (v.is_double() && std::floor(v.get_double()) == v.get_double() &&
                   std::abs(v.get_double()) < 1e15) {
            value = static_cast<long long>(v.get_double());
        } else {
            fail(path, "expected an integer");
        }
        if (value < min || value > max) {
            fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
        }
        return static_cast<int>(value);
    }

    // Relative paths in a config file mean "next to this file", not "wherever the daemon
    // happened to be started".
    fs::path path(const json::value& v, const std::string& key_path) const {
        fs::path value = non_empty_string(v, key_path);
        if (value.is_relative()) value = (base_dir_ / value).lexically_normal();
        return value;
    }

    // A ValidationError from core/model.hpp, re-anchored at this key path.
    [[noreturn]] void fail(const std::string& path, const ValidationError& e) const {
        std::string why = e.what();
        why = why.substr(std::min(why.size(), e.field().size() + 2));
        fail(e.field() == "body" ? path : join(path, e.field()), why);
    }

  private:
    std::string origin_;
    fs::path base_dir_;
};

void read_redis(DaemonConfig& config, const FileReader& in, const json::value& v) {
    const auto& redis =
        in.object(v, "redis",
                  {"enabled", "host", "port", "password", "db", "socket", "buffer_limit",
                   "lease_ms", "sentinels", "sentinel_master", "sentinel_password"});
    if (auto* x = redis.if_contains("enabled"))
        config.redis.enabled = in.boolean(*x, "redis.enabled");
    if (auto* x = redis.if_contains("host"))
        config.redis.host = in.non_empty_string(*x, "redis.host");
    if (auto* x = redis.if_contains("port"))
        config.redis.port = in.integer(*x, "redis.port", 1, 65535);
    if (auto* x = redis.if_contains("password"))
        config.redis.password = in.string(*x, "redis.password");
    if (auto* x = redis.if_contains("db")) config.redis.db = in.integer(*x, "redis.db", 0);
    if (auto* x = redis.if_contains("socket"))
        config.redis.socket = in.non_empty_string(*x, "redis.socket");
    if (auto* x = redis.if_contains("sentinels")) {
        config.redis.sentinels.clear();
        for (const auto& address : in.array(*x, "redis.sentinels"))
            config.redis.sentinels.push_back(detail::checked_listen(
                in.non_empty_string(address, "redis.sentinels[]"), in.source("redis.sentinels")));
    }
    if (auto* x = redis.if_contains("sentinel_master"))
        config.redis.sentinel_master = in.non_empty_string(*x, "redis.sentinel_master");
    if (auto* x = redis.if_contains("sentinel_password"))
        config.redis.sentinel_password = in.string(*x, "redis.sentinel_password");
    if (auto* x = redis.if_contains("lease_ms"))
        config.redis.lease_ms = in.integer(*x, "redis.lease_ms", 300, 600'000);
    if (auto* x = redis.if_contains("buffer_limit")) {
        config.redis.buffer_limit =
            static_cast<std::size_t>(in.integer(*x, "redis.buffer_limit", 1, 10'000'000));
    }
}

void read_streaming(DaemonConfig& config, const FileReader& in, const json::value& v) {
    const auto& streaming =
        in.object(v, "streaming", {"enabled", "auto_start_workers", "cache_ttl_seconds"});
    if (auto* x = streaming.if_contains("enabled")) {
        config.streaming_enabled = in.boolean(*x, "streaming.enabled");
    }
    if (auto* x = streaming.if_contains("auto_start_workers")) {
        config.auto_start_workers = in.boolean(*x, "streaming.auto_start_workers");
    }
    if (auto* x = streaming.if_contains("cache_ttl_seconds")) {
        // The same bounds the API applies to PUT /streaming/config/config.
        config.global.cache_ttl_seconds =
            in.integer(*x, "streaming.cache_ttl_seconds", 1, 7 * 86400);
    }
}

bool is_instance_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

// {"per_minute": 5, "per_day": 25}; a day's worth of calls is remembered, so the limits are
// bounded to keep that memory small.
plugins::RequestBudget read_budget(const FileReader& in, const json::value& v,
                                   const std::string& path) {
    constexpr long long kMaxPerDay = 1'000'000;
    const auto& budget = in.object(v, path, {"per_minute", "per_hour", "per_day"});
    plugins::RequestBudget out;
    if (auto* x = budget.if_contains("per_minute"))
        out.per_minute = in.integer(*x, join(path, "per_minute"), 0, kMaxPerDay);
    if (auto* x = budget.if_contains("per_hour"))
        out.per_hour = in.integer(*x, join(path, "per_hour"), 0, kMaxPerDay);
    if (auto* x = budget.if_contains("per_day"))
        out.per_day = in.integer(*x, join(path, "per_day"), 0, kMaxPerDay);
    return out;
}

plugins::InstanceConfig read_vendor(const FileReader& in, const json::value& v,
                                    const std::string& path) {
    const auto& vendor = in.object(v, path,
                                   {"name", "plugin", "priority", "enabled", "settings",
                                    "timeout_ms", "max_concurrency", "budget"});
    plugins::InstanceConfig instance;
    const auto* name = vendor.if_contains("name");
    if (!name) in.fail(join(path, "name"), "required");
    instance.name = in.string(*name, join(path, "name"));
    if (!is_instance_name(instance.name)) {
        in.fail(join(path, "name"),
                "must be lower-case letters, digits, '_' or '-', got '" + instance.name + "'");
    }
    const auto* plugin = vendor.if_contains("plugin");
    if (!plugin) in.fail(join(path, "plugin"), "required");
    instance.plugin = in.non_empty_string(*plugin, join(path, "plugin"));
    if (auto* x = vendor.if_contains("priority")) {
        instance.priority = in.integer(*x, join(path, "priority"), std::numeric_limits<int>::min());
    }
    if (auto* x = vendor.if_contains("enabled"))
        instance.enabled = in.boolean(*x, join(path, "enabled"));
    if (auto* x = vendor.if_contains("settings")) {
        if (!x->is_object()) in.fail(join(path, "settings"), "expected an object");
        instance.settings = x->get_object();
        // The budget is the host's to count, wherever the user wrote it.
        if (const auto* budget = instance.settings.if_contains("budget");
            budget && !vendor.contains("budget")) {
            instance.budget = read_budget(in, *budget, join(path, "settings.budget"));
            instance.settings.erase("budget");
        }
    }
    if (auto* x = vendor.if_contains("timeout_ms")) {
        instance.timeout_ms = in.integer(*x, join(path, "timeout_ms"), 1);
    }
    if (auto* x = vendor.if_contains("max_concurrency")) {
        instance.max_concurrency = in.integer(*x, join(path, "max_concurrency"), 1);
    }
    if (auto* x = vendor.if_contains("budget"))
        instance.budget = read_budget(in, *x, join(path, "budget"));
    return instance;
}

void read_vendors(DaemonConfig& config, const FileReader& in, const json::value& v) {
    const auto& list = in.array(v, "vendors");
    std::vector<plugins::InstanceConfig> vendors;
    std::set<std::string> names;
    for (size_t i = 0; i < list.size(); ++i) {
        auto path = indexed("vendors", i);
        auto vendor = read_vendor(in, list[i], path);
        if (!names.insert(vendor.name).second) {
            in.fail(join(path, "name"), "duplicate vendor name '" + vendor.name + "'");
        }
        vendors.push_back(std::move(vendor));
    }
    config.vendors = std::move(vendors);
    config.vendors_given = true;
}

void read_instruments(DaemonConfig& config, const FileReader& in, const json::value& v) {
    const auto& list = in.array(v, "instruments");
    std::vector<Instrument> instruments;
    std::set<std::string> symbols;
    for (size_t i = 0; i < list.size(); ++i) {
        auto path = indexed("instruments", i);
        Instrument instrument;
        try {
            instrument = parse_instrument(list[i]);
        } catch (const ValidationError& e) {
            in.fail(path, e);
        }
        if (!symbols.insert(instrument.symbol).second) {
            in.fail(join(path, "symbol"), "duplicate symbol '" + instrument.symbol + "'");
        }
        instruments.push_back(std::move(instrument));
    }
    config.instruments = std::move(instruments);
}

// Each entry is a partial cadence laid over the one already in force for that data type.
void read_cadences(DaemonConfig& config, const FileReader& in, const json::value& v) {
    if (!v.is_object()) in.fail("cadences", "expected an object");
    for (const auto& item : v.get_object()) {
        auto path = join("cadences", item.key());
        auto type = parse_data_type(item.key());
        if (!type) {
            in.fail(path,
                    "unknown key (expected a data type: market_data, news, fundamentals, "
                    "analytics, insider_data)");
        }
        if (!item.value().is_object()) in.fail(path, "expected an object");
        const auto& partial = item.value().get_object();
        if (const auto* named = partial.if_contains("data_type")) {
            if (!named->is_string() || named->get_string() != item.key()) {
                in.fail(join(path, "data_type"),
                        "must match the key '" + std::string(item.key()) + "' or be left out");
            }
        }
        auto current = config.cadences.find(*type);
        json::object merged =
            to_json(current != config.cadences.end() ? current->second : default_cadence(*type));
        for (const auto& field : partial)
            merged[field.key()] = field.value();
        try {
            config.cadences[*type] = parse_cadence(merged, *type);
        } catch (const ValidationError& e) {
            in.fail(path, e);
        }
    }
}

}  // namespace

void apply_file(DaemonConfig& config, std::string_view json_text, const std::string& origin) {
    auto root = detail::parse_json_text(json_text, origin);
    if (!root.is_object()) throw ConfigError(origin + ": expected a JSON object at the top level");
    FileReader in(origin, fs::path(origin).parent_path());
    in.object(root, "",
              {"listen", "plugin_dirs", "state_dir", "role", "log_level", "log_format", "redis",
               "streaming", "vendors", "instruments", "cadences"});
    // Work on a copy so a file with an error leaves `config` as it was.
    DaemonConfig next = config;
    for (auto type : kAllDataTypes)
        next.cadences.try_emplace(type, default_cadence(type));
    const auto& top = root.get_object();
    if (auto* x = top.if_contains("listen")) {
        next.listen = detail::checked_listen(in.string(*x, "listen"), in.source("listen"));
    }
    if (auto* x = top.if_contains("plugin_dirs")) {
        const auto& list = in.array(*x, "plugin_dirs");
        next.plugin_dirs.clear();
        for (size_t i = 0; i < list.size(); ++i)
            next.plugin_dirs.push_back(in.path(list[i], indexed("plugin_dirs", i)));
    }
    if (auto* x = top.if_contains("state_dir")) next.state_dir = in.path(*x, "state_dir");
    if (auto* x = top.if_contains("role")) {
        next.role = detail::checked_role(in.string(*x, "role"), in.source("role"));
    }
    if (auto* x = top.if_contains("log_format")) {
        next.log_format =
            detail::checked_log_format(in.string(*x, "log_format"), in.source("log_format"));
    }
    if (auto* x = top.if_contains("log_level")) {
        next.log_level =
            detail::checked_log_level(in.string(*x, "log_level"), in.source("log_level"));
    }
    if (auto* x = top.if_contains("redis")) read_redis(next, in, *x);
    if (auto* x = top.if_contains("streaming")) read_streaming(next, in, *x);
    if (auto* x = top.if_contains("vendors")) read_vendors(next, in, *x);
    if (auto* x = top.if_contains("instruments")) read_instruments(next, in, *x);
    if (auto* x = top.if_contains("cadences")) read_cadences(next, in, *x);
    config = std::move(next);
}

}  // namespace tickerd::config
