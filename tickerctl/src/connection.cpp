#include "connection.hpp"

#include <boost/json/parse.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tickerctl {

namespace json = boost::json;

namespace {

std::optional<std::string> environment(const char* name) {
    const char* value = std::getenv(name);
    if (!value || !*value) return std::nullopt;
    return std::string(value);
}

// What the user's cli.json says; every key optional.
struct FileSettings {
    std::optional<std::string> url;
    std::optional<std::string> credential;
    std::optional<std::string> ca_file;
};

Outcome<std::optional<std::string>> string_field(const json::object& object, const char* key,
                                                 const std::string& file) {
    const auto* value = object.if_contains(key);
    if (!value) return std::optional<std::string>();
    if (!value->is_string()) return Failure::usage(file + ": \"" + key + "\" must be a string");
    return std::optional<std::string>(std::string(value->get_string()));
}

Outcome<FileSettings> read_settings_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) return FileSettings{};  // no file: nothing to add
    std::stringstream text;
    text << in.rdbuf();
    auto name = path.string();
    boost::system::error_code ec;
    auto value = json::parse(text.str(), ec);
    if (ec) return Failure::usage(name + ": not valid JSON (" + ec.message() + ")");
    if (!value.is_object()) return Failure::usage(name + ": expected a JSON object");
    const auto& object = value.get_object();
    for (const auto& [key, item] : object) {
        if (key != "url" && key != "token" && key != "api_key" && key != "cacert") {
            return Failure::usage(name + ": unknown key \"" + std::string(key) +
                                  "\" (expected url, token, api_key, cacert)");
        }
    }
    FileSettings settings;
    auto url = string_field(object, "url", name);
    auto token = string_field(object, "token", name);
    auto key = string_field(object, "api_key", name);
    auto ca = string_field(object, "cacert", name);
    for (const auto* field : {&url, &token, &key, &ca}) {
        if (!*field) return field->error();
    }
    settings.url = *url;
    settings.credential = *token ? *token : *key;
    settings.ca_file = *ca;
    return settings;
}

// --token and --api-key are the same thing under two names; giving both is a mistake.
Outcome<std::optional<std::string>> credential_flag(const Invocation& invocation) {
    auto token = invocation.option("token");
    auto key = invocation.option("api-key");
    if (token && key) return Failure::usage("give --token or --api-key, not both");
    return token ? token : key;
}

template <class T>
T first_of(std::optional<T> a, std::optional<T> b, std::optional<T> c, T fallback) {
    if (a) return *a;
    if (b) return *b;
    if (c) return *c;
    return fallback;
}

}  // namespace

std::string Url::host_header() const {
    bool ipv6 = host.find(':') != std::string::npos;
    auto name = ipv6 ? "[" + host + "]" : host;
    bool default_port = port == (tls ? "443" : "80");
    return default_port ? name : name + ":" + port;
}

Outcome<Url> parse_url(std::string_view text) {
    Url url;
    url.text = text;
    auto bad = [&](const std::string& why) {
        return Failure::usage("URL '" + std::string(text) + "': " + why);
    };
    if (text.starts_with("https://")) {
        url.tls = true;
        text.remove_prefix(8);
    } else if (text.starts_with("http://")) {
        text.remove_prefix(7);
    } else {
        return bad("expected http:// or https://");
    }
    auto slash = text.find('/');
    auto authority = text.substr(0, slash);
    url.base_path = slash == std::string_view::npos ? "" : std::string(text.substr(slash));
    while (url.base_path.ends_with('/'))
        url.base_path.pop_back();
    std::string_view port;
    if (authority.starts_with('[')) {
        auto close = authority.find(']');
        if (close == std::string_view::npos) return bad("unclosed '['");
        url.host = authority.substr(1, close - 1);
        auto rest = authority.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':')) return bad("expected ':' after ']'");
        if (!rest.empty()) port = rest.substr(1);
    } else {
        auto colon = authority.rfind(':');
        url.host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (url.host.empty()) return bad("no host");
    if (port.empty()) port = url.tls ? "443" : "80";
    if (port.find_first_not_of("0123456789") != std::string_view::npos || port.size() > 5) {
        return bad("the port must be a number");
    }
    url.port = port;
    return url;
}

std::optional<std::filesystem::path> cli_config_path() {
    if (auto xdg = environment("XDG_CONFIG_HOME"); xdg && xdg->starts_with('/')) {
        return std::filesystem::path(*xdg) / "tickerd" / "cli.json";
    }
    if (auto home = environment("HOME")) {
        return std::filesystem::path(*home) / ".config" / "tickerd" / "cli.json";
    }
    return std::nullopt;
}

Outcome<ConnectionSettings> resolve_connection(const Invocation& invocation) {
    FileSettings file;
    if (auto path = cli_config_path()) {
        auto read = read_settings_file(*path);
        if (!read) return read.error();
        file = std::move(*read);
    }
    auto flag_credential = credential_flag(invocation);
    if (!flag_credential) return flag_credential.error();
    auto env_credential = environment("TICKERD_TOKEN");
    if (!env_credential) env_credential = environment("TICKERD_API_KEY");

    ConnectionSettings settings;
    auto url = parse_url(first_of(invocation.option("url"), environment("TICKERD_URL"), file.url,
                                  std::string(kDefaultUrl)));
    if (!url) return url.error();
    settings.url = std::move(*url);
    settings.credential =
        first_of(*flag_credential, env_credential, file.credential, std::string());
    if (auto timeout = invocation.option("timeout")) {
        auto seconds = parse_seconds("--timeout", *timeout);
        if (!seconds) return seconds.error();
        settings.timeout = std::chrono::milliseconds(static_cast<long>(*seconds * 1000));
    }
    settings.ca_file = invocation.has("cacert") ? invocation.option("cacert") : file.ca_file;
    settings.verify_certificate = !invocation.has("insecure");
    return settings;
}

}  // namespace tickerctl
