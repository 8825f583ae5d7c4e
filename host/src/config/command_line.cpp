#include "config/command_line.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace tickerd::config {

namespace {

// The flags that ask for something other than running; the rest are settings.
struct CommandFlag {
    std::string_view name;  // without the leading "--"
    Command command;
    std::string_view help;
};

constexpr std::array<CommandFlag, 3> kCommandFlags = {{
    {"check-config", Command::check_config,
     "check the config and the plugins, print problems, exit 0 or 1"},
    {"version", Command::show_version, "print the version and the plugin ABI version"},
    {"help", Command::show_help, "print this help"},
}};

const CommandFlag* find_command(std::string_view name) {
    auto found = std::find_if(kCommandFlags.begin(), kCommandFlags.end(),
                              [&](const CommandFlag& flag) { return flag.name == name; });
    return found == kCommandFlags.end() ? nullptr : &*found;
}

// "--listen" once per flag; repeated flags gather their values.
void add_value(detail::CommandLine& line, const detail::Setting* setting, std::string value) {
    for (auto& [known, values] : line.values) {
        if (known == setting) {
            values.push_back(std::move(value));
            return;
        }
    }
    line.values.push_back({setting, {std::move(value)}});
}

std::string without_backticks(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c != '`') out += c;
    }
    return out;
}

void append_line(std::string& text, std::string left, std::string_view help) {
    left.resize(std::max<size_t>(left.size() + 2, 40), ' ');
    text += left + without_backticks(help) + "\n";
}

}  // namespace

namespace detail {

CommandLine parse_command_line(int argc, const char* const* argv) {
    CommandLine line;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-h") {
            line.command = Command::show_help;
            continue;
        }
        if (!arg.starts_with("--")) {
            throw ConfigError("unexpected argument '" + std::string(arg) + "' (see --help)");
        }
        std::string_view name = arg.substr(2);
        std::optional<std::string> inline_value;
        if (auto equals = name.find('='); equals != std::string_view::npos) {
            inline_value = std::string(name.substr(equals + 1));
            name = name.substr(0, equals);
        }
        std::string shown = "--" + std::string(name);
        if (const auto* command = find_command(name)) {
            if (inline_value) throw ConfigError(shown + ": takes no value");
            // --help wins over --version, which wins over --check-config, in any order.
            line.command = std::max(line.command, command->command);
            continue;
        }
        const Setting* setting = find_flag(name);
        if (!setting) throw ConfigError("unknown option '" + shown + "' (see --help)");
        std::string value;
        if (inline_value) {
            value = std::move(*inline_value);
        } else if (i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--")) {
            value = argv[++i];
        } else {
            throw ConfigError(shown + ": missing value (" + std::string(setting->info.value_name) +
                              ")");
        }
        if (value.empty()) {
            throw ConfigError(shown + ": empty value (expected " +
                              std::string(setting->info.value_name) + ")");
        }
        add_value(line, setting, std::move(value));
    }
    return line;
}

}  // namespace detail

std::string usage() {
    std::string text =
        "Usage: tickerd [OPTIONS]\n"
        "Polls vendor plugins and streams market data over SSE and WebSocket.\n"
        "Settings apply in this order, later winning: built-in defaults, the config file,\n"
        "environment variables, options.\n\nOptions:\n";
    for (const auto& setting : detail::settings()) {
        const auto& info = setting.info;
        if (info.flag.empty()) continue;
        std::string help(info.help);
        if (!info.env.empty()) help += " (env " + std::string(info.env) + ")";
        append_line(text, "  --" + std::string(info.flag) + " " + std::string(info.value_name),
                    help);
    }
    for (const auto& flag : kCommandFlags) {
        append_line(text, flag.name == "help" ? "  -h, --help" : "  --" + std::string(flag.name),
                    flag.help);
    }
    text += "\nEnvironment:\n";
    for (const auto& setting : detail::settings()) {
        const auto& info = setting.info;
        if (info.env.empty()) continue;
        std::string help(info.help);
        if (info.default_text != "none") help += " (default " + info.default_text + ")";
        append_line(text, "  " + std::string(info.env), help);
    }
    text +=
        "\nBooleans accept true/false, 1/0, yes/no, on/off. The config file's keys are in\n"
        "the README (Configuration).\n";
    return text;
}

}  // namespace tickerd::config
