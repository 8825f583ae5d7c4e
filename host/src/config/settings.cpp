// The settings table (CONTRIBUTING.md, "Settings"): one row per plain setting, binding its
// config-file key, environment variable and flag to one field of DaemonConfig, with its
// kind (how its text and JSON forms are read), its default and when it takes effect.
// Adding a setting is adding a field and a row; the layers, --help, GET / and the README
// table follow.
#include "config/settings.hpp"

#include "core/enum_names.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace tickerd::config {

namespace json = boost::json;
namespace fs = std::filesystem;
using detail::Setting;
using detail::TextOrigin;

namespace {

// ---- Reading values ------------------------------------------------------------------

Error bad(std::string why) {
    return Error::invalid("", why);
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<long long> parse_whole_number(std::string_view text) {
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// The non-empty parts of `text` between `separator`s.
std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> parts;
    while (true) {
        auto at = text.find(separator);
        auto part = text.substr(0, at);
        if (!part.empty()) parts.emplace_back(part);
        if (at == std::string_view::npos) break;
        text.remove_prefix(at + 1);
    }
    return parts;
}

Result<std::string> json_string(const json::value& v) {
    if (!v.is_string()) return bad("expected a string");
    return std::string(v.get_string());
}

// A JSON list read item by item; an item's error names its index ("[2]: …").
template <class Read>
auto json_list(const json::value& v, std::string_view expected, Read read)
    -> Result<std::vector<typename decltype(read(v))::value_type>> {
    if (!v.is_array()) return bad("expected " + std::string(expected));
    std::vector<typename decltype(read(v))::value_type> items;
    for (std::size_t i = 0; i < v.get_array().size(); ++i) {
        auto item = read(v.get_array()[i]);
        if (!item) return Error::invalid("[" + std::to_string(i) + "]", item.error().detail);
        items.push_back(std::move(*item));
    }
    return items;
}

// A list shown as JSON strings.
template <class List, class Show>
json::value json_strings(const List& list, Show show) {
    json::array strings;
    for (const auto& item : list)
        strings.emplace_back(show(item));
    return strings;
}

// A kind knows a setting's C++ type and how its forms read: `parse_text` reads an
// environment variable or a flag (a flag given twice: the last wins), `from_json` the file's
// value, `show` writes it as JSON. A kind whose values are lists reads every value given at
// once with `from_texts` instead; it may find nothing to set.

struct Text {
    using type = std::string;
    static Result<type> parse_text(const Setting&, std::string_view text) {
        return std::string(text);
    }
    static Result<type> from_json(const Setting&, const json::value& v, const fs::path&) {
        return json_string(v);
    }
    static json::value show(const type& value) { return json::value(value); }
};

// A string that means nothing when empty (a host name, a socket path).
struct Name : Text {
    static Result<type> from_json(const Setting&, const json::value& v, const fs::path&) {
        auto text = json_string(v);
        if (text && text->empty()) return bad("must not be empty");
        return text;
    }
    static json::value show(const type& value) {
        return value.empty() ? json::value(nullptr) : json::value(value);
    }
};

struct Listen : Text {
    static Result<type> parse_text(const Setting&, std::string_view text) {
        if (auto parsed = parse_listen(text); !parsed) return parsed.error();
        return std::string(text);
    }
    static Result<type> from_json(const Setting& s, const json::value& v, const fs::path&) {
        auto text = json_string(v);
        return text ? parse_text(s, *text) : text;
    }
};

struct Boolean {
    using type = bool;
    static Result<type> parse_text(const Setting&, std::string_view text) {
        auto parsed = parse_bool(text);
        if (!parsed) return bad("expected a boolean, got '" + std::string(text) + "'");
        return *parsed;
    }
    static Result<type> from_json(const Setting&, const json::value& v, const fs::path&) {
        if (!v.is_bool()) return bad("expected true or false");
        return v.get_bool();
    }
    static json::value show(type value) { return json::value(value); }
};

// An integer within the row's [min, max].
template <class Int>
struct Integer {
    using type = Int;
    static Result<type> parse_text(const Setting& s, std::string_view text) {
        auto parsed = parse_whole_number(text);
        if (!parsed || *parsed < s.min || *parsed > s.max) {
            return bad("expected an integer from " + std::to_string(s.min) + " to " +
                       std::to_string(s.max) + ", got '" + std::string(text) + "'");
        }
        return static_cast<type>(*parsed);
    }
    static Result<type> from_json(const Setting& s, const json::value& v, const fs::path&) {
        auto value = detail::json_integer(v, s.min, s.max);
        if (!value) return value.error();
        return static_cast<type>(*value);
    }
    static json::value show(type value) { return json::value(value); }
};

// Seconds, within the row's [min, max].
struct Seconds {
    using type = std::chrono::seconds;
    static Result<type> parse_text(const Setting& s, std::string_view text) {
        auto value = Integer<long long>::parse_text(s, text);
        if (!value) return value.error();
        return type(*value);
    }
    static Result<type> from_json(const Setting& s, const json::value& v, const fs::path& base) {
        auto value = Integer<long long>::from_json(s, v, base);
        if (!value) return value.error();
        return type(*value);
    }
    static json::value show(type value) { return json::value(value.count()); }
};

struct Path {
    using type = fs::path;
    static Result<type> parse_text(const Setting&, std::string_view text) { return fs::path(text); }
    static Result<type> from_json(const Setting&, const json::value& v, const fs::path& base) {
        return detail::json_path(v, base);
    }
    static json::value show(const type& value) { return json::value(value.string()); }
};

struct OptionalPath {
    using type = std::optional<fs::path>;
    static Result<type> parse_text(const Setting&, std::string_view text) {
        return type(fs::path(text));
    }
    static Result<type> from_json(const Setting&, const json::value& v, const fs::path& base) {
        auto path = detail::json_path(v, base);
        if (!path) return path.error();
        return type(*path);
    }
    static json::value show(const type& value) {
        return value ? json::value(value->string()) : json::value(nullptr);
    }
};

// systemd's STATE_DIRECTORY lists one folder per StateDirectory= entry; the first is ours.
struct FirstOfPaths : Path {
    static Result<std::optional<type>> from_texts(const std::vector<std::string>& values,
                                                  TextOrigin) {
        auto parts = split(values.back(), ':');
        if (parts.empty()) return std::optional<type>();
        return std::optional<type>(parts.front());
    }
};

// Folders: ':'-separated in a variable, one per flag occurrence, a list in the file.
struct PathList {
    using type = std::vector<fs::path>;
    static Result<std::optional<type>> from_texts(const std::vector<std::string>& values,
                                                  TextOrigin origin) {
        if (origin == TextOrigin::flag)
            return std::optional<type>(type(values.begin(), values.end()));
        auto parts = split(values.back(), ':');
        if (parts.empty()) return std::optional<type>();
        return std::optional<type>(type(parts.begin(), parts.end()));
    }
    static Result<type> from_json(const Setting&, const json::value& v, const fs::path& base) {
        return json_list(v, "a list",
                         [&](const json::value& item) { return detail::json_path(item, base); });
    }
    static json::value show(const type& value) {
        return json_strings(value, [](const fs::path& path) { return path.string(); });
    }
};

Result<bus::HostPort> host_port(std::string_view text) {
    auto parsed = parse_listen(text);
    if (!parsed) return parsed.error();
    return bus::HostPort{parsed->first, parsed->second};
}

// HOST:PORT addresses: ','-separated in a variable, a list in the file.
struct Addresses {
    using type = std::vector<bus::HostPort>;
    static Result<std::optional<type>> from_texts(const std::vector<std::string>& values,
                                                  TextOrigin) {
        type addresses;
        for (const auto& part : split(values.back(), ',')) {
            auto address = host_port(part);
            if (!address) return address.error();
            addresses.push_back(std::move(*address));
        }
        return std::optional<type>(std::move(addresses));
    }
    static Result<type> from_json(const Setting&, const json::value& v, const fs::path&) {
        return json_list(v, "a list of HOST:PORT", [](const json::value& item) {
            auto text = json_string(item);
            return text ? host_port(*text) : Result<bus::HostPort>(text.error());
        });
    }
    static json::value show(const type& value) {
        return json_strings(value, [](const bus::HostPort& address) { return address.describe(); });
    }
};

// "primary", "replica" or a replica's HOST:PORT.
struct ReadFromChoice {
    using type = bus::ReadFrom;
    static Result<type> parse_text(const Setting&, std::string_view text) {
        if (text == "primary") return type{};
        if (text == "replica") return type{bus::ReadFrom::Node::any_replica, {}};
        auto replica = host_port(text);
        if (!replica) {
            return bad("expected primary, replica or a replica's HOST:PORT, got '" +
                       std::string(text) + "'");
        }
        return type{bus::ReadFrom::Node::replica_at, std::move(*replica)};
    }
    static Result<type> from_json(const Setting& s, const json::value& v, const fs::path&) {
        auto text = json_string(v);
        if (!text) return text.error();
        return parse_text(s, *text);
    }
    static json::value show(const type& value) { return json::value(value.describe()); }
};

// Strings: ','-separated in a variable, a list in the file.
struct TextList {
    using type = std::vector<std::string>;
    static Result<std::optional<type>> from_texts(const std::vector<std::string>& values,
                                                  TextOrigin) {
        return std::optional<type>(split(values.back(), ','));
    }
    static Result<type> from_json(const Setting&, const json::value& v, const fs::path&) {
        return json_list(v, "a list of strings", [](const json::value& item) {
            auto text = json_string(item);
            if (text && text->empty()) return Result<std::string>(bad("must not be empty"));
            return text;
        });
    }
    static json::value show(const type& value) {
        return json_strings(value, [](const std::string& text) { return text; });
    }
};

// A list of names, each one checked by `Check` and given once.
template <Result<void> (*Check)(std::string_view)>
struct CheckedNames : TextList {
    static Result<std::optional<type>> from_texts(const std::vector<std::string>& values,
                                                  TextOrigin origin) {
        auto names = TextList::from_texts(values, origin);
        if (!names) return names.error();
        if (auto problem = check(**names); !problem) return problem.error();
        return names;
    }
    static Result<type> from_json(const Setting& s, const json::value& v, const fs::path& base) {
        auto names = TextList::from_json(s, v, base);
        if (!names) return names.error();
        if (auto problem = check(*names); !problem) return problem.error();
        return names;
    }

  private:
    static Result<void> check(const type& names) {
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (auto problem = Check(names[i]); !problem) return bad(problem.error().detail);
            if (std::find(names.begin(), names.begin() + i, names[i]) != names.begin() + i)
                return bad("'" + names[i] + "' is given twice");
        }
        return {};
    }
};

Result<void> check_bar_interval(std::string_view text) {
    if (auto interval = parse_bar_interval(text); !interval) return interval.error();
    return {};
}

// Names of published channel types and bar intervals (CONTRACT.md §8).
using TypeNames = CheckedNames<&check_published_type>;
using BarIntervals = CheckedNames<&check_bar_interval>;

// One of an enum's names.
template <class Enum, const auto& kNames, std::optional<Enum> (*kParse)(std::string_view)>
struct Choice {
    using type = Enum;
    static Result<type> parse_text(const Setting&, std::string_view text) {
        auto value = kParse(text);
        if (!value) return bad("expected " + choices(kNames) + ", got '" + std::string(text) + "'");
        return *value;
    }
    static Result<type> from_json(const Setting& s, const json::value& v, const fs::path&) {
        auto text = json_string(v);
        if (!text) return text.error();
        return parse_text(s, *text);
    }
    static json::value show(type value) { return json::value(name_of(kNames, value)); }
};
using RoleChoice = Choice<Role, kRoleNames, &parse_role>;
using LevelChoice = Choice<log::Level, log::kLevelNames, &log::parse_level>;
using FormatChoice = Choice<log::Format, log::kFormatNames, &log::parse_format>;

// ---- Binding a kind to a field -------------------------------------------------------

// The field a chain of member pointers leads to: field<&A::b, &B::c>(a) is a.b.c.
template <auto... Members, class Config>
auto& field(Config& config) {
    return (config.*....*Members);
}

struct Extras {
    long long min = 0, max = 0;
    bool secret = false;
};

template <class Kind, auto... Members>
Setting row(SettingInfo info, Extras extras = {}) {
    Setting setting{std::move(info), extras.secret, extras.min, extras.max};
    setting.read_text = [](const Setting& s, DaemonConfig& config,
                           const std::vector<std::string>& values,
                           TextOrigin origin) -> Result<void> {
        if constexpr (requires { Kind::from_texts(values, origin); }) {
            auto value = Kind::from_texts(values, origin);
            if (!value) return value.error();
            if (*value) field<Members...>(config) = std::move(**value);
        } else {
            auto value = Kind::parse_text(s, values.back());
            if (!value) return value.error();
            field<Members...>(config) = std::move(*value);
        }
        return {};
    };
    setting.read_json = [](const Setting& s, DaemonConfig& config, const json::value& v,
                           const fs::path& base) -> Result<void> {
        auto value = Kind::from_json(s, v, base);
        if (!value) return value.error();
        field<Members...>(config) = std::move(*value);
        return {};
    };
    setting.write_json = [](const DaemonConfig& config) -> json::value {
        return Kind::show(field<Members...>(config));
    };
    return setting;
}

using enum Applies;
using C = DaemonConfig;
using R = bus::RedisSettings;
using A = bus::RedisAddress;
using X = access::AccessSettings;
using L = access::Limits;
using T = access::TlsSettings;
constexpr long long kIntMax = std::numeric_limits<int>::max();

// Defaults are shown as DaemonConfig{} has them, unless the row says otherwise (those that
// depend on where tickerd is installed).
std::vector<Setting> make_table() {
    return {
        row<OptionalPath, &C::config_path>(
            {"", "TICKERD_CONFIG", "config", "PATH", "none", restart, "JSON config file"}),
        row<Listen, &C::listen>({"listen", "TICKERD_LISTEN", "listen", "HOST:PORT", "", restart,
                                 "HTTP/SSE/WebSocket listener; port 0 picks a free one (logged, "
                                 "and written to --port-file)"}),
        row<Boolean, &C::reuse_port>(
            {"reuse_port", "TICKERD_REUSE_PORT", "", "BOOL", "", restart,
             "open the listeners with SO_REUSEPORT, so that several tickerd processes (edges fed "
             "by "
             "one Redis) share one port and the kernel spreads connections among them"}),
        row<Boolean, &C::io_uring>(
            {"io_uring", "TICKERD_IO_URING", "", "BOOL", "", restart,
             "send the writes of each run of stream writers (up to 256 streams) in one io_uring "
             "submission instead of one sendmsg() each; where the kernel refuses io_uring, "
             "tickerd says so in the log and uses sendmsg()"}),
        row<Boolean, &C::huge_pages>(
            {"huge_pages", "TICKERD_HUGE_PAGES", "", "BOOL", "", restart,
             "keep the heap in transparent huge pages: at start tickerd executes itself again, "
             "once, with glibc.malloc.hugetlb=1 and glibc.malloc.arena_max=1 added to "
             "GLIBC_TUNABLES (a GLIBC_TUNABLES that names glibc.malloc.hugetlb is left as it "
             "is)"}),
        row<OptionalPath, &C::port_file>({"", "", "port-file", "PATH", "none", restart,
                                          "write the bound port number there once listening"}),
        row<PathList, &C::plugin_dirs>(
            {"plugin_dirs", "TICKERD_PLUGIN_DIR", "plugin-dir", "DIR",
             "the install's `lib/tickerd/vendors` (from a build tree: `build/…/vendors/lib`)",
             restart,
             "folders scanned for vendor plugins and watched for hot reload; the flag repeats, "
             "the variable is `:`-separated"}),
        // The file and the environment only: a development machine sets it once, not per run.
        row<Boolean, &C::plugin_host, &plugins::HostSettings::allow_insecure_files>(
            {"plugins.allow_insecure_files", "TICKERD_ALLOW_INSECURE_PLUGINS", "", "BOOL", "",
             restart,
             "load plugin files and folders that a user other than root or tickerd's own could "
             "rewrite (group- or world-writable, or a stranger's), with a warning each, instead "
             "of refusing them: for development only"}),
        // Before TICKERD_STATE_DIR, which wins when both are set.
        row<FirstOfPaths, &C::state_dir>(
            {"", "STATE_DIRECTORY", "", "DIR", "none", restart,
             "set by systemd's `StateDirectory=`; used when `TICKERD_STATE_DIR` is unset"}),
        row<Path, &C::state_dir>({"state_dir", "TICKERD_STATE_DIR", "state-dir", "DIR",
                                  "`./var` from a checkout, `/var/lib/tickerd` installed", restart,
                                  "where API changes are kept"}),
        row<RoleChoice, &C::role>({"role", "TICKERD_ROLE", "role", "all|worker|edge", "", restart,
                                   "`worker` polls and publishes, `edge` loads no vendors and "
                                   "serves clients from Redis; both need Redis"}),
        row<LevelChoice, &C::log_level>({"log_level", "TICKERD_LOG_LEVEL", "log-level",
                                         "debug|info|warning|error", "", reload,
                                         "the least important log lines written"}),
        row<FormatChoice, &C::log_format>(
            {"log_format", "TICKERD_LOG_FORMAT", "", "auto|plain|json", "", restart,
             "`plain` (time, level, message), `json` (one `{\"time\", \"level\", \"message\"}` "
             "object per line) or `auto` (the journal's `<N>` priorities when stderr is the "
             "journal, else plain)"}),
        row<Boolean, &C::redis, &R::enabled>({"redis.enabled", "REDIS_ENABLED", "", "BOOL", "",
                                              restart, "publish to and serve from Redis"}),
        row<Name, &C::redis, &R::address, &A::host>(
            {"redis.host", "REDIS_HOST", "", "HOST", "", restart, "Redis host"}),
        row<Integer<int>, &C::redis, &R::address, &A::port>(
            {"redis.port", "REDIS_PORT", "", "PORT", "", restart, "Redis port"}, {1, 65535}),
        row<Text, &C::redis, &R::address, &A::password>(
            {"redis.password", "REDIS_PASSWORD", "", "TEXT", "none", restart,
             "Redis password (the master's, with Sentinel)"},
            {.secret = true}),
        row<Integer<int>, &C::redis, &R::address, &A::db>(
            {"redis.db", "REDIS_DB", "", "N", "", restart, "Redis database number"}, {0, kIntMax}),
        row<Name, &C::redis, &R::address, &A::socket>(
            {"redis.socket", "REDIS_SOCKET", "", "PATH", "none", restart,
             "a unix socket path, used instead of host and port"}),
        row<Addresses, &C::redis, &R::address, &A::sentinels>(
            {"redis.sentinels", "REDIS_SENTINELS", "", "HOST:PORT,…", "none", restart,
             "Redis Sentinel: the sentinels to ask for the master, instead of host and port"}),
        row<Name, &C::redis, &R::address, &A::master_name>(
            {"redis.sentinel_master", "REDIS_SENTINEL_MASTER", "", "NAME", "", restart,
             "the master's name at the sentinels"}),
        row<Text, &C::redis, &R::address, &A::sentinel_password>(
            {"redis.sentinel_password", "REDIS_SENTINEL_PASSWORD", "", "TEXT", "none", restart,
             "the sentinels' own password"},
            {.secret = true}),
        row<Addresses, &C::redis, &R::address, &A::cluster_nodes>(
            {"redis.cluster_nodes", "REDIS_CLUSTER_NODES", "", "HOST:PORT,…", "none", restart,
             "Redis Cluster: any of its nodes (a few, for when one is down), instead of host and "
             "port; the shards are discovered from them and followed through failovers"}),
        row<ReadFromChoice, &C::redis, &R::read_from>(
            {"redis.read_from", "REDIS_READ_FROM", "", "primary|replica|HOST:PORT", "", restart,
             "the node that serves subscriptions, latest values and history: the primary, a "
             "healthy replica the sentinels (or the primary) list, or this replica first; "
             "writes always go to the primary"}),
        row<Integer<std::size_t>, &C::redis, &R::buffer_limit>(
            {"redis.buffer_limit", "", "", "N", "", restart,
             "messages kept while Redis is away; past it the oldest are dropped, counted and "
             "logged"},
            {1, 10'000'000}),
        row<Integer<int>, &C::redis, &R::lease_ms>(
            {"redis.lease_ms", "", "", "MS", "", restart,
             "the work-sharing lease among polling instances"},
            {300, 600'000}),
        row<Boolean, &C::access, &X::enabled>(
            {"auth.enabled", "TICKERD_AUTH_ENABLED", "", "BOOL", "", restart,
             "require a credential (an API key or a token) on every route but the open ones"}),
        row<Boolean, &C::access, &X::allow_unauthenticated_remote>(
            {"auth.allow_unauthenticated_remote", "", "", "BOOL", "", restart,
             "without auth, listen on an address other than loopback anyway (a warning at every "
             "start)"}),
        row<Boolean, &C::access, &X::protect_metrics>(
            {"auth.protect_metrics", "", "", "BOOL", "", reload,
             "`GET /metrics` needs the `read` scope too"}),
        row<TextList, &C::access, &X::allowed_hosts>(
            {"auth.allowed_hosts", "", "", "NAME,…", "none", reload,
             "without auth, the `Host` names answered besides `localhost`, `127.0.0.1`, `[::1]` "
             "and the listener's address"}),
        row<OptionalPath, &C::access, &X::hs256_secret_file>(
            {"auth.jwt.hs256_secret_file", "", "", "PATH", "none", reload,
             "the HS256 secret (32 bytes or more) that verifies tokens and signs the minted ones"}),
        row<OptionalPath, &C::access, &X::public_key_file>(
            {"auth.jwt.public_key_file", "", "", "PATH", "none", reload,
             "a PEM public key verifying RS256 (RSA) or ES256 (P-256) tokens"}),
        row<Integer<int>, &C::access, &X::token_ttl_seconds>(
            {"auth.jwt.token_ttl_seconds", "", "", "SECONDS", "", reload,
             "the longest a token from `POST /streaming/tokens` lives"},
            {1, 86400}),
        row<Name, &C::access, &X::audience>(
            {"auth.jwt.audience", "", "", "NAME", "", reload, "what a token's `aud` must name"}),
        row<TextList, &C::access, &X::allowed_origins>(
            {"cors.allowed_origins", "", "", "ORIGIN,…", "none", reload,
             "web origins allowed to call the API and open streams (`*`: any origin may read)"}),
        row<OptionalPath, &C::tls, &T::cert_file>(
            {"tls.cert_file", "", "", "PATH", "none", reload,
             "PEM certificate (with its chain): TLS on, for the main listener or `tls.listen`"}),
        row<OptionalPath, &C::tls, &T::key_file>(
            {"tls.key_file", "", "", "PATH", "none", reload, "its PEM private key"}),
        row<OptionalPath, &C::tls, &T::client_ca_file>(
            {"tls.client_ca_file", "", "", "PATH", "none", reload,
             "clients must present a certificate signed by this CA (mutual TLS)"}),
        row<Listen, &C::tls, &T::listen>(
            {"tls.listen", "", "", "HOST:PORT", "none", restart,
             "a second listener for TLS; without it the main listener speaks TLS"}),
        row<Integer<std::size_t>, &C::limits, &L::max_header_bytes>(
            {"limits.max_header_bytes", "", "", "BYTES", "", restart,
             "a request's line and headers; more is answered 431"},
            {1024, 1024 * 1024}),
        row<Integer<std::size_t>, &C::limits, &L::max_body_bytes>(
            {"limits.max_body_bytes", "", "", "BYTES", "", restart,
             "a request's body; more is answered 413"},
            {1024, 64 * 1024 * 1024}),
        row<Integer<int>, &C::limits, &L::max_json_depth>(
            {"limits.max_json_depth", "", "", "N", "", restart,
             "nesting in a JSON body or WebSocket message; deeper is answered 400 / an error "
             "frame"},
            {2, 256}),
        row<Integer<std::size_t>, &C::limits, &L::max_connections>(
            {"limits.max_connections", "", "", "N", "", restart,
             "connections open at once; more are answered 503 and closed"},
            {1, 1'000'000}),
        row<Integer<std::size_t>, &C::limits, &L::max_connections_per_ip>(
            {"limits.max_connections_per_ip", "", "", "N", "", restart,
             "connections from one address; more are answered 503 and closed"},
            {1, 1'000'000}),
        row<Integer<std::size_t>, &C::limits, &L::max_channels_per_connection>(
            {"limits.max_channels_per_connection", "", "", "N", "", restart,
             "channels one stream subscribes to; more is a 422 (SSE) or an error frame "
             "(WebSocket)"},
            {1, 1'000'000}),
        row<Integer<std::size_t>, &C::limits, &L::max_ws_message_bytes>(
            {"limits.max_ws_message_bytes", "", "", "BYTES", "", restart,
             "one WebSocket message from a client; more closes it with 1009"},
            {125, 16 * 1024 * 1024}),
        row<Integer<int>, &C::limits, &L::requests_per_minute>(
            {"limits.requests_per_minute", "", "", "N", "", restart,
             "REST requests per credential (per address without auth): 429 with Retry-After; "
             "WebSocket requests per connection: an error frame, then 1008 (0: no limit)"},
            {0, 10'000'000}),
        row<Seconds, &C::limits, &L::header_timeout>(
            {"limits.header_timeout_seconds", "", "", "SECONDS", "", restart,
             "a request's line and headers must arrive within it (a slow sender is cut)"},
            {1, 3600}),
        row<Seconds, &C::limits, &L::idle_timeout>(
            {"limits.idle_timeout_seconds", "", "", "SECONDS", "", restart,
             "a kept-alive connection that sends no request is closed after it"},
            {1, 86400}),
        row<Seconds, &C::limits, &L::request_timeout>(
            {"limits.request_timeout_seconds", "", "", "SECONDS", "", restart,
             "a request's body must arrive, and an answer be taken, within it"},
            {1, 3600}),
        row<Integer<std::size_t>, &C::limits, &L::max_queued_messages>(
            {"limits.max_queued_messages", "", "", "N", "", restart,
             "messages waiting for one slow stream before it is cut (WebSocket: 4008)"},
            {16, 10'000'000}),
        row<Integer<std::size_t>, &C::limits, &L::max_queued_bytes>(
            {"limits.max_queued_bytes", "", "", "BYTES", "", restart,
             "bytes waiting for one slow stream before it is cut"},
            {64 * 1024, 1024L * 1024 * 1024}),
        row<Seconds, &C::limits, &L::keepalive_interval>(
            {"limits.keepalive_seconds", "", "", "SECONDS", "", restart,
             "an idle stream gets an SSE comment or a WebSocket ping this often"},
            {1, 3600}),
        row<Boolean, &C::streaming_enabled>(
            {"streaming.enabled", "STREAMING_ENABLED", "", "BOOL", "", restart,
             "the seed's switch; `false` never auto-starts workers"}),
        row<TypeNames, &C::published_types>(
            {"published_types", "TICKERD_PUBLISHED_TYPES", "", "NAME,…", "none", restart,
             "channel types clients publish into (`POST /streaming/publish/stream:NAME:SYMBOL`) "
             "besides the five polled ones"}),
        row<BarIntervals, &C::bars, &BarSettings::intervals>(
            {"bars.intervals", "TICKERD_BARS_INTERVALS", "", "INTERVAL,…", "", restart,
             "OHLC bars aggregated from market_data, on `stream:bars_{interval}:{SYMBOL}`: "
             "seconds, minutes or hours dividing a day (`30s`, `1m`, `4h`) or `1d` (empty: none)"}),
        row<Text, &C::bars, &BarSettings::daily_time_zone>(
            {"bars.daily_time_zone", "TICKERD_BARS_DAILY_TIME_ZONE", "", "ZONE", "", restart,
             "the tz database zone whose midnight starts a daily bar"}),
        row<Integer<int>, &C::alerts, &AlertSettings::worker_failures>(
            {"alerts.worker_failures", "TICKERD_ALERTS_WORKER_FAILURES", "", "N", "", restart,
             "`worker_failing` fires when a symbol's polls fail this many times in a row"},
            {1, 1'000'000}),
        row<Seconds, &C::alerts, &AlertSettings::redis_down>(
            {"alerts.redis_down_seconds", "TICKERD_ALERTS_REDIS_DOWN_SECONDS", "", "SECONDS", "",
             restart, "`redis_down` fires when Redis stays unreachable this long"},
            {1, 86400}),
        row<Integer<std::size_t>, &C::alerts, &AlertSettings::max_rules>(
            {"alerts.max_rules", "", "", "N", "", restart,
             "price rules kept (`POST /streaming/alerts/rules` past it is a 422)"},
            {0, 10'000'000}),
        row<Integer<std::size_t>, &C::alerts, &AlertSettings::webhook_queue>(
            {"alerts.webhook_queue", "", "", "N", "", restart,
             "alerts waiting for one webhook (while it fails); past it the oldest is dropped "
             "and counted"},
            {1, 1'000'000}),
        row<Seconds, &C::alerts, &AlertSettings::webhook_max_backoff>(
            {"alerts.webhook_max_backoff_seconds", "", "", "SECONDS", "", restart,
             "the longest wait between a failing webhook's retries (they start at about 1 s "
             "and double)"},
            {1, 3600}),
        row<Integer<std::size_t>, &C::history, &bus::HistoryLimits::max_messages>(
            {"history.max_messages", "TICKERD_HISTORY_MAX_MESSAGES", "", "N", "", restart,
             "messages each channel keeps for resuming clients and `GET /streaming/history` "
             "(in memory, or in a Redis Stream with Redis; 0: no history)"},
            {0, 1'000'000}),
        row<Seconds, &C::history, &bus::HistoryLimits::max_age>(
            {"history.max_age_seconds", "TICKERD_HISTORY_MAX_AGE_SECONDS", "", "SECONDS", "",
             restart, "no message older than this is kept or replayed"},
            {1, 365 * 86400}),
        row<Integer<std::size_t>, &C::deltas_snapshot_every>(
            {"deltas.snapshot_every", "TICKERD_DELTAS_SNAPSHOT_EVERY", "", "N", "", restart,
             "a delta subscription (`mode=delta`) gets a full snapshot every N messages (and "
             "after a gap or a resume); 1: always snapshots"},
            {1, 1'000'000}),
        row<Boolean, &C::metrics_symbol_labels>(
            {"metrics.symbol_labels", "TICKERD_METRICS_SYMBOL_LABELS", "", "BOOL", "", restart,
             "a `symbol` label on `GET /metrics`' per-message and per-call counts: one series "
             "per instrument, so only for a few hundred instruments"}),
        row<Boolean, &C::auto_start_workers>({"streaming.auto_start_workers", "AUTO_START_WORKERS",
                                              "", "BOOL", "", restart,
                                              "start every worker at start-up"}),
        // The same bounds the API applies to PUT /streaming/config/config.
        row<Integer<int>, &C::runtime, &RuntimeConfig::global, &GlobalSettings::cache_ttl_seconds>(
            {"streaming.cache_ttl_seconds", "", "", "SECONDS", "", seed,
             "the floor of the latest-value TTL (a channel's latest message is kept for the "
             "larger of this and three intervals of its data type)"},
            {1, 7 * 86400}),
    };
}

// "`localhost`", "`6379`", "none": a default as the README shows it.
std::string shown_default(const json::value& value) {
    if (value.is_null() || (value.is_array() && value.get_array().empty())) return "none";
    if (value.is_string()) {
        return value.get_string().empty() ? "none" : "`" + std::string(value.get_string()) + "`";
    }
    return "`" + json::serialize(value) + "`";
}

std::vector<Setting> with_defaults(std::vector<Setting> table) {
    const DaemonConfig defaults;
    for (auto& setting : table) {
        if (setting.info.default_text.empty()) {
            setting.info.default_text = shown_default(setting.write_json(defaults));
        }
    }
    return table;
}

}  // namespace

namespace detail {

// Relative paths in a config file mean "next to this file", not "wherever the daemon
// happened to be started".
Result<fs::path> json_path(const json::value& v, const fs::path& base) {
    auto text = json_string(v);
    if (!text) return text.error();
    if (text->empty()) return bad("must not be empty");
    fs::path path = *text;
    if (path.is_relative()) path = (base / path).lexically_normal();
    return path;
}

Result<long long> json_integer(const json::value& v, long long min, long long max) {
    long long value = 0;
    if (v.is_int64()) {
        value = v.get_int64();
    } else if (v.is_uint64()) {
        value = std::numeric_limits<long long>::max();  // out of every range we accept
    } else if (v.is_double() && std::floor(v.get_double()) == v.get_double() &&
               std::abs(v.get_double()) < 1e15) {
        value = static_cast<long long>(v.get_double());
    } else {
        return bad("expected an integer");
    }
    if (value < min || value > max) {
        return bad("must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return value;
}

const std::vector<Setting>& settings() {
    static const std::vector<Setting> table = with_defaults(make_table());
    return table;
}

const Setting* find_flag(std::string_view flag) {
    for (const auto& setting : settings()) {
        if (!flag.empty() && setting.info.flag == flag) return &setting;
    }
    return nullptr;
}

}  // namespace detail

std::string_view to_string(Role role) {
    return name_of(kRoleNames, role);
}

std::optional<Role> parse_role(std::string_view text) {
    return parse_name<Role>(kRoleNames, text);
}

std::optional<bool> parse_bool(std::string_view text) {
    auto word = lower(text);
    if (word == "true" || word == "1" || word == "yes" || word == "on") return true;
    if (word == "false" || word == "0" || word == "no" || word == "off") return false;
    return std::nullopt;
}

std::vector<SettingInfo> setting_infos() {
    std::vector<SettingInfo> infos;
    for (const auto& setting : detail::settings())
        infos.push_back(setting.info);
    return infos;
}

std::string settings_markdown() {
    auto code = [](std::string_view text) {
        return text.empty() ? std::string("—") : "`" + std::string(text) + "`";
    };
    // A '|' inside a cell would end it.
    auto cell = [](std::string text) {
        for (auto at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2))
            text.replace(at, 1, "\\|");
        return text;
    };
    std::string table =
        "| file key | flag | environment | default | takes effect | meaning |\n"
        "|---|---|---|---|---|---|\n";
    for (const auto& setting : detail::settings()) {
        const auto& info = setting.info;
        std::string flag =
            info.flag.empty()
                ? "—"
                : cell("`--" + std::string(info.flag) + " " + std::string(info.value_name) + "`");
        table += "| " + code(info.key) + " | " + flag + " | " + code(info.env) + " | " +
                 info.default_text + " | " + std::string(name_of(kAppliesNames, info.applies)) +
                 " | " + std::string(info.help) + " |\n";
    }
    return table;
}

namespace {

// Text as roff: `code` in bold, backslashes escaped, no line starting with a control
// character; in a name (`literal`) a hyphen is a minus sign, as options and keys need it.
std::string roff_text(std::string_view text, bool literal = false) {
    std::string out = literal ? "\\%" : "";  // \% : never hyphenated
    bool in_code = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        // The help's two non-ASCII characters, as roff names them.
        if (text.substr(i).starts_with("…")) {
            out += "\\&...";
            i += std::string_view("…").size() - 1;
        } else if (text.substr(i).starts_with("—")) {
            out += "\\(em";
            i += std::string_view("—").size() - 1;
        } else if (c == '`') {
            out += in_code ? "\\fR" : "\\fB";
            in_code = !in_code;
        } else if (c == '\\') {
            out += "\\e";
        } else if (c == '-' && literal) {
            out += "\\-";
        } else {
            out += c;
        }
    }
    if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
    return out;
}

std::string roff_entry(const std::string& tag, const SettingInfo& info, std::string_view tail) {
    return ".TP\n" + tag + "\n" + roff_text(info.help) + std::string(tail) + "\n";
}

}  // namespace

std::string settings_roff(ManList list) {
    std::string out;
    for (const auto& setting : detail::settings()) {
        const auto& info = setting.info;
        auto applies = std::string(name_of(kAppliesNames, info.applies));
        std::erase(applies, '`');
        auto value = roff_text(info.value_name);
        auto fallback = roff_text(info.default_text);
        if (list == ManList::file_keys && !info.key.empty()) {
            auto also = info.env.empty() ? std::string()
                                         : "; also \\fB" + roff_text(info.env, true) + "\\fR";
            out +=
                roff_entry("\\fB" + roff_text(info.key, true) + "\\fR \\fI" + value + "\\fR", info,
                           ". Default " + fallback + "; takes effect: " + applies + also + ".");
        } else if (list == ManList::options && !info.flag.empty()) {
            out +=
                roff_entry("\\fB\\-\\-" + roff_text(info.flag, true) + "\\fR \\fI" + value + "\\fR",
                           info, ".");
        } else if (list == ManList::environment && !info.env.empty()) {
            out += roff_entry("\\fB" + roff_text(info.env, true) + "\\fR", info,
                              ". Default " + fallback + ".");
        }
    }
    return out;
}

json::object settings_json(const DaemonConfig& config, std::string_view section) {
    json::object shown;
    std::string prefix = section.empty() ? "" : std::string(section) + ".";
    for (const auto& setting : detail::settings()) {
        std::string_view key = setting.info.key;
        if (key.empty() || setting.secret || setting.info.applies == seed) continue;
        if (!key.starts_with(prefix)) continue;
        key.remove_prefix(prefix.size());
        if (key.find('.') != std::string_view::npos) continue;  // a deeper section
        shown[key] = setting.write_json(config);
    }
    return shown;
}

std::vector<std::string> restart_only_changes(const DaemonConfig& running,
                                              const DaemonConfig& next) {
    std::vector<std::string> changed;
    for (const auto& setting : detail::settings()) {
        if (setting.info.applies != restart || setting.info.key.empty()) continue;
        if (setting.write_json(running) != setting.write_json(next)) {
            changed.emplace_back(setting.info.key);
        }
    }
    return changed;
}

Result<std::pair<std::string, unsigned short>> parse_listen(std::string_view text) {
    const std::string shown = "'" + std::string(text) + "'";
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return bad("expected [IPv6]:PORT, got " + shown);
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return bad("expected HOST:PORT, got " + shown);
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return bad("an IPv6 address needs brackets, as in [::1]:8000, got " + shown);
    }
    if (host.empty()) {
        return bad("the host is missing in " + shown +
                   " (use 127.0.0.1:PORT for loopback, 0.0.0.0:PORT for every interface)");
    }
    auto number =
        port.empty() || port.size() > 5 ||
                !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })
            ? std::nullopt
            : parse_whole_number(port);
    if (!number || *number > 65535) {
        return bad("the port in " + shown + " must be a number 0-65535 (0 = any free port)");
    }
    return std::pair(std::string(host), static_cast<unsigned short>(*number));
}

}  // namespace tickerd::config
