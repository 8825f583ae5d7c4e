// GET /openapi.json on a live daemon with auth on: open (no credential), JSON, its
// info.version the one GET / reports; valid per a standard validator
// (tests/browser/validate_openapi.mjs: @apidevtools/swagger-parser, run by node); and every
// parameterless GET it documents answers, with and without a credential, with a status the
// document lists for it. (tests/unit/gateway_openapi_test.cpp holds it against the route table.)
// Needs node and tests/browser/node_modules: scripts/deps.sh installs them.
#define BOOST_TEST_MODULE daemon_openapi
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
const std::string kAdminKey = "openapi-admin-key-0123456789";

struct Daemon {
    TempDir files{"tickerd-openapi"};
    DaemonProcess process;

    static DaemonOptions options(const TempDir& files) {
        DaemonOptions options;
        options.config_file = write_config(
            files, {{"vendors", mock_vendors()},
                    {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
                    {"auth",
                     {{"enabled", true},
                      {"keys",
                       {{{"name", "ops"},
                         {"key_file", files.write("ops.key", kAdminKey + "\n").string()},
                         {"scopes", {"admin"}}}}}}}});
        return options;
    }
    Daemon() : process(options(files)) {}
};

Headers admin() {
    return {{"Authorization", "Bearer " + kAdminKey}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_served_document_is_open_valid_and_matches_the_live_answers) {
    BOOST_TEST_REQUIRE(fs::exists(kBrowserDir / "node_modules/@apidevtools/swagger-parser"),
                       "tests/browser/node_modules is missing: run scripts/deps.sh");
    Daemon daemon;
    daemon.process.wait_ready();
    HttpClient http("127.0.0.1", daemon.process.port());

    auto served = http.get("/openapi.json");  // no credential
    BOOST_TEST_REQUIRE(served.status == 200u, served.body);
    BOOST_TEST(served.header("content-type") == "application/json");
    BOOST_TEST(served.header("cache-control") == "no-cache");
    auto document = served.json();
    auto status = http.request("GET", "/", {}, {}, admin());
    BOOST_TEST_REQUIRE(status.status == 200u, status.body);
    BOOST_TEST(document.at("info").at("version") == status.json().at("version"));

    // A standard validator, on what the daemon serves.
    auto log = daemon.files / "validator.log";
    auto url = "http://127.0.0.1:" + std::to_string(daemon.process.port()) + "/openapi.json";
    ChildProcess validator(
        {"/usr/bin/env", "node", (kBrowserDir / "validate_openapi.mjs").string(), url}, log);
    auto exit = validator.wait(30s);
    BOOST_TEST_REQUIRE(exit.has_value(), "the validator did not finish:\n" << read_file(log));
    BOOST_TEST(exit->success(), "not valid (" << describe(*exit) << "):\n" << read_file(log));
    BOOST_TEST_MESSAGE(read_file(log));

    // Every parameterless GET the document lists, but the streams, answers with a status it
    // documents: with the admin key, and without a credential (401 where one is needed).
    for (const auto& [path, item] : document.at("paths").as_object()) {
        const auto* get = item.as_object().if_contains("get");
        if (!get || path.contains('{') || path.starts_with("/streaming/subscribe") ||
            path == "/streaming/ws") {
            continue;
        }
        const auto& responses = get->at("responses").as_object();
        for (bool with_key : {true, false}) {
            auto answer = http.request("GET", path, {}, {}, with_key ? admin() : Headers{});
            auto code = std::to_string(answer.status);
            // GET /metrics is documented ahead of its route (another branch adds it).
            if (path == "/metrics" && answer.status == 404u) continue;
            BOOST_TEST(responses.contains(code), "GET " << path << (with_key ? "" : " (no key)")
                                                        << " answered " << code
                                                        << ", not documented: " << answer.body);
        }
    }
}
