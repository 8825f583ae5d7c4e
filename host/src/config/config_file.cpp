// The JSON config file (CONTRACT.md §1). Every key is optional; a key this file does not
// know is an error naming its path, so a typo never silently turns into a default. Plain
// settings are read through the settings table; the records (vendors, instruments,
// cadences) by the readers here.
#include "config/json_text.hpp"
#include "config/settings.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <span>

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

    const json::object& object(const json::value& v, const std::string& path,
                               std::initializer_list<std::string_view> known) const {
        return object(v, path, std::span(known.begin(), known.size()));
    }
    const json::object& object(const json::value& v, const std::string& path,
                               std::span<const std::string_view> known) const {
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
        auto value = detail::json_integer(v, min, max);
        if (!value) fail(path, value.error());
        return static_cast<int>(*value);
    }

    // An Error about the value at `path` (or, when it names a field, about that field).
    [[noreturn]] void fail(const std::string& path, const Error& e) const {
        if (e.field.empty()) fail(path, e.detail);
        std::string why = e.detail.substr(std::min(e.detail.size(), e.field.size() + 2));
        fail(e.field.starts_with('[') ? path + e.field : join(path, e.field), why);
    }

    const fs::path& base_dir() const { return base_dir_; }

    fs::path path(const json::value& v, const std::string& key_path) const {
        auto path = detail::json_path(v, base_dir_);
        if (!path) fail(key_path, path.error());
        return *path;
    }

  private:
    std::string origin_;
    fs::path base_dir_;
};

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

// {"memory_mb": 256, "cpu_seconds": 600}: an isolated instance's runner limits; 0 = none.
isolation::Limits read_limits(const FileReader& in, const json::value& v, const std::string& path) {
    const auto& limits = in.object(v, path, {"memory_mb", "cpu_seconds"});
    isolation::Limits out;
    if (auto* x = limits.if_contains("memory_mb"))
        out.memory_mb = in.integer(*x, join(path, "memory_mb"), 0, 1 << 20);
    if (auto* x = limits.if_contains("cpu_seconds"))
        out.cpu_seconds = in.integer(*x, join(path, "cpu_seconds"), 0, 1 << 30);
    return out;
}

// {"backoff_ms": 500, "max_backoff_ms": 30000, "bench_after": 5, "bench_seconds": 300}
isolation::RestartPolicy read_restart(const FileReader& in, const json::value& v,
                                      const std::string& path) {
    const auto& restart =
        in.object(v, path, {"backoff_ms", "max_backoff_ms", "bench_after", "bench_seconds"});
    isolation::RestartPolicy out;
    constexpr int kDay = 86400;
    if (auto* x = restart.if_contains("backoff_ms"))
        out.backoff_ms = in.integer(*x, join(path, "backoff_ms"), 0, kDay * 1000);
    if (auto* x = restart.if_contains("max_backoff_ms"))
        out.max_backoff_ms = in.integer(*x, join(path, "max_backoff_ms"), 0, kDay * 1000);
    if (auto* x = restart.if_contains("bench_after"))
        out.bench_after = in.integer(*x, join(path, "bench_after"), 0, 1000);
    if (auto* x = restart.if_contains("bench_seconds"))
        out.bench_seconds = in.integer(*x, join(path, "bench_seconds"), 0, kDay);
    return out;
}

plugins::InstanceConfig read_vendor(const FileReader& in, const json::value& v,
                                    const std::string& path) {
    const auto& vendor =
        in.object(v, path,
                  {"name", "plugin", "priority", "enabled", "settings", "timeout_ms",
                   "max_concurrency", "budget", "isolation", "limits", "restart"});
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
    if (auto* x = vendor.if_contains("isolation")) {
        auto text = in.string(*x, join(path, "isolation"));
        auto isolation = isolation::parse_isolation(text);
        if (!isolation) {
            in.fail(join(path, "isolation"),
                    "must be " + isolation::isolation_choices() + ", got '" + text + "'");
        }
        instance.isolation = *isolation;
    }
    // Only a runner process can be limited or restarted.
    bool isolated = instance.isolation == isolation::Isolation::process;
    for (const char* key : {"limits", "restart"}) {
        if (vendor.contains(key) && !isolated)
            in.fail(join(path, key), "applies only with \"isolation\": \"process\"");
    }
    if (auto* x = vendor.if_contains("limits"))
        instance.limits = read_limits(in, *x, join(path, "limits"));
    if (auto* x = vendor.if_contains("restart"))
        instance.restart = read_restart(in, *x, join(path, "restart"));
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
        auto instrument = parse_instrument(list[i]);
        if (!instrument) in.fail(path, instrument.error());
        if (!symbols.insert(instrument->symbol).second) {
            in.fail(join(path, "symbol"), "duplicate symbol '" + instrument->symbol + "'");
        }
        instruments.push_back(std::move(*instrument));
    }
    config.runtime.instruments = InstrumentTable(std::move(instruments));
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
        json::object merged = to_json(config.runtime.cadence(*type));
        for (const auto& field : partial)
            merged[field.key()] = field.value();
        auto cadence = parse_cadence(merged, *type);
        if (!cadence) in.fail(path, cadence.error());
        config.runtime.cadences[*type] = *cadence;
    }
}

