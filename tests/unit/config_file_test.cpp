// apply_file(): the JSON config file. Every key is optional, unknown keys and wrong types
// are refused naming the key's path, and relative paths mean "next to the file".
#define BOOST_TEST_MODULE config_file
#include <boost/test/unit_test.hpp>

#include "config/config.hpp"
#include "support/temp_dir.hpp"

using namespace tickerd;
using namespace tickerd::config;
using tickerd::testing::TempDir;
namespace fs = std::filesystem;

namespace {

DaemonConfig from_text(const std::string& text, const std::string& origin = "/etc/t/t.json") {
    DaemonConfig config;
    apply_file(config, text, origin);
    return config;
}

// Expects apply_file to throw a ConfigError containing `origin` and every one of `needles`.
void expect_error(const std::string& text, std::initializer_list<std::string> needles) {
    const std::string origin = "/etc/t/t.json";
    try {
        from_text(text, origin);
        BOOST_ERROR("expected a ConfigError for " << text);
    } catch (const ConfigError& e) {
        std::string message = e.what();
        BOOST_TEST(message.find(origin) != std::string::npos, "names the file: " << message);
        for (const auto& needle : needles)
            BOOST_TEST(message.find(needle) != std::string::npos,
                       "'" << needle << "' in: " << message);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_empty_object_changes_nothing_but_fills_every_cadence) {
    auto config = from_text("{}");
    DaemonConfig defaults;
    BOOST_TEST(config.listen == defaults.listen);
    BOOST_TEST(!config.vendors_given);
    BOOST_TEST(config.runtime.cadences.size() == kAllDataTypes.size());
}

BOOST_AUTO_TEST_CASE(every_key_is_read) {
    auto config = from_text(R"({
        "listen": "[::1]:9000", "plugin_dirs": ["/p1", "/p2"], "state_dir": "/s",
        "role": "worker", "log_level": "error",
        "redis": {"enabled": true, "host": "r", "port": 7000, "password": "pw", "db": 2,
                  "sentinels": ["s1:26379", "[::1]:26380"], "sentinel_master": "m",
                  "sentinel_password": "spw"},
        "streaming": {"enabled": false, "auto_start_workers": true, "cache_ttl_seconds": 42},
        "vendors": [{"name": "mock_a", "plugin": "mock", "priority": 10, "enabled": false,
                     "settings": {"fail_first": 2}, "timeout_ms": 500, "max_concurrency": 1,
                     "budget": {"per_minute": 5, "per_day": 25}},
                    {"name": "mock-b", "plugin": "mock",
                     "settings": {"budget": {"per_hour": 100}, "latency_ms": 1},
                     "isolation": "process", "limits": {"memory_mb": 256, "cpu_seconds": 60},
                     "restart": {"backoff_ms": 100, "max_backoff_ms": 1000, "bench_after": 3,
                                 "bench_seconds": 30}}],
        "instruments": [{"symbol": "aapl", "data_types": ["market_data", "news"]},
                        {"symbol": "MSFT", "enabled": false}],
        "cadences": {"news": {"interval_seconds": 120, "retry_attempts": 1}}})");
    BOOST_TEST(config.listen == "[::1]:9000");
    BOOST_TEST(config.plugin_dirs == (std::vector<fs::path>{"/p1", "/p2"}));
    BOOST_TEST(config.state_dir == fs::path("/s"));
    BOOST_TEST(to_string(config.role) == "worker");
    BOOST_TEST(log::to_string(config.log_level) == "error");
    BOOST_TEST(config.redis.enabled);
    BOOST_TEST(config.redis.address.host == "r");
    BOOST_TEST(config.redis.address.port == 7000);
    BOOST_TEST(config.redis.address.password == "pw");
    BOOST_TEST(config.redis.address.db == 2);
    BOOST_TEST((config.redis.address.sentinels ==
                std::vector<bus::HostPort>{{"s1", 26379}, {"::1", 26380}}));
    BOOST_TEST(config.redis.address.master_name == "m");
    BOOST_TEST(config.redis.address.sentinel_password == "spw");
    BOOST_TEST(!config.streaming_enabled);
    BOOST_TEST(config.auto_start_workers);
    BOOST_TEST(config.runtime.global.cache_ttl_seconds == 42);

    BOOST_TEST(config.vendors_given);
    BOOST_REQUIRE(config.vendors.size() == 2u);
    const auto& a = config.vendors[0];
    BOOST_TEST(a.name == "mock_a");
    BOOST_TEST(a.plugin == "mock");
    BOOST_TEST(a.priority.value() == 10);
    BOOST_TEST(!a.enabled);
    BOOST_TEST(a.settings.at("fail_first").as_int64() == 2);
    BOOST_TEST(a.timeout_ms == 500);
    BOOST_TEST(a.max_concurrency == 1);
    BOOST_TEST(a.budget.per_minute == 5);
    BOOST_TEST(a.budget.per_hour == 0);
    BOOST_TEST(a.budget.per_day == 25);
    const auto& b = config.vendors[1];
    BOOST_TEST(!b.priority.has_value());
    // A budget written among the plugin's settings is the host's too, and the plugin never
    // sees it.
    BOOST_TEST(b.budget.per_hour == 100);
    BOOST_TEST(!b.settings.contains("budget"));
    BOOST_TEST(b.settings.contains("latency_ms"));
    BOOST_TEST(b.enabled);
    BOOST_TEST(b.timeout_ms == plugins::InstanceConfig{}.timeout_ms);
    BOOST_TEST((a.isolation == isolation::Isolation::in_process));
    BOOST_TEST((b.isolation == isolation::Isolation::process));
    BOOST_TEST(b.limits.memory_mb == 256);
    BOOST_TEST(b.limits.cpu_seconds == 60);
    BOOST_TEST(b.restart.backoff_ms == 100);
    BOOST_TEST(b.restart.max_backoff_ms == 1000);
    BOOST_TEST(b.restart.bench_after == 3);
    BOOST_TEST(b.restart.bench_seconds == 30);

    std::vector<Instrument> instruments(config.runtime.instruments.begin(),
                                        config.runtime.instruments.end());
    BOOST_REQUIRE(instruments.size() == 2u);
    BOOST_TEST(instruments[0].symbol == "AAPL");
    BOOST_TEST(instruments[0].data_types.size() == 2u);
    BOOST_TEST(!instruments[1].enabled);

    // A partial cadence is laid over the default for its data type.
    const auto& news = config.runtime.cadences.at(DataType::news);
    BOOST_TEST(news.interval_seconds == 120);
    BOOST_TEST(news.retry_attempts == 1);
    BOOST_TEST(news.retry_backoff_multiplier ==
               default_cadence(DataType::news).retry_backoff_multiplier);
    BOOST_TEST(news.vendor_fallback);
    BOOST_TEST(config.runtime.cadences.at(DataType::market_data).interval_seconds == 60);
}

BOOST_AUTO_TEST_CASE(an_empty_vendors_list_still_counts_as_given) {
    auto config = from_text(R"({"vendors": []})");
    BOOST_TEST(config.vendors_given);
    BOOST_TEST(config.vendors.empty());
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_named_by_their_path) {
    expect_error(R"({"colour": "blue"})", {"colour: unknown key"});
    expect_error(R"({"streaming": {"enabled": true, "colour": "blue"}})",
                 {"streaming.colour: unknown key"});
    expect_error(R"({"redis": {"hots": "x"}})", {"redis.hots: unknown key"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock"},
                                 {"name": "b", "plugin": "mock", "prority": 1}]})",
                 {"vendors[1].prority: unknown key"});
    expect_error(R"({"instruments": [{"symbol": "AAPL", "colour": 1}]})",
                 {"instruments[0].colour"});
    expect_error(R"({"cadences": {"quotes": {"interval_seconds": 1}}})", {"cadences.quotes"});
    expect_error(R"({"cadences": {"news": {"interval": 1}}})", {"cadences.news.interval"});
}

