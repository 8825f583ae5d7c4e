// Alerts (CONTRACT.md §8) against the daemon: the mock made to fail fires worker_failing and
// vendors_failing on stream:alerts:system, and mending it (SIGHUP with new settings)
// resolves both; price rules through /streaming/alerts/rules fire once per crossing and keep
// their cool-down, survive kill -9, and are refused with a 422 when malformed; a local HTTP
// receiver gets signed webhooks (the signature recomputed by the test support), only for the
// rules it asked for, and gets them again after it was down for a while; Redis killed for
// longer than alerts.redis_down_seconds fires redis_down to the webhook while the stream
// cannot carry it, and both states reach the stream once Redis is back.
#define BOOST_TEST_MODULE daemon_alerts
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <signal.h>

#include <set>
#include <thread>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kSystem = "stream:alerts:system";

// Alerts on an SSE stream, by "<rule> <state>", collected until each wanted one came or the
// time is up.
std::map<std::string, json::object> await_alerts(SseClient& sse, std::set<std::string> wanted,
                                                 std::chrono::seconds timeout) {
    std::map<std::string, json::object> seen;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!wanted.empty() && std::chrono::steady_clock::now() < deadline) {
        auto event = sse.next_data_event(200ms);
        if (!event) continue;
        auto message = event->json().as_object();
        const auto& data = message.at("data").as_object();
        auto name = std::string(data.at("rule").as_string()) + " " +
                    std::string(data.at("state").as_string());
        wanted.erase(name);
        seen.emplace(name, message);
    }
    return seen;
}

json::object mock_config(double fail_rate) {
    return {{"vendors",
             {{{"name", "mock"}, {"plugin", "mock"}, {"settings", {{"fail_rate", fail_rate}}}}}},
            {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
            {"cadences", {{"market_data", {{"interval_seconds", 0.2}, {"retry_attempts", 0}}}}},
            {"alerts", {{"worker_failures", 3}}}};
}

HttpResponse publish_price(HttpClient& http, const std::string& symbol, double price) {
    return http.post_json("/streaming/publish/stream:market_data:" + symbol,
                          {{"data", {{"symbol", symbol}, {"price", price}}}});
}

json::object webhook_status(HttpClient& http) {
    return http.get("/streaming/alerts").json().at("webhooks").at(0).as_object();
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_failing_vendor_fires_system_alerts_and_mending_it_resolves_them) {
    TempDir files("tickerd-alerts");
    auto daemon = start_daemon_with_config(files, mock_config(1.0), kAutoStartWorkers);
    HttpClient http("127.0.0.1", daemon->port());
    SseClient sse("127.0.0.1", daemon->port());
    BOOST_TEST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kSystem).status == 200);

    auto fired = await_alerts(sse, {"worker_failing firing", "vendors_failing firing"}, 20s);
    BOOST_TEST_REQUIRE(fired.size() == 2u, daemon->log_tail());
    const auto& message = fired.at("worker_failing firing");
    BOOST_TEST(join(stream_message_problems(message, kSystem)) == "");
    BOOST_TEST(message.at("vendor") == "tickerd");
    BOOST_TEST(message.at("data_type") == "alerts");
    const auto& alert = message.at("data").as_object();
    BOOST_TEST(alert.at("severity") == "warning");
    BOOST_TEST(alert.at("key") == "worker_failing:market_data");
    BOOST_TEST(alert.at("details").at("symbols") == json::array{"AAPL"});
    BOOST_TEST((alert.at("details").at("most_failures_in_a_row").to_number<int>() >= 3));
    BOOST_TEST(std::string(alert.at("summary").as_string()).find("injected failure") !=
               std::string::npos);
    const auto& vendors = fired.at("vendors_failing firing").at("data").as_object();
    BOOST_TEST(vendors.at("severity") == "critical");
    BOOST_TEST(vendors.at("details").at("vendors").as_object().contains("mock"));

    auto status = http.get("/streaming/alerts").json().as_object();
    BOOST_TEST(status.at("firing").as_array().size() == 2u);
    BOOST_TEST(http.get("/metrics").body.find("tickerd_alerts_firing 2") != std::string::npos);
    // Still failing: each fired once.
    BOOST_TEST(!await_alerts(sse, {"never"}, 2s).contains("worker_failing firing"));

    write_config(files, mock_config(0.0));  // mended
    BOOST_TEST_REQUIRE(::kill(daemon->pid(), SIGHUP) == 0);
    auto resolved = await_alerts(sse, {"worker_failing resolved", "vendors_failing resolved"}, 20s);
    BOOST_TEST_REQUIRE(resolved.size() == 2u, daemon->log_tail());
    BOOST_TEST(resolved.at("worker_failing resolved").at("data").at("since") == alert.at("since"));
    BOOST_TEST(http.get("/streaming/alerts").json().at("firing").as_array().empty());
    auto metrics = http.get("/metrics").body;
    BOOST_TEST(metrics.find("tickerd_alerts_total{kind=\"system\",state=\"resolved\"} 2") !=
                   std::string::npos,
               metrics);
}

