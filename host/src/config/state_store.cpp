// The runtime state store: what the API changes (instruments, cadences, global settings),
// kept as one immutable snapshot in memory and, on disk, as <state_dir>/state.json plus the
// journal of changes since (state_journal.hpp).
#include "config/config.hpp"
#include "config/durable_file.hpp"
#include "config/json_text.hpp"
#include "config/state_journal.hpp"
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
// The two journal files, used in turn (see config.hpp).
constexpr std::string_view kJournalFileNames[2] = {"state.journal", "state.journal.2"};
// The journal is folded into a new snapshot when it grows past the snapshot's size (so a
// restart reads at most about twice the snapshot) but not before this much: a small
// config would otherwise be rewritten every few changes.
constexpr std::size_t kMinJournalBytes = 1 << 20;

void fill_missing_cadences(std::map<DataType, Cadence>& cadences) {
    for (auto type : kAllDataTypes)
        cadences.try_emplace(type, default_cadence(type));
}

// `generation`: the snapshot's, in the state file only (not in the document shared through
// Redis, whose readers compare documents).
std::string serialize(const RuntimeConfig& config, std::optional<uint64_t> generation = {}) {
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
    if (generation) root["generation"] = static_cast<int64_t>(*generation);
    return write_json(root) + "\n";
}

// Reads a state document. What is wrong names the key; the caller names the source.
class StateReader {
  public:
    // The snapshot's generation (0 when it names none: written before the journal existed).
    uint64_t generation = 0;