BOOST_AUTO_TEST_CASE(wrong_types_name_the_path_and_the_expected_type) {
    expect_error(R"({"listen": 8000})", {"listen", "expected a string"});
    expect_error(R"({"plugin_dirs": "/p"})", {"plugin_dirs", "expected a list"});
    expect_error(R"({"plugin_dirs": ["/p", 3]})", {"plugin_dirs[1]", "expected a string"});
    expect_error(R"({"redis": {"port": "6379"}})", {"redis.port", "expected an integer"});
    expect_error(R"({"redis": {"enabled": "yes"}})", {"redis.enabled", "true or false"});
    expect_error(R"({"redis": []})", {"redis", "expected an object"});
    expect_error(R"({"redis": {"sentinels": "s1:26379"}})", {"redis.sentinels", "a list"});
    expect_error(R"({"redis": {"sentinels": ["s1"]}})", {"redis.sentinels", "HOST:PORT"});
    expect_error(R"({"streaming": {"enabled": 1}})", {"streaming.enabled"});
    expect_error(R"({"vendors": {}})", {"vendors", "expected a list"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "settings": []}]})",
                 {"vendors[0].settings", "expected an object"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "priority": 1.5}]})",
                 {"vendors[0].priority", "expected an integer"});
    expect_error(R"({"instruments": [{"symbol": "AAPL", "enabled": "no"}]})",
                 {"instruments[0].enabled"});
    expect_error(R"({"cadences": {"news": {"interval_seconds": "fast"}}})",
                 {"cadences.news.interval_seconds"});
    expect_error(R"([1, 2])", {"top level"});
}