BOOST_AUTO_TEST_CASE(price_rules_fire_once_per_crossing_keep_their_cool_down_and_survive_a_kill) {
    TempDir files("tickerd-alerts");
    json::object config{{"instruments",
                         {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}},
                          {{"symbol", "MSFT"}, {"data_types", {"market_data"}}}}}};
    DaemonOptions options;
    options.config_file = write_config(files, config);
    options.state_dir = files.path() / "state";
    auto daemon = std::make_unique<DaemonProcess>(options);
    daemon->wait_ready();
    HttpClient http("127.0.0.1", daemon->port());

    json::object rule{{"id", "aapl-200"},
                      {"symbol", "aapl"},
                      {"op", ">="},
                      {"value", 200},
                      {"cooldown_seconds", 2}};
    auto created = http.post_json("/streaming/alerts/rules", rule);
    BOOST_TEST_REQUIRE(created.status == 201u, created.body);
    BOOST_TEST(created.json().at("symbol") == "AAPL");
    BOOST_TEST(http.post_json("/streaming/alerts/rules", rule).status == 200u);  // the same id
    auto unnamed =
        http.post_json("/streaming/alerts/rules",
                       {{"symbol", "MSFT"}, {"percent_move", 3}, {"window_seconds", 60}});
    BOOST_TEST_REQUIRE(unnamed.status == 201u, unnamed.body);
    std::string generated(unnamed.json().at("id").as_string());
    BOOST_TEST(generated.starts_with("rule-"));

    auto bad =
        http.post_json("/streaming/alerts/rules", {{"symbol", "AAPL"}, {"op", "=>"}, {"value", 1}});
    BOOST_TEST(bad.status == 422u);
    BOOST_TEST(bad.body.find("op") != std::string::npos, bad.body);
    BOOST_TEST(http.get("/streaming/alerts/rules").json().at("rules").as_array().size() == 2u);
    auto msft = http.get("/streaming/alerts/rules?symbol=msft").json().at("rules").as_array();
    BOOST_TEST_REQUIRE(msft.size() == 1u);
    BOOST_TEST(msft[0].at("id") == json::value(generated));

    SseClient sse("127.0.0.1", daemon->port());
    BOOST_TEST_REQUIRE(
        sse.open_get("/streaming/subscribe/sse?channels=stream:alerts:AAPL").status == 200);
    // Below, crosses (fires), stays above, back below, crosses within the cool-down (held back),
    // then after it crosses again (fires).
    for (double price : {190.0, 201.0, 205.0, 195.0, 202.0})
        BOOST_TEST_REQUIRE(publish_price(http, "AAPL", price).status == 202u);
    std::this_thread::sleep_for(2200ms);
    for (double price : {199.0, 203.0})
        BOOST_TEST_REQUIRE(publish_price(http, "AAPL", price).status == 202u);
    std::vector<double> observed;
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < deadline) {
        auto event = sse.next_data_event(200ms);
        if (!event) continue;
        auto message = event->json();
        BOOST_TEST(join(stream_message_problems(message, "stream:alerts:AAPL")) == "");
        BOOST_TEST(message.at("data").at("rule") == "aapl-200");
        observed.push_back(message.at("data").at("details").at("observed").to_number<double>());
    }
    BOOST_TEST(observed == (std::vector<double>{201, 203}), boost::test_tools::per_element());

    // Answered means on disk: kill -9, start again on the same state.
    daemon->kill_hard();
    daemon = std::make_unique<DaemonProcess>(options);
    daemon->wait_ready();
    HttpClient again("127.0.0.1", daemon->port());
    BOOST_TEST(
        again.get("/streaming/alerts/rules/aapl-200").json().at("value").to_number<double>() ==
        200.0);
    BOOST_TEST(again.get("/streaming/alerts/rules/" + generated).status == 200u);
    BOOST_TEST(again.del("/streaming/alerts/rules/aapl-200").status == 204u);
    BOOST_TEST(again.del("/streaming/alerts/rules/aapl-200").status == 404u);
    BOOST_TEST(again.get("/streaming/alerts/rules/aapl-200").status == 404u);
    BOOST_TEST(again.get("/streaming/alerts/rules/not%20an%20id").status == 422u);
}

