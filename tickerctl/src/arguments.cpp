#include "arguments.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace tickerctl {

namespace {

const std::array kOptions = {
    OptionSpec{"url", "URL", "the daemon's base URL (http:// or https://)", true},
    OptionSpec{"token", "TOKEN", "the credential: a JWT or an API key", true},
    OptionSpec{"api-key", "KEY", "the credential: an API key (same as --token)", true},
    OptionSpec{"json", "", "print the API's JSON instead of tables", true},
    OptionSpec{"timeout", "SECONDS", "limit on every network wait (default 10)", true},
    OptionSpec{"cacert", "FILE", "trust the CA certificates in FILE (PEM) for https", true},
    OptionSpec{"insecure", "", "do not verify the server's certificate", true},
    OptionSpec{"help", "", "show the usage of tickerctl or of a command", true},
    OptionSpec{"version", "", "print the version", true},
    OptionSpec{"data-types", "LIST", "comma-separated data types", false},
    OptionSpec{"disabled", "", "add the instrument disabled", false},
    OptionSpec{"count", "N", "stop after N messages", false},
    OptionSpec{"scopes", "LIST", "comma-separated scopes: read, publish, admin", false},
    OptionSpec{"ttl", "SECONDS", "the token's lifetime", false},
    OptionSpec{"channels", "LIST", "comma-separated channel patterns the token may read", false},
};

std::string joined(const std::vector<std::string>& words, std::size_t count) {
    std::string text;
    for (std::size_t i = 0; i < count; ++i)
        text += (i ? " " : "") + words[i];
    return text;
}

// How many of the leading words spell `name` ("workers start" is two words).
bool spells(std::string_view name, const std::vector<std::string>& words, std::size_t& used) {
    used = 0;
    while (!name.empty()) {
        auto space = name.find(' ');
        auto word = name.substr(0, space);
        if (used >= words.size() || words[used] != word) return false;
        ++used;
        name = space == std::string_view::npos ? std::string_view() : name.substr(space + 1);
    }
    return true;
}

Outcome<void> check_options(const CommandSpec& spec, const Invocation& invocation) {
    for (const auto& [name, value] : invocation.options) {
        const auto* option = find_option(name);
        if (option->global) continue;
        bool taken = false;
        for (auto allowed : spec.options)
            taken = taken || allowed == name;
        if (!taken) {
            return Failure::usage("'" + std::string(spec.name) + "' does not take --" + name);
        }
    }
    return {};
}

}  // namespace

std::span<const OptionSpec> all_options() {
    return kOptions;
}

const OptionSpec* find_option(std::string_view name) {
    for (const auto& option : kOptions) {
        if (option.name == name) return &option;
    }
    return nullptr;
}

std::optional<std::string> Invocation::option(const std::string& name) const {
    auto found = options.find(name);
    if (found == options.end()) return std::nullopt;
    return found->second;
}

Outcome<Invocation> parse_arguments(std::span<const char* const> arguments) {
    Invocation invocation;
    bool options_ended = false;
    for (std::size_t i = 0; i < arguments.size(); ++i) {
        std::string_view argument = arguments[i];
        if (options_ended || !argument.starts_with('-') || argument == "-") {
            invocation.words.emplace_back(argument);
            continue;
        }
        if (argument == "--") {
            options_ended = true;
            continue;
        }
        if (argument == "-h") argument = "--help";
        if (!argument.starts_with("--")) {
            return Failure::usage("unknown option '" + std::string(argument) + "'");
        }
        auto equals = argument.find('=');
        std::string name(
            argument.substr(2, equals == std::string_view::npos ? equals : equals - 2));
        const auto* option = find_option(name);
        if (!option) return Failure::usage("unknown option '--" + name + "'");
        std::string value;
        if (equals != std::string_view::npos) {
            if (option->value_name.empty()) {
                return Failure::usage("--" + name + " takes no value");
            }
            value = argument.substr(equals + 1);
        } else if (!option->value_name.empty()) {
            if (i + 1 >= arguments.size()) {
                return Failure::usage("--" + name + " needs a value (" +
                                      std::string(option->value_name) + ")");
            }
            value = arguments[++i];
        }
        invocation.options[name] = std::move(value);
    }
    return invocation;
}

const CommandSpec* find_command(std::span<const CommandSpec> commands,
                                const std::vector<std::string>& words, std::size_t& used) {
    const CommandSpec* best = nullptr;
    used = 0;
    for (const auto& spec : commands) {
        std::size_t spelled = 0;
        if (spells(spec.name, words, spelled) && spelled > used) {
            best = &spec;
            used = spelled;
        }
    }
    return best;
}

Outcome<MatchedCommand> match_command(std::span<const CommandSpec> commands,
                                      const Invocation& invocation) {
    const auto& words = invocation.words;
    if (words.empty()) return Failure::usage("no command given");
    std::size_t best_used = 0;
    const auto* best = find_command(commands, words, best_used);
    if (!best) return Failure::usage("unknown command '" + joined(words, words.size()) + "'");
    MatchedCommand matched{best, {words.begin() + static_cast<long>(best_used), words.end()}};
    auto count = matched.operands.size();
    if (count < best->min_operands) {
        return Failure::usage("'" + std::string(best->name) + "' needs " +
                              std::string(best->operands));
    }
    if (count > best->max_operands) {
        return Failure::usage("'" + std::string(best->name) + "' does not take '" +
                              matched.operands[best->max_operands] + "'");
    }
    if (auto checked = check_options(*best, invocation); !checked) return checked.error();
    return matched;
}

Outcome<double> parse_seconds(const std::string& option, const std::string& text) {
    double seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(seconds) ||
        seconds <= 0) {
        return Failure::usage(option + ": expected a positive number of seconds, not '" + text +
                              "'");
    }
    return seconds;
}

Outcome<long> parse_count(const std::string& option, const std::string& text) {
    long count = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (ec != std::errc() || end != text.data() + text.size() || count <= 0) {
        return Failure::usage(option + ": expected a positive integer, not '" + text + "'");
    }
    return count;
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> items;
    while (true) {
        auto comma = text.find(',');
        auto item = text.substr(0, comma);
        while (!item.empty() && item.front() == ' ')
            item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ')
            item.remove_suffix(1);
        if (!item.empty()) items.emplace_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return items;
}

}  // namespace tickerctl
