// The settings table: every row is complete and unique, each file key reads back what it
// shows, secrets never show, SIGHUP's restart warning follows the table, and the README's
// configuration table is the one the table generates.
//
// scripts/settings-table.sh runs this test with TICKERD_WRITE_README=1, which rewrites the
// README's table and the man pages' lists instead of comparing them.
#define BOOST_TEST_MODULE config_settings
#include <boost/test/unit_test.hpp>

#include "config/config.hpp"
#include "support/temp_dir.hpp"

#include <boost/json.hpp>

#include <cstdlib>
#include <fstream>
#include <set>

using namespace tickerd;
using namespace tickerd::config;
namespace json = boost::json;

namespace {

// A generated part of a file (the README's table, the man pages' lists): the lines between
// a line holding `begin` and the next line starting with `end`.
struct GeneratedBlock {
    std::string path;
    std::string text;
    std::size_t start = std::string::npos, end = std::string::npos;

    GeneratedBlock(std::string file, std::string_view begin, std::string_view end_marker)
        : path(std::string(TICKERD_SOURCE_DIR) + "/" + std::move(file)) {
        std::ifstream in(path);
        text.assign(std::istreambuf_iterator<char>(in), {});
        auto at = text.find(begin);
        if (at == std::string::npos) return;
        start = text.find('\n', at) + 1;
        end = text.find(end_marker, start);
    }
    bool found() const { return start != std::string::npos && end != std::string::npos; }
    std::string block() const { return text.substr(start, end - start); }

    // With TICKERD_WRITE_README set (scripts/settings-table.sh), rewrites the block; else
    // checks it.
    void check(const std::string& generated) const {
        BOOST_REQUIRE_MESSAGE(found(), path + " has no markers for its generated part");
        if (std::getenv("TICKERD_WRITE_README")) {
            std::ofstream(path) << text.substr(0, start) + generated + text.substr(end);
            return;
        }
        BOOST_TEST(block() == generated,
                   path << "'s generated part is out of date: run scripts/settings-table.sh");
    }
};

DaemonConfig file_config(const std::string& text) {
    DaemonConfig config;
    apply_file(config, text, "/etc/tickerd/tickerd.json");
    return config;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_row_is_complete_and_names_are_unique) {
    std::set<std::string_view> keys, envs, flags;
    for (const auto& info : setting_infos()) {
        BOOST_TEST_CONTEXT(info.key << info.env << info.flag) {
            BOOST_TEST(!(info.key.empty() && info.env.empty() && info.flag.empty()));
            BOOST_TEST(!info.help.empty());
            BOOST_TEST(!info.value_name.empty());
            BOOST_TEST(!info.default_text.empty());
            if (!info.key.empty()) BOOST_TEST(keys.insert(info.key).second);
            if (!info.env.empty()) BOOST_TEST(envs.insert(info.env).second);
            if (!info.flag.empty()) BOOST_TEST(flags.insert(info.flag).second);
        }
    }
    // The contract's names (CONTRACT.md §1) are all there.
    for (auto env : {"TICKERD_CONFIG", "TICKERD_LISTEN", "TICKERD_PLUGIN_DIR", "TICKERD_STATE_DIR",
                     "TICKERD_ROLE", "REDIS_ENABLED", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD",
                     "REDIS_DB", "STREAMING_ENABLED", "AUTO_START_WORKERS"}) {
        BOOST_TEST(envs.contains(env), env);
    }
    for (auto flag : {"config", "listen", "port-file", "plugin-dir", "state-dir", "role"})
        BOOST_TEST(flags.contains(flag), flag);
}

BOOST_AUTO_TEST_CASE(what_the_status_shows_reads_back_from_a_file) {
    auto config = file_config(R"({"listen": "[::1]:9000", "role": "edge", "log_level": "debug",
        "state_dir": "/srv/tickerd", "plugin_dirs": ["/p"],
        "redis": {"enabled": true, "host": "r", "port": 7000, "db": 2,
                  "sentinels": ["s1:26379"], "sentinel_master": "m", "buffer_limit": 5,
                  "lease_ms": 900},
        "streaming": {"enabled": false, "auto_start_workers": true}})");
    // Written back as a file, the shown values give the same config.
    json::object file = settings_json(config, "");
    file["redis"] = settings_json(config, "redis");
    file["streaming"] = settings_json(config, "streaming");
    file["redis"].as_object().erase("socket");  // null: not set
    auto again = file_config(json::serialize(file));
    BOOST_TEST(restart_only_changes(config, again).empty(), json::serialize(file));
    BOOST_TEST((again.log_level == config.log_level));
    BOOST_TEST(again.redis.address.port == 7000);
    BOOST_TEST(again.redis.lease_ms == 900);
    // Secrets and seeds of the state store never show.
    auto secret = file_config(R"({"redis": {"password": "pw", "sentinel_password": "spw"},
                                  "streaming": {"cache_ttl_seconds": 60}})");
    auto shown = json::serialize(settings_json(secret, "redis")) +
                 json::serialize(settings_json(secret, "streaming"));
    BOOST_TEST(shown.find("pw") == std::string::npos, shown);
    BOOST_TEST(shown.find("password") == std::string::npos, shown);
    BOOST_TEST(shown.find("cache_ttl_seconds") == std::string::npos, shown);
}

BOOST_AUTO_TEST_CASE(restart_only_changes_name_each_changed_key) {
    auto running = file_config(R"({"redis": {"host": "a"}, "log_level": "info"})");
    auto next = file_config(R"({"redis": {"host": "b", "password": "new"}, "log_level": "debug",
                                "streaming": {"cache_ttl_seconds": 60}})");
    auto changed = restart_only_changes(running, next);
    // log_level applies on SIGHUP and cache_ttl_seconds only seeds the state store.
    BOOST_TEST(changed == (std::vector<std::string>{"redis.host", "redis.password"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_readme_table_is_the_generated_one) {
    GeneratedBlock("README.md", "<!-- settings table: begin", "<!-- settings table: end -->")
        .check(settings_markdown());
}

BOOST_AUTO_TEST_CASE(the_man_pages_lists_are_the_generated_ones) {
    const char* kEnd = ".\\\" generated: end";
    GeneratedBlock("man/tickerd.json.5", ".\\\" generated: file keys", kEnd)
        .check(settings_roff(ManList::file_keys));
    GeneratedBlock("man/tickerd.8", ".\\\" generated: options", kEnd)
        .check(settings_roff(ManList::options));
    GeneratedBlock("man/tickerd.8", ".\\\" generated: environment", kEnd)
        .check(settings_roff(ManList::environment));
}

BOOST_AUTO_TEST_CASE(help_lists_every_flag_and_variable_of_the_table) {
    auto help = usage();
    for (const auto& info : setting_infos()) {
        if (!info.flag.empty())
            BOOST_TEST(help.find("--" + std::string(info.flag)) != std::string::npos);
        if (!info.env.empty()) BOOST_TEST(help.find(std::string(info.env)) != std::string::npos);
    }
}
