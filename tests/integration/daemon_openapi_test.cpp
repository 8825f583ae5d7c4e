// GET /openapi.json on a live daemon with auth on: open (no credential), JSON, its
// info.version the one GET / reports; valid per a standard validator
// (tests/browser/validate_openapi.mjs: @apidevtools/swagger-parser, run by node), which also
// checks the JSON answer of every GET against the schema the document gives it; and every
// parameterless GET it documents answers, with and without a credential, with a status the
// document lists for it, as does every route given bad input. (tests/unit/gateway_openapi_test.cpp
// holds it against the route table.) Needs node and tests/browser/node_modules: scripts/deps.sh
// installs them.
#define BOOST_TEST_MODULE daemon_openapi
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <sstream>

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
                    {"cadences", {{"market_data", {{"interval_seconds", 0.2}}}}},
                    {"auth",
                     {{"enabled", true},
                      {"keys",
                       {{{"name", "ops"},
                         {"key_file", files.write("ops.key", kAdminKey + "\n").string()},
                         {"scopes", {"admin"}}}}}}}});
        // Polling, so that the answers hold messages and telemetry to check against the schemas.
        options.env = {{"AUTO_START_WORKERS", "true"}};
        return options;
    }
    Daemon() : process(options(files)) {}
};

Headers admin() {
    return {{"Authorization", "Bearer " + kAdminKey}};
}

// `path` with each {parameter} replaced by `value`.
std::string with_parameters(std::string path, const std::string& value) {
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{')) {
        path.replace(open, path.find('}', open) - open + 1, value);
    }
    return path;
}

// A request, and whether the status it got is one the operation documents.
void check_documented(HttpClient& http, const json::object& operation, const std::string& method,
                      const std::string& target, const std::string& body = {},
                      const std::string& content_type = {}, const Headers& headers = admin()) {
    auto answer = http.request(method, target, body, content_type, headers);
    auto code = std::to_string(answer.status);
    std::ostringstream what;
    what << method << " " << target << (body.empty() ? "" : " with '" + body + "'")
         << (headers.empty() ? " (no key)" : "") << " answered " << code << ": " << answer.body;
    BOOST_TEST(operation.at("responses").as_object().contains(code), what.str());
    if (answer.status >= 400) {  // the error body, as the document's Error schema has it
        auto error = json::parse(answer.body);
        const auto* detail = error.as_object().if_contains("detail");
        BOOST_TEST((detail && detail->is_string()), what.str());
    }
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

    // A standard validator, on what the daemon serves; then the JSON answers of its GETs
    // against their schemas, once there is a message to answer with.
    BOOST_TEST_REQUIRE(wait_until(
        [&] {
            auto latest =
                http.request("GET", "/streaming/latest/stream:market_data:AAPL", {}, {}, admin());
            return latest.status == 200u && !latest.json().at("message").is_null();
        },
        10s));
    auto log = daemon.files / "validator.log";
    auto url = "http://127.0.0.1:" + std::to_string(daemon.process.port()) + "/openapi.json";
    json::object parameters{{"channel", "stream:market_data:AAPL"},
                            {"symbol", "AAPL"},
                            {"data_type", "market_data"},
                            {"id", "worker_market_data"},
                            {"asset", "dashboard.js"}};
    ChildProcess validator({"/usr/bin/env", "node", (kBrowserDir / "validate_openapi.mjs").string(),
                            url, "--key", kAdminKey, "--parameters", json::serialize(parameters)},
                           log);
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
        check_documented(http, get->as_object(), "GET", path);
        check_documented(http, get->as_object(), "GET", path, {}, {}, {});
    }
}

BOOST_AUTO_TEST_CASE(bad_input_gets_an_answer_the_document_lists) {
    Daemon daemon;
    daemon.process.wait_ready();
    HttpClient http("127.0.0.1", daemon.process.port());
    auto document = http.get("/openapi.json").json();
    // What a client gets wrong — an unknown name or a bad percent-encoding in the path, a body
    // that is not JSON or not declared as JSON — without changing anything: the bodyless POSTs
    // (start, stop, reload) are left out.
    for (const auto& [path, item] : document.at("paths").as_object()) {
        for (const auto& [method_name, value] : item.as_object()) {
            std::string method(method_name);
            for (auto& c : method)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            const auto& operation = value.as_object();
            bool takes_body = operation.contains("requestBody");
            std::string target = with_parameters(std::string(path), "UNKNOWN");
            if (takes_body) {
                check_documented(http, operation, method, target, "{", "application/json");
                check_documented(http, operation, method, target, "{}", "text/plain");
            } else if (path.contains('{') && method != "POST") {
                check_documented(http, operation, method, target);
                check_documented(http, operation, method,
                                 with_parameters(std::string(path), "%ZZ"));
            }
        }
    }
}