    Result<RuntimeConfig> read(const std::string& text, const RuntimeConfig& base) {
        auto root = detail::parse_json_text(text);
        if (!root) return root.error();
        if (!root->is_object()) return problem("expected a JSON object");
        const auto& top = root->get_object();
        for (const auto& item : top) {
            if (item.key() != "format" && item.key() != "instruments" && item.key() != "cadences" &&
                item.key() != "global" && item.key() != "price_rules" &&
                item.key() != "generation") {
                return problem("unknown key '" + std::string(item.key()) + "'");
            }
        }
        const auto* format = top.if_contains("format");
        if (!format || !format->is_int64() || format->get_int64() != kStateFormat) {
            return problem("unsupported or missing \"format\" (this version reads format " +
                           std::to_string(kStateFormat) + ")");
        }
        if (const auto* x = top.if_contains("generation")) {
            if (!x->is_int64() || x->get_int64() < 0)
                return problem("generation: expected a whole number");
            generation = static_cast<uint64_t>(x->get_int64());
        }
        RuntimeConfig state = base;
        if (const auto* x = top.if_contains("instruments")) {
            auto list = instruments(*x);
            if (!list) return list.error();
            state.instruments = InstrumentTable(std::move(*list));
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
    return instruments.find(symbol);
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
    return symbols;  // sorted: the table is
}

StateStore::StateStore(fs::path state_dir, RuntimeConfig initial)
    : state_file_(state_dir / kStateFileName),
      journal_files_{state_dir / kJournalFileNames[0], state_dir / kJournalFileNames[1]} {
    fs::create_directories(state_dir);
    fill_missing_cadences(initial.cadences);
    load(initial);
}

// Silently dropping what users configured through the API is worse than refusing to start:
// a snapshot or journal that cannot be read throws.
void StateStore::load(const RuntimeConfig& initial) {
    auto start = std::make_shared<RuntimeConfig>(initial);
    std::error_code ec;
    if (!fs::exists(state_file_, ec)) {
        current_ = std::move(start);
        return;  // the first change writes a snapshot: the journal has nothing to follow yet
    }
    auto text = detail::read_text_file(state_file_, "state file");
    StateReader reader;
    auto stored = reader.read(text, *start);
    if (!stored) {
        throw ConfigError("state file '" + state_file_.string() +
                          "' is corrupt: " + stored.error().detail +
                          " (fix or remove it; it holds the config changed through the API)");
    }
    stored->version = start->version + 1;
    fill_missing_cadences(stored->cadences);
    generation_ = reader.generation;
    snapshot_generation_ = reader.generation;
    snapshot_bytes_ = text.size();
    // The journal that follows the snapshot, then the one begun while the next snapshot was
    // being written (a stop before it was in place), from whichever file holds each. A
    // change replayed twice (one the snapshot already holds) sets what is set already.
    std::size_t changes = 0;
    bool own_journal = false;  // the snapshot's generation's
    // Each file's header is read first, so that a stale journal is never read whole.
    std::optional<uint64_t> headers[2] = {detail::journal_generation(journal_files_[0]),
                                          detail::journal_generation(journal_files_[1])};
    for (auto generation : {reader.generation, reader.generation + 1}) {
        for (int file = 0; file < 2; ++file) {
            // A header that cannot be read goes to replay_journal, which names the problem.
            if (headers[file] && *headers[file] != generation) continue;
            auto replay = detail::replay_journal(journal_files_[file], generation, *stored);
            if (replay.bytes == 0) continue;  // none, or another generation's
            // The next generation's journal is begun only beside the snapshot's own, which
            // stays until the next snapshot is in place. Without it, the folder was copied
            // while a snapshot was being written: its changes are in neither file here.
            if (generation == reader.generation) {
                own_journal = true;
            } else if (!own_journal) {
                throw ConfigError(
                    "state journal '" + journal_files_[file].string() +
                    "' follows a snapshot of generation " + std::to_string(generation) + ", but '" +
                    state_file_.string() + "' is of generation " +
                    std::to_string(reader.generation) +
                    " and no journal of its own is beside it (a copy of the state folder taken "
                    "while a new snapshot was written? copy it again)");
            }
            journal_ = file;
            generation_ = generation;
            bytes_behind_ = journal_bytes_;
            journal_bytes_ = replay.bytes;
            journal_open_ = replay.appendable;
            changes += replay.changes;
        }
    }
    if (changes > 0) {
        BOOST_LOG_TRIVIAL(info) << "config: replayed " << changes
                                << " changes from the state journal";
    }
    current_ = std::make_shared<RuntimeConfig>(std::move(*stored));
}

StateStore::~StateStore() {
    settle();
}

void StateStore::settle() {
    std::thread finishing;
    {
        std::lock_guard lock(mutex_);
        finishing = std::move(compactor_);
    }
    if (finishing.joinable()) finishing.join();
}

fs::path StateStore::journal_file() const {
    std::lock_guard lock(mutex_);
    return journal_files_[journal_];
}

std::shared_ptr<const RuntimeConfig> StateStore::snapshot() const {
    std::lock_guard lock(mutex_);
    return current_;
}

Result<Instrument> StateStore::upsert_instrument(Instrument instrument) {
    auto symbol = normalize_symbol(instrument.symbol);
    if (!symbol) return Error::invalid("symbol", "not a valid symbol: '" + instrument.symbol + "'");
    instrument.symbol = *symbol;
    auto changed = update([&](const RuntimeConfig&) { return detail::Change{instrument}; });
    if (!changed) return changed.error();
    return instrument;
}

Result<bool> StateStore::remove_instrument(std::string_view symbol) {
    return update([&](const RuntimeConfig& now) -> std::optional<detail::Change> {
        if (!now.find_instrument(symbol)) return std::nullopt;
        return detail::Change{detail::RemovedInstrument{std::string(symbol)}};
    });
}

Result<Cadence> StateStore::put_cadence(Cadence cadence) {
    auto changed = update([&](const RuntimeConfig&) { return detail::Change{cadence}; });
    if (!changed) return changed.error();
    return cadence;
}

Result<GlobalSettings> StateStore::put_global(GlobalSettings settings) {
    auto changed = update([&](const RuntimeConfig&) { return detail::Change{settings}; });
    if (!changed) return changed.error();
    return settings;
}

Result<std::pair<PriceRule, bool>> StateStore::put_price_rule(PriceRule rule,
                                                              std::size_t max_rules) {
    bool created = false;
    bool full = false;
    bool named = !rule.id.empty();
    auto changed = update([&](const RuntimeConfig& now) -> std::optional<detail::Change> {
        const auto& rules = now.price_rules;
        while (!named && (rule.id.empty() || rules.contains(rule.id)))
            rule.id = new_rule_id();
        auto found = rules.find(rule.id);
        created = found == rules.end();
        if (created && rules.size() >= max_rules) {
            full = true;
            return std::nullopt;
        }
        if (!created && found->second == rule) return std::nullopt;  // the same again
        return detail::Change{rule};
    });
    if (!changed) return changed.error();
    if (full) {
        return Error::invalid(
            "id", std::to_string(max_rules) + " price rules are kept already (alerts.max_rules)");
    }
    return std::pair{rule, created};
}

Result<bool> StateStore::remove_price_rule(std::string_view id) {
    return update([&](const RuntimeConfig& now) -> std::optional<detail::Change> {
        if (!now.price_rules.contains(std::string(id))) return std::nullopt;
        return detail::Change{detail::RemovedPriceRule{std::string(id)}};
    });
}

Result<bool> StateStore::replace(const RuntimeConfig& config) {
    return update_whole([&](RuntimeConfig& next) {
        auto incoming = config;
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

std::vector<std::function<void()>> StateStore::notify_list() const {
    return listeners_;
}

// Changes reach the disk under the lock, so they are on disk in the order they are in memory.
// This costs an fsync per change: the gateway must call mutations off its I/O threads (or
// accept that a config write stalls one of them for an fsync).
Result<bool> StateStore::update(const Decision& decide) {
    std::vector<std::function<void()>> listeners;
    {
        std::lock_guard lock(mutex_);
        auto change = decide(*current_);
        if (!change) return false;
        auto next = std::make_shared<RuntimeConfig>(*current_);  // shares the instruments
        detail::apply(*next, *change);
        next->version = current_->version + 1;
        auto line = detail::journal_line(*change);
        if (auto committed = commit(std::move(next), &line); !committed) return committed.error();
        listeners = notify_list();
    }
    for (const auto& listener : listeners)
        listener();
    return true;
}

Result<bool> StateStore::update_whole(const std::function<bool(RuntimeConfig&)>& change) {
    std::vector<std::function<void()>> listeners;
    {
        std::lock_guard lock(mutex_);
        auto next = std::make_shared<RuntimeConfig>(*current_);
        if (!change(*next)) return false;
        next->version = current_->version + 1;
        if (auto committed = commit(std::move(next), nullptr); !committed) return committed.error();
        listeners = notify_list();
    }
    for (const auto& listener : listeners)
        listener();
    return true;
}

Result<void> StateStore::commit(std::shared_ptr<RuntimeConfig> next, const std::string* line) {
    if (!line || !journal_open_) {
        if (auto written = write_snapshot(*next); !written) return written.error();
    } else if (auto appended = detail::append_durably(journal_files_[journal_], *line); !appended) {
        journal_open_ = false;  // part of the line may be there: the next change rewrites it
        return Error::unavailable("configuration not saved: " + appended.error().detail);
    } else {
        journal_bytes_ += line->size();
    }
    current_ = std::move(next);
    // What a restart would replay: this journal, and the one before it while the snapshot
    // that holds it is not in place yet.
    auto replayed = journal_bytes_ + (snapshot_generation_ < generation_ ? bytes_behind_ : 0);
    if (journal_open_ && !compacting_ &&
        replayed > std::max(kMinJournalBytes, snapshot_bytes_.load())) {
        compact_behind();
    }
    return {};
}

// The journal has outgrown the snapshot: the compactor thread writes a snapshot of
// everything so far while changes go on being appended. When the snapshot this journal
// follows is on disk, the changes from here go to a new journal in the other file, which the
// new snapshot (one generation on) will precede; until that snapshot is in place a restart
// replays both. When it is not (the last compaction failed), the new snapshot takes this
// journal's generation and the journal goes on.
void StateStore::compact_behind() {
    if (compactor_.joinable()) compactor_.join();  // done: it has cleared compacting_
    if (snapshot_generation_ == generation_) {
        int other = 1 - journal_;
        auto header = detail::journal_header(generation_ + 1);
        // The other file holds an older generation's journal, which the snapshot holds.
        if (auto started = detail::write_file_durably(journal_files_[other], header); !started) {
            BOOST_LOG_TRIVIAL(warning)
                << "config: cannot start a new state journal (" << started.error().detail
                << "); the journal goes on and is compacted later";
            return;
        }
        journal_ = other;
        ++generation_;
        bytes_behind_ = journal_bytes_;
        journal_bytes_ = header.size();
    }
    compacting_ = true;
    compactor_ = std::thread([this, state = current_, generation = generation_] {
        std::lock_guard disk(disk_mutex_);
        // A change may have written a newer snapshot meanwhile (write_snapshot).
        if (generation > snapshot_generation_) {
            auto text = serialize(*state, generation);
            if (auto written = detail::write_file_durably(state_file_, text); written) {
                snapshot_bytes_ = text.size();
                snapshot_generation_ = generation;
            } else {
                BOOST_LOG_TRIVIAL(warning)
                    << "config: cannot write the new snapshot (" << written.error().detail
                    << "); the journal goes on and is compacted later";
            }
        }
        compacting_ = false;
    });
}

// A change that the journal cannot take (the first, a whole config from Redis, or the one
// after a failed append) is saved as a new snapshot before it is answered. Its generation is
// past any other, so every journal on disk is older than it: the new one starts in the
// current file. Once the snapshot is renamed into place it is the change's durable copy; a
// stale journal beside it (a crash, or a failure to start the new one) is not replayed.
Result<void> StateStore::write_snapshot(const RuntimeConfig& next) {
    std::lock_guard disk(disk_mutex_);  // after a snapshot being written behind the journal
    auto generation = generation_ + 1;
    auto text = serialize(next, generation);
    auto written = detail::write_file_durably(state_file_, text);
    if (!written) {
        // The new snapshot may be in place (only the folder's fsync failed): appending to
        // the old generation's journal would be lost behind it, so write a snapshot again.
        journal_open_ = false;
        return Error::unavailable("configuration not saved: " + written.error().detail);
    }
    generation_ = generation;
    snapshot_generation_ = generation;
    snapshot_bytes_ = text.size();
    auto header = detail::journal_header(generation);
    auto started = detail::write_file_durably(journal_files_[journal_], header);
    journal_open_ = started.has_value();
    journal_bytes_ = header.size();
    if (!started) {
        BOOST_LOG_TRIVIAL(warning) << "config: cannot start a new state journal ("
                                   << started.error().detail << "); the next change is saved "
                                   << "as a whole snapshot again";
    }
    // The other journal is older than the new snapshot too. Removed, so that one left from an
    // earlier life of the folder (state.json deleted to start over) is never replayed.
    std::error_code ignored;
    fs::remove(journal_files_[1 - journal_], ignored);
    return {};
}

}  // namespace tickerd::config