BOOST_AUTO_TEST_CASE(bad_values_name_the_path) {
    expect_error(R"({"listen": "localhost"})", {"listen", "HOST:PORT"});
    expect_error(R"({"listen": "127.0.0.1:70000"})", {"listen", "70000"});
    expect_error(R"({"role": "boss"})", {"role", "boss"});
    expect_error(R"({"log_level": "chatty"})", {"log_level", "chatty"});
    expect_error(R"({"redis": {"port": 0}})", {"redis.port", "between 1 and 65535"});
    expect_error(R"({"redis": {"port": 70000}})", {"redis.port"});
    expect_error(R"({"redis": {"db": -1}})", {"redis.db"});
    expect_error(R"({"streaming": {"cache_ttl_seconds": 0}})", {"streaming.cache_ttl_seconds"});
    expect_error(R"({"vendors": [{"plugin": "mock"}]})", {"vendors[0].name", "required"});
    expect_error(R"({"vendors": [{"name": "a"}]})", {"vendors[0].plugin", "required"});
    expect_error(R"({"vendors": [{"name": "Mock A", "plugin": "mock"}]})",
                 {"vendors[0].name", "Mock A"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "timeout_ms": 0}]})",
                 {"vendors[0].timeout_ms"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "max_concurrency": 0}]})",
                 {"vendors[0].max_concurrency"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "budget": {"per_day": -1}}]})",
                 {"vendors[0].budget.per_day"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "budget": {"daily": 5}}]})",
                 {"vendors[0].budget", "daily"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "budget": 25}]})",
                 {"vendors[0].budget"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock"}, {"name": "a", "plugin": "x"}]})",
                 {"vendors[1].name", "duplicate"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "isolation": "thread"}]})",
                 {"vendors[0].isolation", "in_process or process", "thread"});
    // Only a runner process has limits and restarts.
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "limits": {"memory_mb": 9}}]})",
                 {"vendors[0].limits", "\"isolation\": \"process\""});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "isolation": "process",
                                  "limits": {"memory_mb": -1}}]})",
                 {"vendors[0].limits.memory_mb"});
    expect_error(R"({"vendors": [{"name": "a", "plugin": "mock", "isolation": "process",
                                  "restart": {"tries": 3}}]})",
                 {"vendors[0].restart", "tries"});
    expect_error(R"({"instruments": [{"symbol": "AAPL"}, {"symbol": "aapl"}]})",
                 {"instruments[1].symbol", "duplicate", "AAPL"});
    expect_error(R"({"instruments": [{"symbol": "A B"}]})", {"instruments[0].symbol"});
    expect_error(R"({"instruments": [{"data_types": ["news"]}]})", {"instruments[0].symbol"});
    expect_error(R"({"instruments": [{"symbol": "AAPL", "data_types": ["quotes"]}]})",
                 {"instruments[0].data_types[0]", "quotes"});
    expect_error(R"({"cadences": {"news": {"interval_seconds": 0}}})",
                 {"cadences.news.interval_seconds"});
    expect_error(R"({"cadences": {"news": {"data_type": "market_data"}}})",
                 {"cadences.news.data_type"});
}