BOOST_AUTO_TEST_CASE(webhooks_are_signed_filtered_and_delivered_again_after_the_receiver_was_down) {
    FixtureServer receiver;
    FixtureRoute down;
    down.behaviour = FixtureRoute::Behaviour::hang_up;
    receiver.route("/hook", down);
    TempDir files("tickerd-alerts");
    auto secret_file = files.write("hook.secret", "s3cret\n");
    json::object config{{"instruments",
                         {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}},
                          {{"symbol", "MSFT"}, {"data_types", {"market_data"}}}}},
                        {"alerts",
                         {{"webhook_max_backoff_seconds", 1},
                          {"webhooks",
                           {{{"url", receiver.url("/hook?token=abc")},
                             {"secret_file", secret_file.string()},
                             {"rules", {"aapl-*"}}}}}}}};
    auto daemon = start_daemon_with_config(files, config);
    HttpClient http("127.0.0.1", daemon->port());
    BOOST_TEST_REQUIRE(
        http.post_json("/streaming/alerts/rules",
                       {{"id", "aapl-200"}, {"symbol", "AAPL"}, {"op", ">"}, {"value", 200}})
            .status == 201u);
    BOOST_TEST_REQUIRE(
        http.post_json("/streaming/alerts/rules",
                       {{"id", "msft-1"}, {"symbol", "MSFT"}, {"op", "<"}, {"value", 1}})
            .status == 201u);
    for (auto [symbol, price] : {std::pair{"AAPL", 190.0}, std::pair{"AAPL", 201.0},
                                 std::pair{"MSFT", 2.0}, std::pair{"MSFT", 0.5}})
        BOOST_TEST_REQUIRE(publish_price(http, symbol, price).status == 202u);

    // Down: the connection is dropped unanswered, again and again.
    BOOST_TEST_REQUIRE(
        wait_until([&] { return webhook_status(http).at("failed_attempts").to_number<int>() >= 3; },
                   15s),
        daemon->log_tail());
    auto status = webhook_status(http);
    BOOST_TEST(status.at("url") == json::value(receiver.url("/hook")));  // no query shown
    BOOST_TEST(status.at("delivered").to_number<int>() == 0);
    BOOST_TEST(status.at("queued").to_number<int>() == 1);

    FixtureRoute up;
    up.body = "{}";
    receiver.route("/hook", up);
    BOOST_TEST_REQUIRE(
        wait_until([&] { return webhook_status(http).at("delivered").to_number<int>() == 1; }, 15s),
        daemon->log_tail());
    auto requests = receiver.requests();
    BOOST_TEST_REQUIRE(requests.size() >= 4u);
    for (const auto& request : requests) {
        BOOST_TEST(request.method == "POST");
        BOOST_TEST(request.headers.at("content-type") == "application/json");
        BOOST_TEST(request.headers.at("x-tickerd-signature") ==
                   "sha256=" + hmac_sha256_hex("s3cret", request.body));
        BOOST_TEST(request.body == requests.front().body);  // the same delivery, retried
    }
    auto body = json::parse(requests.back().body).as_object();
    BOOST_TEST(body.at("channel") == "stream:alerts:AAPL");
    BOOST_TEST(body.at("alert").at("rule") == "aapl-200");
    BOOST_TEST(body.at("alert").at("details").at("observed").to_number<double>() == 201.0);
    BOOST_TEST(!body.at("delivery").as_string().empty());
    // msft-1 fired too (the stream and the counts say so), but this webhook did not ask for it.
    auto alerts = http.get("/streaming/alerts").json().as_object();
    BOOST_TEST(alerts.at("raised").at("price").to_number<int>() == 2);
    BOOST_TEST(webhook_status(http).at("queued").to_number<int>() == 0);
    auto metrics = http.get("/metrics").body;
    BOOST_TEST(
        metrics.find("tickerd_alert_webhook_deliveries_total{webhook=\"" + receiver.url("/hook") +
                     "\",result=\"delivered\"} 1") != std::string::npos,
        metrics);
}

BOOST_AUTO_TEST_CASE(redis_down_reaches_the_webhook_at_once_and_the_stream_once_redis_is_back) {
    RedisServer redis;
    FixtureServer receiver;
    FixtureRoute ok;
    ok.body = "{}";
    receiver.route("/hook", ok);
    TempDir files("tickerd-alerts");
    json::object config{
        {"alerts",
         {{"redis_down_seconds", 1},
          {"webhooks",
           {{{"url", receiver.url("/hook")}, {"secret", "s3cret"}, {"rules", {"redis_*"}}}}}}}};
    auto daemon = start_daemon_with_config(files, config,
                                           {{"REDIS_ENABLED", "true"},
                                            {"REDIS_HOST", "127.0.0.1"},
                                            {"REDIS_PORT", std::to_string(redis.port())}});
    HttpClient http("127.0.0.1", daemon->port());
    auto received = [&](const std::string& state) {
        for (const auto& request : receiver.requests()) {
            auto alert = json::parse(request.body).at("alert");
            if (alert.at("rule") == "redis_down" && alert.at("state") == json::value(state))
                return true;
        }
        return false;
    };

    redis.kill();
    BOOST_TEST_REQUIRE(wait_until([&] { return received("firing"); }, 15s), daemon->log_tail());
    BOOST_TEST(http.get("/streaming/alerts").json().at("unpublished").to_number<int>() >= 1);
    redis.restart();
    BOOST_TEST_REQUIRE(wait_until([&] { return received("resolved"); }, 20s), daemon->log_tail());
    // Published in order once Redis answers again: both are in the channel's history.
    std::vector<std::string> states;
    BOOST_TEST(wait_until(
        [&] {
            auto history = http.get("/streaming/history/" + kSystem);
            if (history.status != 200) return false;
            states.clear();
            auto body = history.json();
            for (const auto& message : body.at("messages").as_array())
                states.emplace_back(message.at("data").at("state").as_string());
            return states.size() >= 2;
        },
        20s));
    BOOST_TEST(states == (std::vector<std::string>{"firing", "resolved"}),
               boost::test_tools::per_element());
}