// {"name": "ops", "sha256": "<hex>", "scopes": ["admin"]} or {…, "key_file": "…"}; what the
// values mean is checked when the keys are loaded (access/keys.cpp).
void read_keys(DaemonConfig& config, const FileReader& in, const json::value& v) {
    const auto& list = in.array(v, "auth.keys");
    std::vector<access::KeySettings> keys;
    for (size_t i = 0; i < list.size(); ++i) {
        auto path = indexed("auth.keys", i);
        const auto& key = in.object(list[i], path, {"name", "sha256", "key_file", "scopes"});
        access::KeySettings out;
        if (const auto* x = key.if_contains("name"))
            out.name = in.non_empty_string(*x, join(path, "name"));
        if (const auto* x = key.if_contains("sha256"))
            out.sha256 = in.string(*x, join(path, "sha256"));
        if (const auto* x = key.if_contains("key_file")) {
            out.key_file = in.path(*x, join(path, "key_file"));
        }
        if (const auto* x = key.if_contains("scopes")) {
            for (const auto& scope : in.array(*x, join(path, "scopes")))
                out.scopes.push_back(in.string(scope, join(path, "scopes[]")));
        }
        keys.push_back(std::move(out));
    }
    config.access.keys = std::move(keys);
}

// {"url": "https://…", "secret": "…" or "secret_file": "…", "rules": ["*"]}: the URL must
// be http(s); the secret is read when the alerts start.
void read_webhooks(DaemonConfig& config, const FileReader& in, const json::value& v) {
    const auto& list = in.array(v, "alerts.webhooks");
    std::vector<WebhookSettings> webhooks;
    for (size_t i = 0; i < list.size(); ++i) {
        auto path = indexed("alerts.webhooks", i);
        const auto& hook = in.object(list[i], path, {"url", "secret", "secret_file", "rules"});
        WebhookSettings out;
        const auto* url = hook.if_contains("url");
        if (!url) in.fail(join(path, "url"), "required");
        out.url = in.non_empty_string(*url, join(path, "url"));
        if (!out.url.starts_with("http://") && !out.url.starts_with("https://"))
            in.fail(join(path, "url"), "must be an http:// or https:// URL");
        if (const auto* x = hook.if_contains("secret"))
            out.secret = in.non_empty_string(*x, join(path, "secret"));
        if (const auto* x = hook.if_contains("secret_file"))
            out.secret_file = in.path(*x, join(path, "secret_file"));
        if (out.secret.empty() == out.secret_file.empty())
            in.fail(path,
                    "needs one of secret and secret_file (the key its bodies are signed with)");
        if (const auto* x = hook.if_contains("rules")) {
            out.rules.clear();
            for (const auto& rule : in.array(*x, join(path, "rules")))
                out.rules.push_back(in.non_empty_string(rule, join(path, "rules[]")));
        }
        webhooks.push_back(std::move(out));
    }
    config.alerts.webhooks = std::move(webhooks);
}

// The records a file may hold besides plain settings, by key path.
using RecordReader = void (*)(DaemonConfig&, const FileReader&, const json::value&);
const std::map<std::string_view, RecordReader> kRecords = {
    {"vendors", &read_vendors}, {"instruments", &read_instruments},  {"cadences", &read_cadences},
    {"auth.keys", &read_keys},  {"alerts.webhooks", &read_webhooks},
};

// What `section` ("" for the top level, "redis") holds according to the settings table:
// the settings there, by key, and the sections below it.
struct SectionKeys {
    std::map<std::string, const detail::Setting*> settings;
    std::set<std::string> sections;
    std::set<std::string> records;
};

SectionKeys keys_of(std::string_view section) {
    SectionKeys keys;
    std::string prefix = section.empty() ? "" : std::string(section) + ".";
    auto add = [&](std::string_view key, const detail::Setting* setting) {
        if (key.empty() || !key.starts_with(prefix)) return;
        key.remove_prefix(prefix.size());
        auto dot = key.find('.');
        if (dot != std::string_view::npos) {
            keys.sections.emplace(key.substr(0, dot));
        } else if (setting) {
            keys.settings.emplace(key, setting);
        } else {
            keys.records.emplace(key);
        }
    };
    for (const auto& setting : detail::settings())
        add(setting.info.key, &setting);
    for (const auto& [key, reader] : kRecords)
        add(key, nullptr);
    return keys;
}

void read_section(DaemonConfig& config, const FileReader& in, const json::value& v,
                  const std::string& section) {
    auto keys = keys_of(section);
    std::vector<std::string_view> known;
    for (const auto& [key, setting] : keys.settings)
        known.push_back(key);
    for (const auto& key : keys.sections)
        known.push_back(key);
    for (const auto& key : keys.records)
        known.push_back(key);
    const auto& object = in.object(v, section, known);
    for (const auto& [key, value] : object) {
        std::string path = join(section, key);
        if (auto setting = keys.settings.find(key); setting != keys.settings.end()) {
            const auto& row = *setting->second;
            auto applied = row.read_json(row, config, value, in.base_dir());
            if (!applied) in.fail(path, applied.error());
        } else if (keys.sections.contains(key)) {
            read_section(config, in, value, path);
        } else {
            kRecords.at(path)(config, in, value);
        }
    }
}

}  // namespace

void apply_file(DaemonConfig& config, std::string_view json_text, const std::string& origin) {
    auto root = detail::parse_json_text(json_text);
    if (!root) throw ConfigError(origin + ": " + root.error().detail);
    if (!root->is_object()) throw ConfigError(origin + ": expected a JSON object at the top level");
    // Work on a copy so a file with an error leaves `config` as it was.
    DaemonConfig next = config;
    read_section(next, FileReader(origin, fs::path(origin).parent_path()), *root, "");
    config = std::move(next);
}

}  // namespace tickerd::config
