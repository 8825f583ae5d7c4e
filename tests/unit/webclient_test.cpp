// The HTTP client vendors use, against the local fixture server: requests go out as asked,
// answers come back whole (gzip undone), connections are reused, and every misbehaviour of
// the server ends as a classified outcome within its time limit.
#define BOOST_TEST_MODULE webclient
#include <boost/test/unit_test.hpp>

#include "support/fixture_server.hpp"
#include "webclient/webclient.hpp"

#include <atomic>
#include <chrono>
#include <thread>

using namespace tickerd;
using namespace std::chrono_literals;
using testing::FixtureRoute;
using testing::FixtureServer;
using Behaviour = FixtureRoute::Behaviour;

namespace {

FixtureRoute answer(unsigned status, std::string body, Behaviour behaviour = Behaviour::normal) {
    FixtureRoute route;
    route.status = status;
    route.body = std::move(body);
    route.behaviour = behaviour;
    return route;
}

webclient::Request get(const std::string& url, std::chrono::milliseconds timeout = 5s) {
    webclient::Request request;
    request.url = url;
    request.timeout = timeout;
    return request;
}

}  // namespace

BOOST_AUTO_TEST_CASE(get_returns_status_headers_and_body) {
    FixtureServer server;
    auto route = answer(200, R"({"price":1.5})");
    route.headers = {{"X-RateLimit-Remaining", "4"}};
    server.route("/quote", route);
    webclient::Client client;
    webclient::Request request = get(server.url("/quote?symbol=AAPL"));
    request.headers = {{"Accept", "application/json"}, {"X-Api-Key", "secret"}};
    auto response = client.perform(request);

    BOOST_TEST((response.outcome == webclient::Outcome::ok), response.error);
    BOOST_TEST(response.status == 200);
    BOOST_TEST(response.body == R"({"price":1.5})");
    BOOST_TEST(response.headers.find("X-RateLimit-Remaining: 4") != std::string::npos);
    auto seen = server.requests();
    BOOST_TEST_REQUIRE(seen.size() == 1u);
    BOOST_TEST(seen[0].target == "/quote?symbol=AAPL");
    BOOST_TEST(seen[0].headers["x-api-key"] == "secret");
    BOOST_TEST(seen[0].headers["accept-encoding"].find("gzip") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(post_sends_method_and_body) {
    FixtureServer server;
    server.route("/search", answer(201, "{}"));
    webclient::Client client;
    auto request = get(server.url("/search"));
    request.method = "POST";
    request.body = R"({"q":"AAPL"})";
    request.headers = {{"Content-Type", "application/json"}};
    auto response = client.perform(request);
    BOOST_TEST(response.status == 201);
    auto seen = server.requests();
    BOOST_TEST_REQUIRE(seen.size() == 1u);
    BOOST_TEST(seen[0].method == "POST");
    BOOST_TEST(seen[0].body == R"({"q":"AAPL"})");
}

BOOST_AUTO_TEST_CASE(error_statuses_are_responses_not_failures) {
    FixtureServer server;
    server.route("/broken", answer(500, "oops"));
    webclient::Client client;
    auto response = client.perform(get(server.url("/broken")));
    BOOST_TEST((response.outcome == webclient::Outcome::ok));
    BOOST_TEST(response.status == 500);
    BOOST_TEST(client.perform(get(server.url("/nowhere"))).status == 404);
}

BOOST_AUTO_TEST_CASE(gzip_bodies_arrive_decoded) {
    FixtureServer server;
    std::string body(10000, 'a');
    server.route("/zipped", answer(200, body, Behaviour::gzip));
    webclient::Client client;
    auto response = client.perform(get(server.url("/zipped")));
    BOOST_TEST((response.outcome == webclient::Outcome::ok), response.error);
    BOOST_TEST(response.body == body);
}

BOOST_AUTO_TEST_CASE(connections_are_reused) {
    FixtureServer server;
    server.route("/quote", answer(200, "{}"));
    webclient::Client client;
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(client.perform(get(server.url("/quote"))).status == 200);
    BOOST_TEST(server.connections_accepted() == 1);
    BOOST_TEST(client.counters().requests == 5u);
}

BOOST_AUTO_TEST_CASE(a_slow_server_times_out_as_transient) {
    FixtureServer server;
    auto route = answer(200, "{}", Behaviour::delay);
    route.delay = 3s;
    server.route("/slow", route);
    webclient::Client client;
    auto started = std::chrono::steady_clock::now();
    auto response = client.perform(get(server.url("/slow"), 300ms));
    BOOST_TEST((response.outcome == webclient::Outcome::transient));
    BOOST_TEST((std::chrono::steady_clock::now() - started < 2s));
    BOOST_TEST(client.counters().failures == 1u);
}

BOOST_AUTO_TEST_CASE(a_dripping_body_is_cut_at_the_timeout) {
    FixtureServer server;
    auto route = answer(200, std::string(200, 'x'), Behaviour::drip);
    route.delay = 50ms;
    server.route("/drip", route);
    webclient::Client client;
    auto response = client.perform(get(server.url("/drip"), 500ms));
    BOOST_TEST((response.outcome == webclient::Outcome::transient));
    BOOST_TEST(response.body.empty());
}

BOOST_AUTO_TEST_CASE(truncated_and_dropped_responses_are_transient) {
    FixtureServer server;
    server.route("/cut", answer(200, std::string(1000, 'x'), Behaviour::truncate));
    server.route("/gone", answer(200, "{}", Behaviour::hang_up));
    webclient::Client client;
    auto cut = client.perform(get(server.url("/cut")));
    BOOST_TEST((cut.outcome == webclient::Outcome::transient), cut.error);
    auto gone = client.perform(get(server.url("/gone")));
    BOOST_TEST((gone.outcome == webclient::Outcome::transient), gone.error);
}

BOOST_AUTO_TEST_CASE(an_oversized_body_is_refused_as_permanent) {
    FixtureServer server;
    auto route = answer(200, "", Behaviour::big_body);
    route.big_body_bytes = 3 * 1024 * 1024;
    server.route("/huge", route);
    webclient::Limits limits;
    limits.max_response_bytes = 1024 * 1024;
    webclient::Client client(limits);
    auto response = client.perform(get(server.url("/huge")));
    BOOST_TEST((response.outcome == webclient::Outcome::permanent));
    BOOST_TEST(response.error.find("larger than") != std::string::npos, response.error);
}

BOOST_AUTO_TEST_CASE(bad_urls_are_permanent_refused_connections_transient) {
    webclient::Client client;
    auto bad = client.perform(get("ftp://127.0.0.1/file"));
    BOOST_TEST((bad.outcome == webclient::Outcome::permanent), bad.error);
    auto malformed = client.perform(get("http://[not a url"));
    BOOST_TEST((malformed.outcome == webclient::Outcome::permanent), malformed.error);
    // Port 1 on loopback: nothing listens there.
    auto refused = client.perform(get("http://127.0.0.1:1/"));
    BOOST_TEST((refused.outcome == webclient::Outcome::transient), refused.error);
}

BOOST_AUTO_TEST_CASE(cancelling_stops_a_request_early) {
    FixtureServer server;
    auto route = answer(200, "{}", Behaviour::delay);
    route.delay = 5s;
    server.route("/slow", route);
    webclient::Client client;
    std::atomic<bool> cancel{false};
    std::thread canceller([&] {
        std::this_thread::sleep_for(200ms);
        cancel = true;
    });
    auto started = std::chrono::steady_clock::now();
    auto response = client.perform(get(server.url("/slow"), 30s), [&] { return cancel.load(); });
    canceller.join();
    BOOST_TEST((response.outcome == webclient::Outcome::transient));
    BOOST_TEST(response.error == "cancelled");
    BOOST_TEST((std::chrono::steady_clock::now() - started < 3s));
}
