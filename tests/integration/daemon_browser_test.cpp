// A real browser against the daemon (CONTRACT.md §6): Debian's Chromium, driven by Playwright
// (tests/browser/cross_origin_streams.mjs), on pages of two other origins. The listed one's
// backend mints a token with the read key and the page streams over EventSource and WebSocket
// with ?access_token=; an EventSource without a token fails; the unlisted origin's WebSocket
// is refused at the handshake and its no-cors POST to stop-all leaves the workers running.
// Needs node, tests/browser/node_modules and /usr/bin/chromium: scripts/deps.sh installs them.
// The screenshots stay in <build>/tests/browser-artifacts/.
#define BOOST_TEST_MODULE daemon_browser
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const fs::path kBrowserDir = fs::path(TICKERD_SOURCE_DIR) / "tests/browser";
const std::string kChannel = "stream:market_data:AAPL";
const std::string kReadKey = "browser-read-key-0123456789";
const std::string kAdminKey = "browser-admin-key-0123456789";
// The script's own deadline; the test allows it a little more before it kills it.
constexpr auto kScriptBudget = 90s;

json::object auth_settings(const TempDir& files) {
    auto key = [&](const std::string& name, const std::string& text, const std::string& scope) {
        return json::object{{"name", name},
                            {"key_file", files.write(name + ".key", text + "\n").string()},
                            {"scopes", {scope}}};
    };
    auto secret = files.write("jwt.secret", "an HS256 secret long enough for the browser test\n");
    return {{"enabled", true},
            {"keys", {key("page-backend", kReadKey, "read"), key("ops", kAdminKey, "admin")}},
            {"jwt", {{"hs256_secret_file", secret.string()}, {"token_ttl_seconds", 300}}}};
}

bool worker_running(unsigned short port, const std::string& worker_id) {
    HttpClient http("127.0.0.1", port);
    auto workers = http.request("GET", "/streaming/config/workers", {}, {},
                                {{"Authorization", "Bearer " + kAdminKey}});
    BOOST_REQUIRE_MESSAGE(workers.status == 200u, workers.body);
    auto list = workers.json();  // the loop reads into it: it must outlive the loop
    for (const auto& worker : list.as_array()) {
        if (worker.at("worker_id").as_string() == worker_id)
            return worker.at("status").as_string() == "running";
    }
    return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_page_of_another_origin_streams_with_a_token_and_a_foreign_one_is_refused) {
    BOOST_TEST_REQUIRE(fs::exists(kBrowserDir / "node_modules/playwright-core"),
                       "tests/browser/node_modules is missing: run scripts/deps.sh");
    BOOST_TEST_REQUIRE(fs::exists("/usr/bin/chromium"),
                       "Debian's chromium is missing: run scripts/deps.sh");
    TempDir files("tickerd-browser");
    auto artifacts = fs::path(TICKERD_BUILD_DIR) / "tests/browser-artifacts";
    auto log = files / "browser.log";
    // The script serves the two pages first: their origins go into the daemon's config.
    // Whatever fails, neither the script nor its Chromium stays behind (ChildProcess).
    ChildProcess browser(
        {"/usr/bin/env", "node", (kBrowserDir / "cross_origin_streams.mjs").string(), "--work-dir",
         files.path().string(), "--artifacts", artifacts.string(), "--timeout-seconds",
         std::to_string(kScriptBudget.count())},
        log);
    auto pages_file = files / "pages.json";
    wait_until([&] { return fs::exists(pages_file) || !browser.running(); }, 20s, 50ms);
    BOOST_TEST_REQUIRE(fs::exists(pages_file), "the pages were not served:\n" << read_file(log));
    auto pages = json::parse(read_file(pages_file)).as_object();
    std::string app_origin(pages.at("app").as_string());

    DaemonOptions options;
    options.config_file = write_config(
        files, {{"vendors", {{{"name", "mock"}, {"plugin", "mock"}}}},
                {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
                {"cadences", {{"market_data", {{"interval_seconds", 0.2}}}}},
                {"auth", auth_settings(files)},
                {"cors", {{"allowed_origins", {app_origin}}}}});
    options.env = {{"AUTO_START_WORKERS", "true"}};
    DaemonProcess daemon(options);
    daemon.wait_ready();
    auto url = "http://127.0.0.1:" + std::to_string(daemon.port());
    BOOST_TEST_REQUIRE(
        wait_until([&] { return worker_running(daemon.port(), "worker_market_data"); }, 10s));
    // Written whole, then renamed: the script never reads half of it.
    files.write(
        "daemon.json.tmp",
        json::serialize(json::object{{"url", url}, {"read_key", kReadKey}, {"channel", kChannel}}));
    fs::rename(files / "daemon.json.tmp", files / "daemon.json");

    auto status = browser.wait(kScriptBudget + 15s);
    BOOST_TEST_REQUIRE(status.has_value(), "the browser script did not finish:\n"
                                               << read_file(log));
    BOOST_TEST(status->success(), "the browser script failed (" << describe(*status) << "):\n"
                                                                << read_file(log)
                                                                << "--- daemon log tail ---\n"
                                                                << daemon.log_tail());
    BOOST_TEST_MESSAGE(read_file(log));
    // The unlisted page's POST to stop-all was answered and changed nothing.
    BOOST_TEST(worker_running(daemon.port(), "worker_market_data"));
    BOOST_TEST(fs::exists(artifacts / "app.png"));
}
