// The runtime state store: what the API changes (instruments, cadences, global settings),
// kept as one immutable snapshot and written durably to <state_dir>/state.json.
#include "config/config.hpp"
#include "config/durable_file.hpp"
#include "config/json_text.hpp"
#include "core/json_writer.hpp"

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

namespace tickerd::config {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr int kStateFormat = 1;
constexpr std::string_view kStateFileName = "state.json";

void sort_instruments(std::vector<Instrument>& instruments) {
    std::sort(instruments.begin(), instruments.end(),
              [](const Instrument& a, const Instrument& b) { return a.symbol < b.symbol; });
}

void fill_missing_cadences(std::map<DataType, Cadence>& cadences) {
    for (auto type : kAllDataTypes)
        cadences.try_emplace(type, default_cadence(type));
}

std::string serialize(const RuntimeConfig& config) {
    json::array instruments;
    for (const auto& instrument : config.instruments)
        instruments.emplace_back(to_json(instrument));
    json::object cadences;
    for (const auto& [type, cadence] : config.cadences)
        cadences[to_string(type)] = to_json(cadence);
    json::object root{{"format", kStateFormat},
                      {"instruments", std::move(instruments)},
                      {"cadences", std::move(cadences)},
                      {"global", to_json(config.global)}};
    // Only when there are some: a state file without rules stays as earlier versions read it.
    if (!config.price_rules.empty()) {
        json::object rules;
        for (const auto& [id, rule] : config.price_rules)
            rules[id] = to_json(rule);
        root["price_rules"] = std::move(rules);
    }
    return write_json(root) + "\n";
}

// Reads a state document. What is wrong names the key; the caller names the source.
class StateReader {
  public:
    Result<RuntimeConfig> read(const std::string& text, const RuntimeConfig& base) const {
        auto root = detail::parse_json_text(text);
        if (!root) return root.error();
        if (!root->is_object()) return problem("expected a JSON object");
        const auto& top = root->get_object();
        for (const auto& item : top) {
            if (item.key() != "format" && item.key() != "instruments" && item.key() != "cadences" &&
                item.key() != "global" && item.key() != "price_rules") {
                return problem("unknown key '" + std::string(item.key()) + "'");
            }
        }
        const auto* format = top.if_contains("format");
        if (!format || !format->is_int64() || format->get_int64() != kStateFormat) {
            return problem("unsupported or missing \"format\" (this version reads format " +
                           std::to_string(kStateFormat) + ")");
        }
        RuntimeConfig state = base;
        if (const auto* x = top.if_contains("instruments")) {
            auto list = instruments(*x);
            if (!list) return list.error();
            state.instruments = std::move(*list);
        }
        if (const auto* x = top.if_contains("cadences")) {
            if (auto read = read_cadences(*x, state.cadences); !read) return read.error();
        }
        if (const auto* x = top.if_contains("global")) {
            auto global = parse_global_settings(*x, base.global);
            if (!global) return global.error().within("global");
            state.global = *global;
        }
        state.price_rules.clear();
        if (const auto* x = top.if_contains("price_rules")) {
            if (auto read = read_price_rules(*x, state.price_rules); !read) return read.error();
        }
        return state;
    }

  private:
    static Error problem(std::string what) { return Error::invalid("", std::move(what)); }

    Result<std::vector<Instrument>> instruments(const json::value& v) const {
        if (!v.is_array()) return problem("instruments: expected a list");
        std::vector<Instrument> list;
        std::set<std::string> symbols;
        for (size_t i = 0; i < v.get_array().size(); ++i) {
            std::string where = "instruments[" + std::to_string(i) + "]";
            auto instrument = parse_instrument(v.get_array()[i]);
            if (!instrument) return instrument.error().within(where);
            if (!symbols.insert(instrument->symbol).second) {
                return problem(where + ": duplicate symbol '" + instrument->symbol + "'");
            }
            list.push_back(std::move(*instrument));
        }
        return list;
    }

