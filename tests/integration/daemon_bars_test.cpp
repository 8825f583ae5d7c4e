// OHLC bars (CONTRACT.md §8) against the daemon: with the mock vendor and 2-second bars,
// every bar the daemon streams is checked against bars computed independently from the
// market_data messages the same run received; an update per tick, one final per interval,
// finals for intervals with no tick (updates 0, OHLC the previous close),
// GET /streaming/bars answering the same finals, and the series ending with its instrument.
#define BOOST_TEST_MODULE daemon_bars
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <signal.h>

#include <thread>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kTicks = "stream:market_data:AAPL";
const std::string kBars = "stream:bars_2s:AAPL";
constexpr int64_t kIntervalMs = 2000;

std::unique_ptr<DaemonProcess> start_bars_daemon(const TempDir& files) {
    json::value config = {
        {"vendors", mock_vendors()},
        {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
        {"cadences", {{"market_data", {{"interval_seconds", 0.25}}}}},
        {"bars", {{"intervals", {"2s", "1d"}}, {"daily_time_zone", "America/New_York"}}}};
    return start_daemon_with_config(files, config);
}

// Every data event of the stream until `until`, split by channel.
void collect(SseClient& sse, std::chrono::steady_clock::time_point until,
             std::vector<json::value>& ticks, std::vector<json::value>& bars) {
    while (std::chrono::steady_clock::now() < until) {
        auto event = sse.next_data_event(200ms);
        if (!event) continue;
        auto message = event->json();
        const auto& channel = message.at("channel").as_string();
        if (channel == kTicks) ticks.push_back(message);
        if (channel == kBars) bars.push_back(message);
    }
}

void check_same_bar(const json::object& got, const TickBar& want) {
    BOOST_TEST(got.at("open").to_number<double>() == want.open);
    BOOST_TEST(got.at("high").to_number<double>() == want.high);
    BOOST_TEST(got.at("low").to_number<double>() == want.low);
    BOOST_TEST(got.at("close").to_number<double>() == want.close);
    BOOST_TEST(got.at("volume").to_number<double>() == want.volume);
    BOOST_TEST(got.at("updates").to_number<int64_t>() == want.updates);
    BOOST_TEST(unix_ms_of(got.at("end")) == want.end_ms);
}

}  // namespace

