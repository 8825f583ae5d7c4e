// GET /readyz (CONTRACT.md §9): ready while the instance can serve what is configured; 503 with
// the reasons, each one an operator can act on, when it cannot — no vendor for a data type
// an instrument asks for, Redis unreachable — and ready again once that is mended.
#define BOOST_TEST_MODULE daemon_health
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const json::array kAapl{{{"symbol", "AAPL"}, {"data_types", {"market_data", "news"}}}};

}  // namespace

BOOST_AUTO_TEST_CASE(ready_with_a_vendor_for_every_data_type_asked_for) {
    TempDir files("tickerd-health");
    auto daemon =
        start_daemon_with_config(files, {{"vendors", mock_vendors()}, {"instruments", kAapl}});
    HttpClient http("127.0.0.1", daemon->port());
    auto ready = http.get("/readyz");
    BOOST_TEST(ready.status == 200u, ready.body);
    BOOST_TEST(ready.json().at("status").as_string() == "ready");
}

BOOST_AUTO_TEST_CASE(not_ready_without_a_vendor_and_ready_once_the_instrument_goes) {
    TempDir files("tickerd-health");
    auto daemon =
        start_daemon_with_config(files, {{"vendors", json::array{}}, {"instruments", kAapl}});
    HttpClient http("127.0.0.1", daemon->port());
    auto not_ready = http.get("/readyz");
    BOOST_TEST(not_ready.status == 503u, not_ready.body);
    auto body = not_ready.json();
    BOOST_TEST(body.at("status").as_string() == "not_ready");
    BOOST_TEST(body.at("reasons").as_array().size() == 2u, not_ready.body);
    BOOST_TEST(detail_of(not_ready).find("no vendor instance is ready for market_data") !=
                   std::string::npos,
               not_ready.body);
    BOOST_TEST(http.get("/livez").status == 200u);  // alive all the same
    BOOST_REQUIRE(http.del("/streaming/config/instruments/AAPL").status == 204u);
    BOOST_TEST(http.get("/readyz").status == 200u);
}

BOOST_AUTO_TEST_CASE(not_ready_while_redis_is_unreachable) {
    RedisServer redis;
    TempDir files("tickerd-health");
    auto daemon = start_daemon_with_config(files, {{"vendors", mock_vendors()}},
                                           {{"REDIS_ENABLED", "true"},
                                            {"REDIS_HOST", "127.0.0.1"},
                                            {"REDIS_PORT", std::to_string(redis.port())}});
    HttpClient http("127.0.0.1", daemon->port());
    BOOST_TEST(wait_until([&] { return http.get("/readyz").status == 200u; }, 10s));
    redis.kill();
    BOOST_TEST(wait_until([&] { return http.get("/readyz").status == 503u; }, 10s));
    auto down = http.get("/readyz");
    BOOST_TEST(detail_of(down).find("Redis is unreachable") != std::string::npos, down.body);
    redis.restart();
    BOOST_TEST(wait_until([&] { return http.get("/readyz").status == 200u; }, 15s));
}
