// The host's HTTP service seen from a real plugin (tests/abi/http_plugin.cpp, ABI 1.1): the
// plugin's request reaches the fixture server, the answer comes back through the C
// boundary, and HTTP trouble maps to the error classes the scheduler acts on.
#define BOOST_TEST_MODULE plugins_http
#include <boost/test/unit_test.hpp>

#include "plugins/plugins.hpp"
#include "support/fixture_server.hpp"

#include <boost/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
using namespace tickerd;
using namespace std::chrono_literals;
using testing::FixtureRoute;
using testing::FixtureServer;

namespace {

struct HttpVendor {
    explicit HttpVendor(const FixtureServer& server)
        : host({fs::path(TICKERD_TEST_ABI_PLUGIN_DIR).parent_path() / "http_plugin"}) {
        host.load_all();
        plugins::InstanceConfig config;
        config.name = "http_vendor";
        config.plugin = "abi_http";
        config.settings = {{"base_url", server.url("")}};
        problems = host.configure({config}, true);
        auto ranked = host.ranked_for(DataType::market_data);
        if (!ranked.empty()) instance = ranked.front();
    }

    plugins::FetchOutcome fetch(const std::string& symbol, std::chrono::milliseconds timeout = 5s) {
        plugins::CancelFlag cancel;
        return instance->fetch(DataType::market_data, symbol,
                               std::chrono::system_clock::now() + timeout, cancel);
    }

    plugins::PluginHost host;
    std::vector<std::string> problems;
    plugins::InstancePtr instance;
};

FixtureRoute answer(unsigned status, std::string body) {
    FixtureRoute route;
    route.status = status;
    route.body = std::move(body);
    return route;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_plugin_fetches_through_the_host) {
    FixtureServer server;
    server.route("/quote/AAPL", answer(200, R"({"price":255.85})"));
    HttpVendor vendor(server);
    BOOST_TEST_REQUIRE(vendor.problems.empty());
    BOOST_TEST_REQUIRE(vendor.instance != nullptr);

    auto outcome = vendor.fetch("AAPL");
    BOOST_TEST(outcome.status == TICKERD_OK, outcome.message);
    BOOST_TEST(boost::json::parse(outcome.json).at("price").as_double() == 255.85);
    auto seen = server.requests();
    BOOST_TEST_REQUIRE(seen.size() == 1u);
    BOOST_TEST(seen[0].headers["accept"] == "application/json");
    BOOST_TEST(seen[0].headers["user-agent"].find("tickerd/") == 0u);
    BOOST_TEST(vendor.host.http_counters().requests == 1u);
}

BOOST_AUTO_TEST_CASE(http_answers_map_to_error_classes) {
    FixtureServer server;
    auto limited = answer(429, R"({"error":"slow down"})");
    limited.headers = {{"Retry-After", "7"}};
    server.route("/quote/LIMIT", limited);
    server.route("/quote/BROKE", answer(503, "unavailable"));
    HttpVendor vendor(server);

    auto rate_limited = vendor.fetch("LIMIT");
    BOOST_TEST(rate_limited.status == TICKERD_E_RATE_LIMITED);
    BOOST_TEST(rate_limited.retry_after_ms == 7000);
    BOOST_TEST(rate_limited.http_status == 429);
    BOOST_TEST(vendor.fetch("NOPE").status == TICKERD_E_NOT_FOUND);  // no route: 404
    BOOST_TEST(vendor.fetch("BROKE").status == TICKERD_E_TRANSIENT);
}

BOOST_AUTO_TEST_CASE(transport_failures_are_transient) {
    FixtureServer server;
    FixtureRoute gone;
    gone.behaviour = FixtureRoute::Behaviour::hang_up;
    server.route("/quote/GONE", gone);
    HttpVendor vendor(server);
    auto outcome = vendor.fetch("GONE");
    BOOST_TEST(outcome.status == TICKERD_E_TRANSIENT);
    BOOST_TEST(outcome.message.find("http: ") == 0u, outcome.message);
}

BOOST_AUTO_TEST_CASE(a_request_never_outlives_the_fetch_deadline) {
    FixtureServer server;
    FixtureRoute slow = answer(200, "{}");
    slow.behaviour = FixtureRoute::Behaviour::delay;
    slow.delay = 10s;
    server.route("/quote/SLOW", slow);
    HttpVendor vendor(server);
    auto started = std::chrono::steady_clock::now();
    auto outcome = vendor.fetch("SLOW", 400ms);
    BOOST_TEST(outcome.status == TICKERD_E_TRANSIENT);
    BOOST_TEST((std::chrono::steady_clock::now() - started < 3s));
}