BOOST_AUTO_TEST_CASE(bars_match_bars_computed_from_the_same_runs_ticks) {
    TempDir files("tickerd-bars");
    auto daemon = start_bars_daemon(files);
    HttpClient http("127.0.0.1", daemon->port());
    SseClient sse("127.0.0.1", daemon->port());
    BOOST_TEST_REQUIRE(
        sse.open_get("/streaming/subscribe/sse?channels=" + kTicks + "," + kBars).status == 200);
    // Subscribed before the first poll, so the reference sees every tick.
    BOOST_TEST_REQUIRE(http.post("/streaming/config/workers/start-all").status == 204,
                       daemon->log_tail());

    std::vector<json::value> ticks, bars;
    collect(sse, std::chrono::steady_clock::now() + 7s, ticks, bars);
    BOOST_TEST_REQUIRE(http.post("/streaming/config/workers/stop-all").status == 204);
    // No more ticks: the open bar closes, and the next intervals close empty.
    collect(sse, std::chrono::steady_clock::now() + 5s, ticks, bars);
    BOOST_TEST_REQUIRE(ticks.size() >= 10u, daemon->log_tail());

    auto reference = bars_from_ticks(ticks, kIntervalMs);
    BOOST_TEST_REQUIRE(reference.size() >= 3u);

    // One update per tick, each the reference over the ticks so far of its bucket.
    std::vector<json::object> updates, finals;
    for (const auto& message : bars) {
        BOOST_TEST(join(stream_message_problems(message, kBars)) == "");
        const auto& data = message.at("data").as_object();
        (data.at("final").as_bool() ? finals : updates).push_back(data);
    }
    BOOST_TEST(updates.size() == ticks.size());
    for (std::size_t i = 0; i < std::min(updates.size(), ticks.size()); ++i) {
        auto upto = bars_from_ticks({ticks.begin(), ticks.begin() + i + 1}, kIntervalMs);
        BOOST_TEST_CONTEXT("update " << i) {
            int64_t start = unix_ms_of(updates[i].at("start"));
            BOOST_TEST_REQUIRE(upto.contains(start));
            check_same_bar(updates[i], upto.at(start));
        }
    }

    // One final per bucket with ticks, equal to the reference; then finals of empty
    // intervals at the last close, each starting where the previous ended.
    std::size_t f = 0;
    for (const auto& [start, want] : reference) {
        BOOST_TEST_CONTEXT("bar starting at " << start) {
            BOOST_TEST_REQUIRE(f < finals.size());
            BOOST_TEST(unix_ms_of(finals[f].at("start")) == start);
            check_same_bar(finals[f], want);
        }
        ++f;
    }
    BOOST_TEST_REQUIRE(finals.size() >= reference.size() + 1, "no final for an empty interval");
    double last_close = reference.rbegin()->second.close;
    for (; f < finals.size(); ++f) {
        BOOST_TEST_CONTEXT("empty final " << f) {
            BOOST_TEST(finals[f].at("updates").to_number<int64_t>() == 0);
            for (const char* field : {"open", "high", "low", "close"})
                BOOST_TEST(finals[f].at(field).to_number<double>() == last_close);
            BOOST_TEST(finals[f].at("volume").to_number<double>() == 0.0);
            BOOST_TEST(finals[f].at("start") == finals[f - 1].at("end"));
        }
    }

    // The aggregating instance answers GET /streaming/bars from its ring: the same finals.
    auto answer = http.get("/streaming/bars/aapl?interval=2s&limit=3");
    BOOST_TEST_REQUIRE(answer.status == 200, answer.body);
    auto body = json::parse(answer.body);
    BOOST_TEST(body.at("source").as_string() == "aggregator");
    BOOST_TEST(body.at("symbol").as_string() == "AAPL");
    const auto& listed = body.at("bars").as_array();
    BOOST_TEST_REQUIRE(listed.size() == 3u);
    // The ring may hold a final the stream had not delivered yet when collection stopped.
    auto last_seen = std::find(listed.begin(), listed.end(), json::value(finals.back()));
    BOOST_TEST(last_seen != listed.end());

    // Refusals name the parameter.
    auto bad_interval = http.get("/streaming/bars/AAPL?interval=7m");
    BOOST_TEST(bad_interval.status == 422);
    BOOST_TEST(detail_of(bad_interval).find("7m") != std::string::npos);
    BOOST_TEST(http.get("/streaming/bars/AAPL?interval=2s&limit=0").status == 422);
    // Bars are the daemon's own: no client publishes into them.
    auto publish =
        http.request("POST", "/streaming/publish/" + kBars, R"({"data":{}})", "application/json");
    BOOST_TEST(publish.status == 422);
    // The daily series runs too, in the exchange's day.
    auto daily = json::parse(http.get("/streaming/latest/stream:bars_1d:AAPL").body);
    BOOST_TEST_REQUIRE(daily.at("message").is_object());
    BOOST_TEST(daily.at("message").at("data").at("updates").to_number<int64_t>() ==
               static_cast<int64_t>(ticks.size()));

    // An instrument removed ends its series: no more empty finals for it.
    BOOST_TEST_REQUIRE(http.del("/streaming/config/instruments/AAPL").status == 204);
    std::vector<json::value> late_ticks, late_bars;
    collect(sse, std::chrono::steady_clock::now() + 1s, late_ticks, late_bars);  // in flight
    late_bars.clear();
    collect(sse, std::chrono::steady_clock::now() + 4500ms, late_ticks, late_bars);
    BOOST_TEST(late_bars.empty(), late_bars.size() << " bar(s) after the instrument went");
}

