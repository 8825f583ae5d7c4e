#include "config/state_journal.hpp"

#include "config/json_text.hpp"
#include "core/json_writer.hpp"

#include <boost/json.hpp>

#include <fstream>

namespace tickerd::config::detail {

namespace json = boost::json;

namespace {

constexpr int kJournalFormat = 1;

template <class... Handlers>
struct Overloaded : Handlers... {
    using Handlers::operator()...;
};
// Spelt out for clang 14 (the fuzz build), which does not deduce an aggregate's arguments.
template <class... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

json::object change_json(const Change& change) {
    return std::visit(Overloaded{
                          [](const Instrument& x) {
                              return json::object{{"instrument", to_json(x)}};
                          },
                          [](const RemovedInstrument& x) {
                              return json::object{{"remove_instrument", x.symbol}};
                          },
                          [](const Cadence& x) {
                              return json::object{{"cadence", to_json(x)}};
                          },
                          [](const GlobalSettings& x) {
                              return json::object{{"global", to_json(x)}};
                          },
                          [](const PriceRule& x) {
                              return json::object{{"price_rule", to_json(x)}};
                          },
                          [](const RemovedPriceRule& x) {
                              return json::object{{"remove_price_rule", x.id}};
                          },
                      },
                      change.what);
}

template <class T>
Result<Change> as_change(Result<T> parsed) {
    if (!parsed) return parsed.error();
    return Change{std::move(*parsed)};
}

Result<Change> string_change(const json::value& value, bool instrument) {
    if (!value.is_string()) return Error::invalid("", "expected a string");
    std::string text(value.get_string());
    if (instrument) return Change{RemovedInstrument{std::move(text)}};
    return Change{RemovedPriceRule{std::move(text)}};
}

Result<Change> parse_change(const json::value& line, const RuntimeConfig& config) {
    if (!line.is_object() || line.get_object().size() != 1)
        return Error::invalid("", "expected an object with one key");
    const auto& [key, value] = *line.get_object().begin();
    if (key == "instrument") return as_change(parse_instrument(value));
    if (key == "remove_instrument") return string_change(value, true);
    if (key == "cadence") return as_change(parse_cadence(value, std::nullopt));
    if (key == "global") return as_change(parse_global_settings(value, config.global));
    if (key == "price_rule") return as_change(parse_price_rule(value));
    if (key == "remove_price_rule") return string_change(value, false);
    return Error::invalid("", "unknown change '" + std::string(key) + "'");
}

std::optional<uint64_t> header_generation(std::string_view line) {
    auto header = parse_json_text(line);
    if (!header || !header->is_object()) return std::nullopt;
    const auto& object = header->get_object();
    const auto* format = object.if_contains("format");
    const auto* generation = object.if_contains("generation");
    if (!format || !format->is_int64() || format->get_int64() != kJournalFormat)
        return std::nullopt;
    if (!generation || !generation->is_int64() || generation->get_int64() < 0) return std::nullopt;
    return static_cast<uint64_t>(generation->get_int64());
}

}  // namespace

void apply(RuntimeConfig& config, const Change& change) {
    std::visit(Overloaded{
                   [&](const Instrument& x) { config.instruments.upsert(x); },
                   [&](const RemovedInstrument& x) { config.instruments.erase(x.symbol); },
                   [&](const Cadence& x) { config.cadences[x.data_type] = x; },
                   [&](const GlobalSettings& x) { config.global = x; },
                   [&](const PriceRule& x) { config.price_rules[x.id] = x; },
                   [&](const RemovedPriceRule& x) { config.price_rules.erase(x.id); },
               },
               change.what);
}

std::string journal_line(const Change& change) {
    return write_json(change_json(change)) + "\n";
}

std::string journal_header(uint64_t generation) {
    return write_json(json::object{{"format", kJournalFormat},
                                   {"generation", static_cast<int64_t>(generation)}}) +
           "\n";
}

std::optional<uint64_t> journal_generation(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string header;
    if (!std::getline(in, header) || in.eof()) return std::nullopt;  // none, or torn
    return header_generation(header);
}

Replay replay_journal(const std::filesystem::path& file, uint64_t generation,
                      RuntimeConfig& config) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return {};
    auto text = read_text_file(file, "state journal");
    auto refuse = [&](std::size_t line, const std::string& why) {
        return ConfigError("state journal '" + file.string() + "' line " + std::to_string(line) +
                           " is corrupt: " + why +
                           " (fix or remove it; it holds the latest config changes made through "
                           "the API)");
    };
    std::string_view rest = text;
    auto header_end = rest.find('\n');
    if (header_end == std::string_view::npos) return {};  // torn while created: nothing in it
    auto found = header_generation(rest.substr(0, header_end));
    if (!found) throw refuse(1, "not a journal header (format 1)");
    if (*found != generation) return {};  // the snapshot has everything in it
    Replay replay{header_end + 1, 0, true};
    rest.remove_prefix(header_end + 1);
    for (std::size_t number = 2; !rest.empty(); ++number) {
        auto end = rest.find('\n');
        auto line = rest.substr(0, end);
        bool last = end == std::string_view::npos || end + 1 == rest.size();
        auto parsed = parse_json_text(line);
        auto change = parsed ? parse_change(*parsed, config) : Result<Change>(parsed.error());
        // A line never completed was never acknowledged: a crash cut it short.
        if (end == std::string_view::npos || (!change && last)) {
            replay.appendable = false;
            break;
        }
        if (!change) throw refuse(number, change.error().detail);
        apply(config, *change);
        ++replay.changes;
        replay.bytes += end + 1;
        rest.remove_prefix(end + 1);
    }
    return replay;
}

}  // namespace tickerd::config::detail
