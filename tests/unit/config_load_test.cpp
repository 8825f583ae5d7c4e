// load(): flags beat the environment, which beats the config file, which beats the built-in
// defaults, key by key; every bad value is refused with a message naming where it came from.
#define BOOST_TEST_MODULE config_load
#include <boost/test/unit_test.hpp>

#include "config/config.hpp"
#include "support/temp_dir.hpp"

#include <map>

using namespace tickerd;
using namespace tickerd::config;
using tickerd::testing::TempDir;
namespace fs = std::filesystem;

namespace {

using Vars = std::map<std::string, std::string>;

Environment env_of(Vars vars) {
    return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        auto found = vars.find(name);
        if (found == vars.end()) return std::nullopt;
        return found->second;
    };
}

const InstallDefaults kDefaults{{"/opt/tickerd/vendors"}, "/var/lib/tickerd"};

DaemonConfig load_with(std::vector<std::string> args, Vars vars = {}) {
    std::vector<const char*> argv{"tickerd"};
    for (const auto& arg : args)
        argv.push_back(arg.c_str());
    return load(static_cast<int>(argv.size()), argv.data(), env_of(std::move(vars)), kDefaults);
}

// Runs `load` expecting a ConfigError whose message contains every one of `needles`.
void expect_error(std::vector<std::string> args, Vars vars,
                  std::initializer_list<std::string> needles) {
    try {
        load_with(std::move(args), std::move(vars));
        BOOST_ERROR("expected a ConfigError");
    } catch (const ConfigError& e) {
        std::string message = e.what();
        for (const auto& needle : needles)
            BOOST_TEST(message.find(needle) != std::string::npos,
                       "'" << needle << "' in: " << message);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(built_in_defaults_without_file_env_or_flags) {
    auto config = load_with({});
    BOOST_TEST(config.listen == "127.0.0.1:8000");
    BOOST_TEST(config.plugin_dirs == kDefaults.plugin_dirs);
    BOOST_TEST(config.state_dir == kDefaults.state_dir);
    BOOST_TEST(to_string(config.role) == "all");
    BOOST_TEST(log::to_string(config.log_level) == "info");
    BOOST_TEST(!config.config_path);
    BOOST_TEST(!config.redis.enabled);
    BOOST_TEST(config.redis.address.host == "localhost");
    BOOST_TEST(config.redis.address.port == 6379);
    BOOST_TEST(config.streaming_enabled);
    BOOST_TEST(!config.auto_start_workers);
    BOOST_TEST(!config.vendors_given);
    BOOST_TEST(config.runtime.cadences.size() == kAllDataTypes.size());
    BOOST_TEST(config.runtime.cadences.at(DataType::fundamentals).interval_seconds == 3600);
}

BOOST_AUTO_TEST_CASE(flag_beats_env_beats_file_beats_default_per_key) {
    TempDir dir("tickerd-config");
    auto file = dir.write("tickerd.json", R"({
        "listen": "127.0.0.1:1001", "role": "worker", "log_level": "debug",
        "state_dir": "/file/state", "plugin_dirs": ["/file/plugins"],
        "redis": {"host": "file-redis", "port": 1111, "db": 1},
        "streaming": {"enabled": false, "auto_start_workers": false}})");
    Vars env{{"TICKERD_CONFIG", file.string()},
             {"TICKERD_LISTEN", "127.0.0.1:2002"},
             {"TICKERD_ROLE", "edge"},
             {"TICKERD_STATE_DIR", "/env/state"},
             {"REDIS_PORT", "2222"},
             {"AUTO_START_WORKERS", "yes"}};
    auto config = load_with({"--listen", "127.0.0.1:3003", "--state-dir=/flag/state"}, env);
    BOOST_TEST(config.listen == "127.0.0.1:3003");            // flag over env and file
    BOOST_TEST(config.state_dir == fs::path("/flag/state"));  // flag over env and file
    BOOST_TEST(to_string(config.role) == "edge");             // env over file
    BOOST_TEST(config.redis.address.port == 2222);            // env over file
    BOOST_TEST(config.auto_start_workers);                    // env over file
    BOOST_TEST(log::to_string(config.log_level) == "debug");  // file over default
    BOOST_TEST(config.redis.address.host == "file-redis");    // file over default
    BOOST_TEST(config.redis.address.db == 1);                 // file over default
    BOOST_TEST(!config.streaming_enabled);                    // file over default
    BOOST_TEST(config.plugin_dirs == std::vector<fs::path>{"/file/plugins"});
    BOOST_TEST(config.config_path.value() == file);

    auto without_flags = load_with({}, env);
    BOOST_TEST(without_flags.listen == "127.0.0.1:2002");
    BOOST_TEST(without_flags.state_dir == fs::path("/env/state"));
}

BOOST_AUTO_TEST_CASE(config_flag_beats_config_variable) {
    TempDir dir("tickerd-config");
    auto from_env = dir.write("env.json", R"({"role": "worker"})");
    auto from_flag = dir.write("flag.json", R"({"role": "edge"})");
    auto config =
        load_with({"--config", from_flag.string()}, {{"TICKERD_CONFIG", from_env.string()}});
    BOOST_TEST(to_string(config.role) == "edge");
    BOOST_TEST(config.config_path.value() == from_flag);
}

BOOST_AUTO_TEST_CASE(plugin_dirs_repeat_as_flags_and_split_on_colons_in_env) {
    auto from_env = load_with({}, {{"TICKERD_PLUGIN_DIR", "/a::/b:"}});
    BOOST_TEST(from_env.plugin_dirs == (std::vector<fs::path>{"/a", "/b"}));
    auto from_flags =
        load_with({"--plugin-dir", "/x", "--plugin-dir=/y"}, {{"TICKERD_PLUGIN_DIR", "/a"}});
    BOOST_TEST(from_flags.plugin_dirs == (std::vector<fs::path>{"/x", "/y"}));
}

BOOST_AUTO_TEST_CASE(systemd_state_directory_is_used_when_ours_is_unset) {
    auto systemd = load_with({}, {{"STATE_DIRECTORY", "/var/lib/tickerd:/var/lib/other"}});
    BOOST_TEST(systemd.state_dir == fs::path("/var/lib/tickerd"));
    auto ours = load_with(
        {}, {{"STATE_DIRECTORY", "/var/lib/tickerd"}, {"TICKERD_STATE_DIR", "/srv/tickerd"}});
    BOOST_TEST(ours.state_dir == fs::path("/srv/tickerd"));
}

BOOST_AUTO_TEST_CASE(environment_values_are_read_and_typed) {
    auto config = load_with({}, {{"REDIS_ENABLED", "TRUE"},
                                 {"REDIS_HOST", "redis.internal"},
                                 {"REDIS_PORT", "6380"},
                                 {"REDIS_PASSWORD", "s3cret"},
                                 {"REDIS_DB", "3"},
                                 {"STREAMING_ENABLED", "off"},
                                 {"TICKERD_LOG_LEVEL", "warning"}});
    BOOST_TEST(config.redis.enabled);
    BOOST_TEST(config.redis.address.host == "redis.internal");
    BOOST_TEST(config.redis.address.port == 6380);
    BOOST_TEST(config.redis.address.password == "s3cret");
    BOOST_TEST(config.redis.address.db == 3);
    BOOST_TEST(!config.streaming_enabled);
    BOOST_TEST(log::to_string(config.log_level) == "warning");
}

BOOST_AUTO_TEST_CASE(sentinels_are_a_comma_separated_list_of_host_ports) {
    auto config = load_with({}, {{"REDIS_SENTINELS", "10.0.0.1:26379,,sentinel-b:26380"},
                                 {"REDIS_SENTINEL_MASTER", "prices"},
                                 {"REDIS_SENTINEL_PASSWORD", "pw"}});
    BOOST_TEST((config.redis.address.sentinels ==
                std::vector<bus::HostPort>{{"10.0.0.1", 26379}, {"sentinel-b", 26380}}));
    BOOST_TEST(config.redis.address.master_name == "prices");
    BOOST_TEST(config.redis.address.sentinel_password == "pw");
    BOOST_TEST(load_with({}, {}).redis.address.master_name == "mymaster");
    expect_error({}, {{"REDIS_SENTINELS", "10.0.0.1"}}, {"REDIS_SENTINELS", "HOST:PORT"});
    expect_error({}, {{"REDIS_SENTINELS", "a:1"}, {"REDIS_SOCKET", "/run/redis.sock"}},
                 {"sentinels and a unix socket"});
}

BOOST_AUTO_TEST_CASE(read_from_is_the_primary_any_replica_or_one_replica) {
    using Node = bus::ReadFrom::Node;
    BOOST_TEST((load_with({}, {}).redis.read_from.node == Node::primary));
    BOOST_TEST((load_with({}, {{"REDIS_READ_FROM", "replica"}}).redis.read_from.node ==
                Node::any_replica));
    auto one = load_with({}, {{"REDIS_READ_FROM", "10.1.0.5:6380"}}).redis.read_from;
    BOOST_TEST((one.node == Node::replica_at));
    BOOST_TEST((one.replica == bus::HostPort{"10.1.0.5", 6380}));
    BOOST_TEST(one.describe() == "10.1.0.5:6380");
    expect_error({}, {{"REDIS_READ_FROM", "replicas"}},
                 {"REDIS_READ_FROM", "primary, replica or a replica's HOST:PORT"});
}

BOOST_AUTO_TEST_CASE(booleans_accept_the_usual_spellings_in_any_case) {
    for (auto yes : {"true", "1", "yes", "on", "TRUE", "Yes", "oN"})
        BOOST_TEST((parse_bool(yes) == std::optional<bool>(true)), yes);
    for (auto no : {"false", "0", "no", "off", "FALSE", "No", "OFF"})
        BOOST_TEST((parse_bool(no) == std::optional<bool>(false)), no);
    for (auto neither : {"maybe", "", "2", "y", "truee"})
        BOOST_TEST(!parse_bool(neither).has_value(), neither);
}

BOOST_AUTO_TEST_CASE(bad_environment_values_name_the_variable) {
    expect_error({}, {{"REDIS_ENABLED", "maybe"}},
                 {"REDIS_ENABLED: expected a boolean, got 'maybe'"});
    expect_error({}, {{"STREAMING_ENABLED", "sometimes"}}, {"STREAMING_ENABLED", "sometimes"});
    expect_error({}, {{"AUTO_START_WORKERS", "2"}}, {"AUTO_START_WORKERS"});
    expect_error({}, {{"REDIS_PORT", "0"}}, {"REDIS_PORT", "'0'"});
    expect_error({}, {{"REDIS_PORT", "65536"}}, {"REDIS_PORT"});
    expect_error({}, {{"REDIS_PORT", "80x"}}, {"REDIS_PORT"});
    expect_error({}, {{"REDIS_DB", "-1"}}, {"REDIS_DB"});
    expect_error({}, {{"TICKERD_LISTEN", "localhost"}}, {"TICKERD_LISTEN"});
    expect_error({}, {{"TICKERD_ROLE", "boss"}}, {"TICKERD_ROLE", "boss"});
    expect_error({}, {{"TICKERD_LOG_LEVEL", "loud"}}, {"TICKERD_LOG_LEVEL", "loud"});
}

BOOST_AUTO_TEST_CASE(bad_flags_name_the_flag) {
    expect_error({"--colour", "blue"}, {}, {"--colour"});
    expect_error({"--listen"}, {}, {"--listen", "missing value"});
    expect_error({"--listen", "--role", "all"}, {}, {"--listen", "missing value"});
    expect_error({"--listen", "127.0.0.1:99999"}, {}, {"--listen"});
    expect_error({"--role", "boss"}, {}, {"--role", "boss"});
    expect_error({"--log-level=chatty"}, {}, {"--log-level", "chatty"});
    expect_error({"--version=2"}, {}, {"--version"});
    expect_error({"stray"}, {}, {"stray"});
}

BOOST_AUTO_TEST_CASE(help_version_and_check_config_are_reported) {
    BOOST_TEST((load_with({"--help"}).command == Command::show_help));
    BOOST_TEST((load_with({"-h"}).command == Command::show_help));
    BOOST_TEST((load_with({"--version"}).command == Command::show_version));
    BOOST_TEST((load_with({"--check-config"}).command == Command::check_config));
    // --help answers even when the rest of the configuration is broken.
    BOOST_TEST((load_with({"--help"}, {{"REDIS_ENABLED", "maybe"}}).command == Command::show_help));
    auto port_file = load_with({"--port-file", "/run/tickerd.port"});
    BOOST_TEST(port_file.port_file.value() == fs::path("/run/tickerd.port"));
}

BOOST_AUTO_TEST_CASE(usage_lists_every_flag_and_variable) {
    auto text = usage();
    for (auto name : {"--config",
                      "--listen",
                      "--port-file",
                      "--plugin-dir",
                      "--state-dir",
                      "--role",
                      "--log-level",
                      "--check-config",
                      "--version",
                      "--help",
                      "-h",
                      "TICKERD_CONFIG",
                      "TICKERD_LISTEN",
                      "TICKERD_PLUGIN_DIR",
                      "TICKERD_STATE_DIR",
                      "STATE_DIRECTORY",
                      "TICKERD_ROLE",
                      "TICKERD_LOG_LEVEL",
                      "REDIS_ENABLED",
                      "REDIS_HOST",
                      "REDIS_PORT",
                      "REDIS_PASSWORD",
                      "REDIS_DB",
                      "REDIS_SENTINELS",
                      "REDIS_SENTINEL_MASTER",
                      "STREAMING_ENABLED",
                      "AUTO_START_WORKERS"}) {
        BOOST_TEST(text.find(name) != std::string::npos, name);
    }
}

BOOST_AUTO_TEST_CASE(unreadable_config_file_names_the_path) {
    TempDir dir("tickerd-config");
    auto missing = (dir / "nope.json").string();
    expect_error({"--config", missing}, {}, {missing});
    expect_error({"--config", dir.path().string()}, {}, {dir.path().string(), "folder"});
}

BOOST_AUTO_TEST_CASE(listen_forms) {
    using HostPort = std::pair<std::string, unsigned short>;
    BOOST_TEST((parse_listen("127.0.0.1:8000").value() == HostPort{"127.0.0.1", 8000}));
    BOOST_TEST((parse_listen("localhost:0").value() == HostPort{"localhost", 0}));
    BOOST_TEST((parse_listen("[::1]:8000").value() == HostPort{"::1", 8000}));
    BOOST_TEST((parse_listen("0.0.0.0:65535").value() == HostPort{"0.0.0.0", 65535}));
    for (auto bad : {"nonsense", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:65536", ":8000",
                     "::1:8000", "[::1]8000", "[::1]:", "[::1", "127.0.0.1:-1", "127.0.0.1:80a",
                     "127.0.0.1:000008000", ""}) {
        auto parsed = parse_listen(bad);
        BOOST_TEST(!parsed, bad);
        if (!parsed)
            BOOST_TEST(parsed.error().detail.find(std::string("'") + bad + "'") !=
                       std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(process_environment_reads_the_real_environment) {
    ::setenv("TICKERD_CONFIG_TEST_VARIABLE", "value", 1);
    auto env = process_environment();
    BOOST_TEST(env("TICKERD_CONFIG_TEST_VARIABLE").value() == "value");
    BOOST_TEST(!env("TICKERD_CONFIG_TEST_UNSET_VARIABLE").has_value());
}

BOOST_AUTO_TEST_CASE(insecure_plugin_files_load_only_when_the_file_or_the_environment_says_so) {
    BOOST_TEST(!load_with({}).plugin_host.allow_insecure_files, "strict by default");
    TempDir dir("tickerd-config");
    auto file = dir.write("tickerd.json", R"({"plugins": {"allow_insecure_files": true}})");
    BOOST_TEST(load_with({"--config", file.string()}).plugin_host.allow_insecure_files);
    BOOST_TEST(load_with({}, {{"TICKERD_ALLOW_INSECURE_PLUGINS", "yes"}})
                   .plugin_host.allow_insecure_files);
    BOOST_TEST(!load_with({"--config", file.string()}, {{"TICKERD_ALLOW_INSECURE_PLUGINS", "0"}})
                    .plugin_host.allow_insecure_files);
    expect_error({}, {{"TICKERD_ALLOW_INSECURE_PLUGINS", "maybe"}},
                 {"TICKERD_ALLOW_INSECURE_PLUGINS", "expected a boolean"});
}