BOOST_AUTO_TEST_CASE(malformed_json_says_where) {
    expect_error("{\n  \"listen\": \"127.0.0.1:8000\",\n  oops\n}", {"invalid JSON", "line 3"});
    expect_error(R"({"instruments": [)", {"invalid JSON"});
    expect_error("", {"invalid JSON"});
}

BOOST_AUTO_TEST_CASE(a_refused_file_leaves_the_config_as_it_was) {
    DaemonConfig config;
    config.role = Role::edge;
    BOOST_CHECK_THROW(apply_file(config, R"({"role": "worker", "colour": 1})", "x.json"),
                      ConfigError);
    BOOST_CHECK_THROW(apply_file(config, R"({"role": "worker", "redis": {"port": 0}})", "x.json"),
                      ConfigError);
    BOOST_TEST(to_string(config.role) == "edge");
    BOOST_TEST(config.redis.address.port == 6379);
}

BOOST_AUTO_TEST_CASE(relative_paths_are_relative_to_the_file) {
    auto config =
        from_text(R"({"state_dir": "var/state", "plugin_dirs": ["plugins", "../shared", "/abs"]})",
                  "/etc/tickerd/tickerd.json");
    BOOST_TEST(config.state_dir == fs::path("/etc/tickerd/var/state"));
    BOOST_TEST(config.plugin_dirs ==
               (std::vector<fs::path>{"/etc/tickerd/plugins", "/etc/shared", "/abs"}));

    // Through load(), with a file named by a relative path.
    TempDir dir("tickerd-config");
    auto file = dir.write("conf/tickerd.json", R"({"state_dir": "state"})");
    const char* argv[] = {"tickerd", "--config", file.c_str()};
    auto loaded = load(
        3, argv, [](const std::string&) { return std::nullopt; }, InstallDefaults{{}, "/default"});
    BOOST_TEST(loaded.state_dir == dir.path() / "conf" / "state");
}

BOOST_AUTO_TEST_CASE(shipped_config_files_load) {
    for (auto name : {"etc/tickerd.json", "etc/quickstart.json"}) {
        BOOST_TEST_CONTEXT(name) {
            fs::path file = fs::path(TICKERD_SOURCE_DIR) / name;
            const char* argv[] = {"tickerd", "--config", file.c_str()};
            auto config = load(
                3, argv, [](const std::string&) { return std::nullopt; },
                InstallDefaults{{"/vendors"}, "/state"});
            BOOST_TEST(config.listen == "127.0.0.1:8000");
            // The quick start names the mock alone, so it never reaches for the network.
            BOOST_TEST(config.vendors_given == (std::string_view(name) == "etc/quickstart.json"));
            BOOST_TEST(config.runtime.instruments.size() >= 2u);
            BOOST_TEST(config.runtime.cadences.size() == kAllDataTypes.size());
        }
    }
}

BOOST_AUTO_TEST_CASE(alerts_and_their_webhooks) {
    auto config = from_text(R"({"alerts": {"worker_failures": 3, "redis_down_seconds": 10,
        "webhooks": [{"url": "https://hooks.example.com/t", "secret_file": "hook.secret"},
                     {"url": "http://127.0.0.1:9/x", "secret": "s", "rules": ["redis_*"]}]}})",
                            "/etc/t/t.json");
    BOOST_TEST(config.alerts.worker_failures == 3);
    BOOST_TEST(config.alerts.redis_down.count() == 10);
    BOOST_TEST_REQUIRE(config.alerts.webhooks.size() == 2u);
    BOOST_TEST(config.alerts.webhooks[0].secret_file == "/etc/t/hook.secret");  // next to the file
    BOOST_TEST(config.alerts.webhooks[0].rules == (std::vector<std::string>{"*"}));
    BOOST_TEST(config.alerts.webhooks[1].rules == (std::vector<std::string>{"redis_*"}));
    expect_error(R"({"alerts": {"webhooks": [{"url": "ftp://x", "secret": "s"}]}})",
                 {"alerts.webhooks[0].url", "http"});
    expect_error(R"({"alerts": {"webhooks": [{"url": "http://x"}]}})",
                 {"alerts.webhooks[0]", "secret"});
    expect_error(R"({"alerts": {"webhooks": [{"url": "http://x", "secret": "s", "colour": 1}]}})",
                 {"colour"});
    expect_error(R"({"alerts": {"worker_failures": 0}})", {"alerts.worker_failures"});
}
