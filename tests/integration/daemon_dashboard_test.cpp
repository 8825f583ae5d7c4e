// GET /dashboard in a real browser (CONTRACT.md §9): Debian's Chromium, driven by Playwright
// (tests/browser/dashboard.mjs), on a daemon with auth on, the mock vendor and a fast cadence.
// The page loads with no console error but the 401 that makes it ask for a credential, takes
// the admin key, shows the workers, vendors and telemetry charts, tails a channel over SSE
// with a minted token, and stops a worker with its button; given a read key instead, its
// start button gets a 403 the page shows; its alerts section lists the configured webhook
// with nothing firing. This test then checks through the REST API that
// the worker stopped and stayed so. The page's routes are open; its API calls are not.
// Needs node, tests/browser/node_modules and /usr/bin/chromium: scripts/deps.sh installs them.
// The screenshots stay in <build>/tests/browser-artifacts/ (dashboard.png, dashboard-stopped.png).
#define BOOST_TEST_MODULE daemon_dashboard
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;
using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const fs::path kBrowserDir = fs::path(TICKERD_SOURCE_DIR) / "tests/browser";
const std::string kChannel = "stream:market_data:AAPL";
const std::string kWorker = "worker_market_data";
const std::string kAdminKey = "dashboard-admin-key-0123456789";
const std::string kReadKey = "dashboard-read-key-0123456789";
constexpr auto kScriptBudget = 60s;

json::object auth_settings(const TempDir& files) {
    auto secret = files.write("jwt.secret", "an HS256 secret long enough for the dashboard test\n");
    auto key = [&](const std::string& name, const std::string& text, const std::string& scope) {
        return json::object{{"name", name},
                            {"key_file", files.write(name + ".key", text + "\n").string()},
                            {"scopes", {scope}}};
    };
    // Tokens live at most 120 s: the page must not ask for more.
    return {{"enabled", true},
            {"keys", {key("ops", kAdminKey, "admin"), key("viewer", kReadKey, "read")}},
            {"jwt", {{"hs256_secret_file", secret.string()}, {"token_ttl_seconds", 120}}}};
}

std::optional<std::string> worker_status(unsigned short port) {
    HttpClient http("127.0.0.1", port);
    auto answer = http.request("GET", "/streaming/config/workers/" + kWorker, {}, {},
                               {{"Authorization", "Bearer " + kAdminKey}});
    if (answer.status != 200u) return std::nullopt;
    return std::string(answer.json().at("status").as_string());
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_dashboard_shows_the_daemon_tails_a_channel_and_stops_a_worker) {
    BOOST_TEST_REQUIRE(fs::exists(kBrowserDir / "node_modules/playwright-core"),
                       "tests/browser/node_modules is missing: run scripts/deps.sh");
    BOOST_TEST_REQUIRE(fs::exists("/usr/bin/chromium"),
                       "Debian's chromium is missing: run scripts/deps.sh");
    TempDir files("tickerd-dashboard");
    DaemonOptions options;
    options.config_file = write_config(
        files,
        {{"vendors", mock_vendors()},
         {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
         {"cadences", {{"market_data", {{"interval_seconds", 0.2}}}}},
         {"auth", auth_settings(files)},
         // A webhook nobody listens on: the page's alerts section lists it.
         {"alerts",
          {{"webhooks", {{{"url", "http://127.0.0.1:9/tickerd-hook"}, {"secret", "s3cret"}}}}}}});
    options.env = {{"AUTO_START_WORKERS", "true"}};
    DaemonProcess daemon(options);
    daemon.wait_ready();
    BOOST_TEST_REQUIRE(wait_until([&] { return worker_status(daemon.port()) == "running"; }, 10s));

    auto artifacts = fs::path(TICKERD_BUILD_DIR) / "tests/browser-artifacts";
    auto log = files / "dashboard.log";
    ChildProcess browser({"/usr/bin/env", "node", (kBrowserDir / "dashboard.mjs").string(), "--url",
                          "http://127.0.0.1:" + std::to_string(daemon.port()), "--key", kAdminKey,
                          "--read-key", kReadKey, "--channel", kChannel, "--worker", kWorker,
                          "--work-dir", files.path().string(), "--artifacts", artifacts.string(),
                          "--timeout-seconds", std::to_string(kScriptBudget.count())},
                         log);
    auto status = browser.wait(kScriptBudget + 15s);
    BOOST_TEST_REQUIRE(status.has_value(), "the browser script did not finish:\n"
                                               << read_file(log));
    BOOST_TEST(status->success(), "the browser script failed (" << describe(*status) << "):\n"
                                                                << read_file(log)
                                                                << "--- daemon log tail ---\n"
                                                                << daemon.log_tail());
    BOOST_TEST_MESSAGE(read_file(log));
    // The page's stop button stopped the worker, and with the read key its start button
    // did not start it again, as the REST API sees it.
    BOOST_TEST(worker_status(daemon.port()).value_or("not answered") == "stopped");
    BOOST_TEST(fs::exists(artifacts / "dashboard.png"));
    // Printed whatever the log level, for whoever wants to look (ctest -V shows it).
    std::cout << "screenshots: " << (artifacts / "dashboard.png").string() << ", "
              << (artifacts / "dashboard-stopped.png").string() << std::endl;
}
