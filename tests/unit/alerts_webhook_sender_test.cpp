// One webhook's sender against a local receiver (the fixture HTTP server): a full queue drops
// its oldest alerts and counts them, the newest are delivered in order once the receiver
// answers; a 4xx is given up at once (one request, counted as rejected); every request is
// signed; a stop ends a sender that is still retrying.
#define BOOST_TEST_MODULE alerts_webhook_sender
#include "alerts/alerts.hpp"
#include "alerts/webhook_sender.hpp"

#include "support/daemon.hpp"
#include "support/fixture_server.hpp"

#include <boost/test/unit_test.hpp>

using namespace tickerd;
using namespace tickerd::testing;
using tickerd::alerts::detail::WebhookSender;
using namespace std::chrono_literals;

namespace {

WebhookSettings hook_at(const FixtureServer& receiver) {
    WebhookSettings settings;
    settings.url = receiver.url("/hook");
    return settings;
}

FixtureRoute answering(unsigned status) {
    FixtureRoute route;
    route.status = status;
    route.body = "{}";
    return route;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_full_queue_drops_the_oldest_and_delivers_the_rest_in_order) {
    FixtureServer receiver;
    receiver.route("/hook", answering(503));
    WebhookSender sender(hook_at(receiver), "s3cret", /*queue_limit=*/2, std::chrono::seconds(1));
    for (const char* body : {"a", "b", "c", "d", "e"})
        sender.send(body);
    auto counts = sender.counts();
    BOOST_TEST(counts.dropped == 3u);
    BOOST_TEST(counts.queued == 2u);

    BOOST_TEST_REQUIRE(wait_until([&] { return sender.counts().failed_attempts >= 1; }, 10s));
    receiver.route("/hook", answering(200));
    BOOST_TEST_REQUIRE(wait_until([&] { return sender.counts().queued == 0; }, 10s));
    BOOST_TEST(sender.counts().delivered >= 2u);
    BOOST_TEST(sender.counts().rejected == 0u);
    std::vector<std::string> delivered;
    for (const auto& request : receiver.requests()) {
        BOOST_TEST(request.headers.at("x-tickerd-signature") ==
                   alerts::signature("s3cret", request.body));
        if (delivered.empty() || delivered.back() != request.body)
            delivered.push_back(request.body);
    }
    // What was in flight when the queue overflowed may be tried once more; "d" and "e" come
    // last, in order.
    BOOST_TEST_REQUIRE(delivered.size() >= 2u);
    BOOST_TEST(delivered[delivered.size() - 2] == "d");
    BOOST_TEST(delivered.back() == "e");
}

BOOST_AUTO_TEST_CASE(a_4xx_is_given_up_at_once) {
    FixtureServer receiver;
    receiver.route("/hook", answering(400));
    WebhookSender sender(hook_at(receiver), "s3cret", 10, std::chrono::seconds(1));
    sender.send("{\"x\":1}");
    BOOST_TEST_REQUIRE(wait_until([&] { return sender.counts().rejected == 1; }, 10s));
    std::this_thread::sleep_for(1500ms);  // long enough for a retry, were there one
    BOOST_TEST(receiver.requests().size() == 1u);
    auto status = sender.status();
    BOOST_TEST(status.at("last").at("status").to_number<int>() == 400);
    BOOST_TEST(status.at("delivered").to_number<int>() == 0);
}

BOOST_AUTO_TEST_CASE(stop_ends_a_sender_that_is_retrying) {
    FixtureServer receiver;
    receiver.route("/hook", answering(503));
    WebhookSender sender(hook_at(receiver), "s3cret", 10, std::chrono::seconds(60));
    sender.send("a");
    sender.send("b");
    BOOST_TEST_REQUIRE(wait_until([&] { return sender.counts().failed_attempts >= 1; }, 10s));
    auto started = std::chrono::steady_clock::now();
    BOOST_TEST(sender.stop() == 2u);  // both still waiting
    BOOST_TEST((std::chrono::steady_clock::now() - started < 5s));
}

BOOST_AUTO_TEST_CASE(urls_are_shown_without_credentials_or_query) {
    using alerts::detail::shown_url;
    BOOST_TEST(shown_url("https://user:pw@hooks.example.com:8443/t?token=x#f") ==
               "https://hooks.example.com:8443/t");
    BOOST_TEST(shown_url("http://127.0.0.1:9/hook") == "http://127.0.0.1:9/hook");
    BOOST_TEST(shown_url("http://example.com?key=1") == "http://example.com");
}
