// Where the daemon is and how to talk to it: the URL, the credential and the TLS and timeout
// choices, each taken from the first layer that has it — the flags, then the environment
// (TICKERD_URL, TICKERD_TOKEN / TICKERD_API_KEY), then the user's cli.json, then the default.
#pragma once

#include "arguments.hpp"
#include "failure.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace tickerctl {

// CONTRACT.md §1: the daemon listens on 127.0.0.1:8000 unless told otherwise.
inline constexpr std::string_view kDefaultUrl = "http://127.0.0.1:8000";
inline constexpr std::chrono::milliseconds kDefaultTimeout{10'000};

struct Url {
    bool tls = false;
    std::string host;       // without brackets for IPv6
    std::string port;       // "8000"; the scheme's default when the URL has none
    std::string base_path;  // "" or "/prefix" (a daemon behind a reverse proxy), no trailing '/'
    std::string text;       // as given, for messages

    std::string host_header() const;  // "host:port" (brackets around IPv6)
};

// http[s]://host[:port][/base]; a usage failure naming what is wrong.
Outcome<Url> parse_url(std::string_view text);

struct ConnectionSettings {
    Url url;
    std::string credential;  // sent as "Authorization: Bearer …"; empty: none
    std::chrono::milliseconds timeout = kDefaultTimeout;
    std::optional<std::string> ca_file;  // --cacert: trusted instead of the system's CAs
    bool verify_certificate = true;      // false with --insecure
};

// $XDG_CONFIG_HOME/tickerd/cli.json, or ~/.config/tickerd/cli.json.
std::optional<std::filesystem::path> cli_config_path();

// The settings from the flags, the environment and the file; a usage failure for a bad URL,
// timeout or file.
Outcome<ConnectionSettings> resolve_connection(const Invocation& invocation);

}  // namespace tickerctl