// Two instances on one Redis: the one polling AAPL (it holds the symbol's lease) aggregates its
// bars; killed, the other takes the lease over and continues the same series — numbering on
// from the last bar, each final starting where the previous one ended, none twice.
BOOST_AUTO_TEST_CASE(a_symbol_handed_to_another_instance_keeps_one_bar_series) {
    RedisServer redis;
    TempDir files("tickerd-bars");
    json::value config = {
        {"vendors", mock_vendors()},
        {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
        {"cadences", {{"market_data", {{"interval_seconds", 0.25}}}}},
        {"bars", {{"intervals", {"2s"}}}},
        {"redis",
         {{"enabled", true}, {"host", "127.0.0.1"}, {"port", redis.port()}, {"lease_ms", 1000}}}};
    auto first = start_daemon_with_config(files, config, kAutoStartWorkers);
    auto second = start_daemon_with_config(files, config, kAutoStartWorkers);
    // The client watches a third instance, an edge that polls nothing, so it outlives both.
    auto edge_config = config;
    edge_config.as_object()["role"] = "edge";
    auto edge = start_daemon_with_config(files, edge_config);
    SseClient sse("127.0.0.1", edge->port());
    BOOST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kBars).status == 200u);

    std::vector<json::value> ticks, bars;
    collect(sse, std::chrono::steady_clock::now() + 5s, ticks, bars);
    BOOST_REQUIRE_MESSAGE(!bars.empty(), "no bars before the handover");
    auto holder = text_at(bars.back(), "/metadata/instance");
    auto& polling = holder.ends_with("-" + std::to_string(first->pid())) ? first : second;
    auto& other = &polling == &first ? second : first;
    BOOST_REQUIRE(holder.ends_with("-" + std::to_string(polling->pid())));
    ::kill(polling->pid(), SIGKILL);  // no goodbye: the lease has to run out
    collect(sse, std::chrono::steady_clock::now() + 8s, ticks, bars);

    std::vector<json::value> finals;
    int64_t last_seq = 0;
    bool handed_over = false;
    for (const auto& bar : bars) {
        BOOST_TEST(seq_of(bar) > last_seq, "seq " << seq_of(bar) << " after " << last_seq);
        last_seq = seq_of(bar);
        auto instance = text_at(bar, "/metadata/instance");
        handed_over = handed_over || instance.ends_with("-" + std::to_string(other->pid()));
        if (bar.at("data").at("final").as_bool()) finals.push_back(bar.at("data"));
    }
    BOOST_TEST(handed_over, "the other instance never published a bar");
    BOOST_REQUIRE(finals.size() >= 4u);
    // The edge aggregates nothing: it answers from the bar channel's history in Redis, the
    // same finals the stream carried.
    HttpClient on_edge("127.0.0.1", edge->port());
    auto answer = on_edge.get("/streaming/bars/AAPL?interval=2s&limit=3");
    BOOST_REQUIRE_MESSAGE(answer.status == 200u, answer.body);
    auto body = answer.json();
    BOOST_TEST(text_at(body, "/source") == "history");
    const auto& listed = body.at("bars").as_array();
    BOOST_REQUIRE_MESSAGE(listed.size() == 3u, answer.body);
    BOOST_TEST(std::find(listed.begin(), listed.end(), finals.back()) != listed.end(),
               json::serialize(listed));
    for (std::size_t i = 1; i < finals.size(); ++i) {
        BOOST_TEST(unix_ms_of(finals[i].at("start")) == unix_ms_of(finals[i - 1].at("end")),
                   "final " << i << " starts at " << json::serialize(finals[i].at("start"))
                            << ", the one before ended at "
                            << json::serialize(finals[i - 1].at("end")));
    }
}