    Result<void> read_price_rules(const json::value& v,
                                  std::map<std::string, PriceRule>& rules) const {
        if (!v.is_object()) return problem("price_rules: expected an object");
        for (const auto& item : v.get_object()) {
            std::string where = "price_rules." + std::string(item.key());
            auto rule = parse_price_rule(item.value());
            if (!rule) return rule.error().within(where);
            if (rule->id != item.key()) return problem(where + ": holds another id");
            rules[rule->id] = *rule;
        }
        return {};
    }

    Result<void> read_cadences(const json::value& v, std::map<DataType, Cadence>& cadences) const {
        if (!v.is_object()) return problem("cadences: expected an object");
        for (const auto& item : v.get_object()) {
            std::string where = "cadences." + std::string(item.key());
            auto type = parse_data_type(item.key());
            if (!type)
                return problem("cadences: unknown data type '" + std::string(item.key()) + "'");
            auto cadence = parse_cadence(item.value(), *type);
            if (!cadence) return cadence.error().within(where);
            if (cadence->data_type != *type) return problem(where + ": holds another data type");
            cadences[*type] = *cadence;
        }
        return {};
    }
};

// "rule-1a2b3c4d": random, so that instances sharing one Redis do not pick the same.
std::string new_rule_id() {
    static thread_local std::mt19937 random{std::random_device{}()};
    char text[16];
    std::snprintf(text, sizeof text, "rule-%08x", static_cast<unsigned>(random()));
    return text;
}

}  // namespace

RuntimeConfig RuntimeConfig::defaults() {
    RuntimeConfig config;
    fill_missing_cadences(config.cadences);
    return config;
}

const Instrument* RuntimeConfig::find_instrument(std::string_view symbol) const {
    auto found = std::lower_bound(
        instruments.begin(), instruments.end(), symbol,
        [](const Instrument& instrument, std::string_view key) { return instrument.symbol < key; });
    if (found == instruments.end() || found->symbol != symbol) return nullptr;
    return &*found;
}

Cadence RuntimeConfig::cadence(DataType type) const {
    auto it = cadences.find(type);
    return it != cadences.end() ? it->second : default_cadence(type);
}

std::vector<std::string> RuntimeConfig::polled_symbols(DataType type) const {
    std::vector<std::string> symbols;
    if (!global.global_enabled || !cadence(type).enabled) return symbols;
    for (const auto& instrument : instruments) {
        if (instrument.enabled && instrument.serves(type)) symbols.push_back(instrument.symbol);
    }
    std::sort(symbols.begin(), symbols.end());  // also for a config not built by the store
    return symbols;
}

StateStore::StateStore(fs::path state_dir, RuntimeConfig initial)
    : state_file_(state_dir / kStateFileName) {
    fs::create_directories(state_dir);
    auto start = std::make_shared<RuntimeConfig>(std::move(initial));
    std::error_code ec;
    if (fs::exists(state_file_, ec)) {
        // Silently dropping what users configured through the API is worse than refusing
        // to start.
        auto stored = StateReader().read(detail::read_text_file(state_file_, "state file"), *start);
        if (!stored) {
            throw ConfigError("state file '" + state_file_.string() +
                              "' is corrupt: " + stored.error().detail +
                              " (fix or remove it; it holds the config changed through the API)");
        }
        stored->version = start->version + 1;
        *start = std::move(*stored);
    }
    sort_instruments(start->instruments);
    fill_missing_cadences(start->cadences);
    current_ = std::move(start);
}

std::shared_ptr<const RuntimeConfig> StateStore::snapshot() const {
    std::lock_guard lock(mutex_);
    return current_;
}

Result<Instrument> StateStore::upsert_instrument(Instrument instrument) {
    auto symbol = normalize_symbol(instrument.symbol);
    if (!symbol) return Error::invalid("symbol", "not a valid symbol: '" + instrument.symbol + "'");
    instrument.symbol = *symbol;
    auto changed = update([&](RuntimeConfig& next) {
        auto& list = next.instruments;
        auto same = [&](const Instrument& i) { return i.symbol == instrument.symbol; };
        list.erase(std::remove_if(list.begin(), list.end(), same), list.end());
        list.push_back(instrument);
        sort_instruments(list);
        return true;
    });
    if (!changed) return changed.error();
    return instrument;
}

