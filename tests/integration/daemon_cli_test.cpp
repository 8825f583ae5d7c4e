// The daemon's command line (CONTRACT.md §1): --version, --check-config, bad flags, and a
// plugin folder holding a file that is not a plugin.
#define BOOST_TEST_MODULE daemon_cli
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <sstream>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string text(const json::value& root, std::string_view pointer) {
    const auto* found = find_path(root, pointer);
    return found && found->is_string() ? std::string(found->as_string()) : std::string();
}

std::vector<std::string> check_config_args(const std::filesystem::path& config) {
    return {"--check-config", "--config", config.string(), "--plugin-dir", TICKERD_TEST_VENDOR_DIR};
}

}  // namespace

BOOST_AUTO_TEST_CASE(version_names_the_release_and_the_plugin_abi) {
    auto result = run_daemon_command({"--version"});
    BOOST_TEST(result.status.success(), describe(result.status) << "\n" << result.output);
    BOOST_TEST(contains(result.output, TICKERD_VERSION), result.output);
    BOOST_TEST(contains(result.output, "ABI"), result.output);
    BOOST_TEST(contains(result.output, "1.0"), result.output);
}

BOOST_AUTO_TEST_CASE(check_config_accepts_a_good_config) {
    TempDir dir("tickerd-cli");
    auto config = write_config(
        dir, {{"streaming", {{"enabled", true}, {"auto_start_workers", false}}},
              {"vendors",
               {{{"name", "mock_a"},
                 {"plugin", "mock"},
                 {"priority", 10},
                 {"settings", {{"fail_first", 1}, {"latency_ms", 5}}}}}},
              {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data", "news"}}}}},
              {"cadences", {{"news", {{"interval_seconds", 120}, {"retry_attempts", 2}}}}}});
    auto result = run_daemon_command(check_config_args(config));
    BOOST_TEST(result.status.success(), describe(result.status) << "\n" << result.output);
    BOOST_TEST(contains(result.output,
                        "simulated: vendor 'mock_a' (plugin mock) serves simulated "
                        "data; its messages carry \"metadata\": {\"simulated\": "
                        "true}"),
               result.output);
}

BOOST_AUTO_TEST_CASE(check_config_says_an_unnamed_simulated_plugin_is_not_used) {
    TempDir dir("tickerd-cli");
    auto config = write_config(dir, {{"streaming", {{"enabled", true}}}});
    auto result = run_daemon_command(check_config_args(config));
    BOOST_TEST(result.status.success(), describe(result.status) << "\n" << result.output);
    BOOST_TEST(contains(result.output,
                        "simulated: plugin mock serves simulated data and is not "
                        "used (no \"vendors\" entry names it)"),
               result.output);
}

BOOST_AUTO_TEST_CASE(check_config_names_a_webhook_secret_file_it_cannot_read) {
    TempDir dir("tickerd-cli");
    auto config = write_config(
        dir, {{"alerts",
               {{"webhooks",
                 {{{"url", "http://127.0.0.1:9/hook"}, {"secret_file", "missing.secret"}}}}}}});
    auto result = run_daemon_command(check_config_args(config));
    BOOST_TEST(result.status.exited);
    BOOST_TEST(result.status.code == 1, result.output);
    BOOST_TEST(contains(result.output, "problem: alerts.webhooks[0].secret_file"), result.output);
    BOOST_TEST(contains(result.output, "missing.secret"), result.output);
}

// With every packaged plugin installed: the default config never runs the mock, the quick
// start's runs it alone.
BOOST_AUTO_TEST_CASE(the_shipped_configs_run_the_mock_only_in_the_quick_start) {
    auto check = [](const std::string& config) {
        return run_daemon_command({"--check-config", "--config",
                                   std::string(TICKERD_SOURCE_DIR) + "/etc/" + config,
                                   "--plugin-dir", TICKERD_ALL_VENDORS_DIR})
            .output;
    };
    auto packaged = check("tickerd.json");
    BOOST_TEST(contains(packaged, "simulated: plugin mock serves simulated data and is not used"),
               packaged);
    BOOST_TEST(!contains(packaged, "vendor 'mock'"), packaged);
    auto quickstart = check("quickstart.json");
    BOOST_TEST(contains(quickstart, "simulated: vendor 'mock' (plugin mock)"), quickstart);
    BOOST_TEST(contains(quickstart, "configuration OK"), quickstart);
}

BOOST_AUTO_TEST_CASE(check_config_names_an_unknown_key) {
    TempDir dir("tickerd-cli");
    auto config = write_config(dir, {{"streaming", {{"enabled", true}, {"colour", "blue"}}}});
    auto result = run_daemon_command(check_config_args(config));
    BOOST_TEST(result.status.exited);
    BOOST_TEST(result.status.code == 1, describe(result.status) << "\n" << result.output);
    BOOST_TEST(contains(result.output, "colour"), result.output);
    BOOST_TEST(contains(result.output, "streaming"), "the key's path: " << result.output);
}

BOOST_AUTO_TEST_CASE(check_config_refuses_bad_vendor_settings) {
    TempDir dir("tickerd-cli");
    auto config = write_config(
        dir, {{"vendors",
               {{{"name", "mock_a"}, {"plugin", "mock"}, {"settings", {{"fail_sometimes", 1}}}}}}});
    auto result = run_daemon_command(check_config_args(config));
    BOOST_TEST(result.status.code == 1, describe(result.status) << "\n" << result.output);
    BOOST_TEST(contains(result.output, "fail_sometimes"), result.output);
}

BOOST_AUTO_TEST_CASE(check_config_on_malformed_json) {
    TempDir dir("tickerd-cli");
    auto config = dir.write("broken.json", R"({"instruments": [)");
    auto result = run_daemon_command(check_config_args(config));
    BOOST_TEST(result.status.code == 1, describe(result.status) << "\n" << result.output);
    BOOST_TEST(contains(result.output, "broken.json"), "names the file: " << result.output);
}

// The front door is checked too: what would stop a start stops --check-config first.
BOOST_AUTO_TEST_CASE(check_config_refuses_an_open_remote_listener) {
    TempDir dir("tickerd-cli");
    auto config = write_config(dir, {{"listen", "0.0.0.0:0"}});
    auto result = run_daemon_command(check_config_args(config));
    BOOST_TEST(result.status.code == 1, describe(result.status) << "\n" << result.output);
    BOOST_TEST(contains(result.output, "auth.allow_unauthenticated_remote"), result.output);
}

BOOST_AUTO_TEST_CASE(check_config_refuses_credentials_and_certificates_that_do_not_load) {
    TempDir dir("tickerd-cli");
    auto missing = (dir / "missing.pem").string();
    auto config =
        write_config(dir, {{"auth", {{"enabled", true}, {"jwt", {{"public_key_file", missing}}}}},
                           {"tls", {{"cert_file", missing}, {"key_file", missing}}}});
    auto result = run_daemon_command(check_config_args(config));
    BOOST_TEST(result.status.code == 1, describe(result.status) << "\n" << result.output);
    BOOST_TEST(contains(result.output, "public_key_file"), result.output);
    BOOST_TEST(contains(result.output, "tls.cert_file"), result.output);
}

BOOST_AUTO_TEST_CASE(bad_listen_exits_with_a_clear_message) {
    TempDir dir("tickerd-cli");
    for (const std::string listen : {"nonsense", "127.0.0.1:99999", "127.0.0.1:"}) {
        BOOST_TEST_CONTEXT("--listen " << listen) {
            auto result =
                run_daemon_command({"--listen", listen, "--state-dir", (dir / "state").string(),
                                    "--plugin-dir", TICKERD_TEST_VENDOR_DIR},
                                   {}, 15s);
            BOOST_TEST(!result.timed_out, "it must not start serving: " << result.output);
            BOOST_TEST(!result.status.success(), describe(result.status));
            BOOST_TEST(result.status.exited, "no crash: " << describe(result.status));
            BOOST_TEST(contains(result.output, "listen"), result.output);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_port_in_use_exits_with_a_clear_message) {
    DaemonProcess first;
    first.wait_ready();
    TempDir dir("tickerd-cli");
    auto result =
        run_daemon_command({"--listen", "127.0.0.1:" + std::to_string(first.port()), "--state-dir",
                            (dir / "state").string(), "--plugin-dir", TICKERD_TEST_VENDOR_DIR},
                           {}, 15s);
    BOOST_TEST(!result.timed_out);
    BOOST_TEST(!result.status.success(), describe(result.status));
    BOOST_TEST(result.status.exited, "no crash: " << describe(result.status));
    BOOST_TEST((contains(result.output, "in use") || contains(result.output, "bind")),
               result.output);
}

BOOST_AUTO_TEST_CASE(unknown_flag_is_refused) {
    auto result = run_daemon_command({"--frobnicate"});
    BOOST_TEST(!result.timed_out);
    BOOST_TEST(!result.status.success());
    BOOST_TEST(result.status.exited);
    BOOST_TEST(contains(result.output, "frobnicate"), result.output);
}

BOOST_AUTO_TEST_CASE(a_garbage_plugin_is_refused_and_the_daemon_runs) {
    TempDir plugins("tickerd-junk-plugins");
    plugins.write("junk.so", "this is not an ELF file\n");
    DaemonOptions options;
    options.plugin_dirs =
        std::vector<std::filesystem::path>{TICKERD_TEST_VENDOR_DIR, plugins.path()};
    DaemonProcess daemon(options);
    daemon.wait_ready();

    HttpClient http("127.0.0.1", daemon.port());
    auto response = http.get("/streaming/config/vendors");
    BOOST_TEST_REQUIRE(response.status == 200u);
    bool junk_listed = false;
    bool mock_loaded = false;
    for (const auto& plugin : items_of(response.json(), {"vendors", "plugins"})) {
        auto file = text(plugin, "/file");
        if (contains(file, "junk.so")) {
            junk_listed = true;
            BOOST_TEST(text(plugin, "/state") != "loaded", json::serialize(plugin));
            BOOST_TEST(!text(plugin, "/error").empty(), "says why: " << json::serialize(plugin));
        }
        if (text(plugin, "/name") == "mock") mock_loaded = text(plugin, "/state") == "loaded";
    }
    BOOST_TEST(junk_listed, response.body);
    BOOST_TEST(mock_loaded, response.body);
    BOOST_TEST(contains(daemon.log(), "junk.so"), "the refusal is logged:\n" << daemon.log_tail());
    BOOST_TEST(http.get("/").status == 200u);
}

BOOST_AUTO_TEST_CASE(json_log_lines_parse_one_by_one) {
    DaemonOptions options;
    options.env = {{"TICKERD_LOG_FORMAT", "json"}};
    DaemonProcess daemon(options);
    daemon.wait_ready();
    std::istringstream log(daemon.log());
    std::string line;
    int lines = 0;
    bool listening = false;
    while (std::getline(log, line)) {
        if (line.empty()) continue;
        boost::system::error_code ec;
        auto parsed = boost::json::parse(line, ec);
        BOOST_TEST_REQUIRE((!ec && parsed.is_object()), "not a JSON object: " << line);
        const auto& object = parsed.as_object();
        BOOST_TEST(object.at("time").as_string().size() > 19u);
        BOOST_TEST(object.at("level").is_string());
        listening = listening ||
                    object.at("message").as_string().find("listening on port") != std::string::npos;
        ++lines;
    }
    BOOST_TEST(lines > 2);
    BOOST_TEST(listening);
    auto bad = run_daemon_command({"--check-config"}, {{"TICKERD_LOG_FORMAT", "xml"}}, 20s);
    BOOST_TEST(
        bad.output.find("TICKERD_LOG_FORMAT: expected auto, plain or json") != std::string::npos,
        bad.output);
}
