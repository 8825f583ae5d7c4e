// The command line: options (anywhere, `--name value` or `--name=value`), the command's words
// and its operands. What each command accepts is in commands.cpp's table; this file knows
// only the options and how to match words against a table of commands.
#pragma once

#include "failure.hpp"

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tickerctl {

struct OptionSpec {
    std::string_view name;        // without the leading "--"
    std::string_view value_name;  // "" for a switch
    std::string_view help;
    bool global;  // accepted by every command
};

// Every option tickerctl knows.
std::span<const OptionSpec> all_options();
const OptionSpec* find_option(std::string_view name);

struct Invocation {
    std::vector<std::string> words;              // the non-option arguments, in order
    std::map<std::string, std::string> options;  // name → value ("" for a switch)

    bool has(const std::string& name) const { return options.contains(name); }
    std::optional<std::string> option(const std::string& name) const;
};

// Splits argv[1..]. "--" ends the options (so an operand may start with '-').
Outcome<Invocation> parse_arguments(std::span<const char* const> arguments);

// One command: its words ("workers start"), its operands and the options it takes besides
// the global ones.
struct CommandSpec {
    std::string_view name;
    std::string_view operands;  // for the usage line: "ID", "CHANNEL...", ""
    std::size_t min_operands;
    std::size_t max_operands;
    std::vector<std::string_view> options;
    std::string_view summary;
};

struct MatchedCommand {
    const CommandSpec* spec;
    std::vector<std::string> operands;
};

// The command whose name the most leading words spell (`used` of them); nullptr for none.
const CommandSpec* find_command(std::span<const CommandSpec> commands,
                                const std::vector<std::string>& words, std::size_t& used);

// The command whose name the leading words spell, with the rest as its operands; a usage
// failure for an unknown command, a wrong number of operands or an option it does not take.
Outcome<MatchedCommand> match_command(std::span<const CommandSpec> commands,
                                      const Invocation& invocation);

// Parses "1.5" as seconds or "20" as a count; a usage failure naming the option otherwise.
Outcome<double> parse_seconds(const std::string& option, const std::string& text);
Outcome<long> parse_count(const std::string& option, const std::string& text);
// "a,b , c" → {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_list(std::string_view text);

}  // namespace tickerctl