Result<bool> StateStore::remove_instrument(std::string_view symbol) {
    return update([&](RuntimeConfig& next) {
        auto& list = next.instruments;
        auto same = [&](const Instrument& i) { return i.symbol == symbol; };
        auto first_removed = std::remove_if(list.begin(), list.end(), same);
        if (first_removed == list.end()) return false;
        list.erase(first_removed, list.end());
        return true;
    });
}

Result<Cadence> StateStore::put_cadence(Cadence cadence) {
    auto changed = update([&](RuntimeConfig& next) {
        next.cadences[cadence.data_type] = cadence;
        return true;
    });
    if (!changed) return changed.error();
    return cadence;
}

Result<GlobalSettings> StateStore::put_global(GlobalSettings settings) {
    auto changed = update([&](RuntimeConfig& next) {
        next.global = settings;
        return true;
    });
    if (!changed) return changed.error();
    return settings;
}

Result<std::pair<PriceRule, bool>> StateStore::put_price_rule(PriceRule rule,
                                                              std::size_t max_rules) {
    bool created = false;
    bool full = false;
    bool named = !rule.id.empty();
    auto changed = update([&](RuntimeConfig& next) {
        auto& rules = next.price_rules;
        while (!named && (rule.id.empty() || rules.contains(rule.id)))
            rule.id = new_rule_id();
        auto found = rules.find(rule.id);
        created = found == rules.end();
        if (created && rules.size() >= max_rules) {
            full = true;
            return false;
        }
        if (!created && found->second == rule) return false;  // the same again: nothing new
        rules[rule.id] = rule;
        return true;
    });
    if (!changed) return changed.error();
    if (full) {
        return Error::invalid(
            "id", std::to_string(max_rules) + " price rules are kept already (alerts.max_rules)");
    }
    return std::pair{rule, created};
}

Result<bool> StateStore::remove_price_rule(std::string_view id) {
    return update([&](RuntimeConfig& next) { return next.price_rules.erase(std::string(id)) > 0; });
}

Result<bool> StateStore::replace(const RuntimeConfig& config) {
    return update([&](RuntimeConfig& next) {
        auto incoming = config;
        sort_instruments(incoming.instruments);
        fill_missing_cadences(incoming.cadences);
        if (serialize(incoming) == serialize(next)) return false;  // nothing new
        next.instruments = std::move(incoming.instruments);
        next.cadences = std::move(incoming.cadences);
        next.global = incoming.global;
        next.price_rules = std::move(incoming.price_rules);
        return true;
    });
}

std::string state_document(const RuntimeConfig& config) {
    return serialize(config);
}

Result<RuntimeConfig> parse_state_document(const std::string& text, const std::string& source,
                                           const RuntimeConfig& base) {
    auto config = StateReader().read(text, base);
    if (!config) return Error::invalid("", source + ": " + config.error().detail);
    return config;
}

void StateStore::on_change(std::function<void()> listener) {
    std::lock_guard lock(mutex_);
    listeners_.push_back(std::move(listener));
}

Result<bool> StateStore::update(const std::function<bool(RuntimeConfig&)>& change) {
    std::vector<std::function<void()>> listeners;
    {
        // The file is written under the lock so two changes reach the disk in the order they
        // reach memory. This costs an fsync per change: the gateway must call mutations off
        // its I/O threads (or accept that a config write stalls one of them for an fsync).
        std::lock_guard lock(mutex_);
        auto next = std::make_shared<RuntimeConfig>(*current_);
        if (!change(*next)) return false;
        next->version = current_->version + 1;
        if (auto committed = commit(std::move(next)); !committed) return committed.error();
        listeners = listeners_;
    }
    for (const auto& listener : listeners)
        listener();
    return true;
}

// Called with mutex_ held. Persist first: if the write fails, current_ stays as it was.
Result<void> StateStore::commit(std::shared_ptr<RuntimeConfig> next) {
    auto written = detail::write_file_durably(state_file_, serialize(*next));
    if (!written) return Error::unavailable("configuration not saved: " + written.error().detail);
    current_ = std::move(next);
    return {};
}

}  // namespace tickerd::config
