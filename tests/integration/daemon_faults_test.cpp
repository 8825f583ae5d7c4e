// Faults injected through the mock vendor's settings, seen from outside the real daemon:
// priority fallback, a vendor that never answers, and a clean SIGTERM with clients attached.
#define BOOST_TEST_MODULE daemon_faults
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <memory>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string text(const json::value& root, std::string_view pointer) {
    const auto* found = find_path(root, pointer);
    return found && found->is_string() ? std::string(found->as_string()) : std::string();
}

std::optional<json::value> latest(HttpClient& http, const std::string& channel) {
    auto response = http.get("/streaming/latest/" + channel);
    if (response.status != 200) return std::nullopt;
    auto body = response.json();  // kept alive: find_path points into it
    const auto* message = find_path(body, "/message");
    if (!message || !message->is_object()) return std::nullopt;
    return *message;
}

std::optional<json::value> wait_for_latest(HttpClient& http, const std::string& channel,
                                           std::chrono::milliseconds timeout) {
    std::optional<json::value> found;
    wait_until([&] { return (found = latest(http, channel)).has_value(); }, timeout, 200ms);
    return found;
}

json::value one_instrument(std::initializer_list<const char*> data_types) {
    json::array types;
    for (const char* type : data_types)
        types.push_back(json::string(type));
    return json::array{{{"symbol", "AAPL"}, {"data_types", types}}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_failing_vendor_falls_back_to_the_next_priority) {
    TempDir files("tickerd-faults");
    auto daemon = start_daemon_with_config(
        files,
        {{"vendors",
          {{{"name", "mock_a"},
            {"plugin", "mock"},
            {"priority", 10},
            {"settings", {{"fail_rate", 1.0}}}},
           {{"name", "mock_b"}, {"plugin", "mock"}, {"priority", 20}}}},
         {"instruments", one_instrument({"market_data"})},
         {"cadences",
          {{"market_data",
            {{"interval_seconds", 1}, {"retry_attempts", 1}, {"vendor_fallback", true}}}}}},
        kAutoStartWorkers);
    HttpClient http("127.0.0.1", daemon->port());

    auto message = wait_for_latest(http, "stream:market_data:AAPL", 20s);
    BOOST_REQUIRE_MESSAGE(message, "no message within 20 s\n" << daemon->log_tail());
    BOOST_TEST(text(*message, "/vendor") == "mock_b", json::serialize(*message));
    const auto* fallback = find_path(*message, "/metadata/fallback_used");
    BOOST_TEST((fallback && fallback->is_bool() && fallback->as_bool()), json::serialize(*message));
    BOOST_TEST(stream_message_problems(*message, "stream:market_data:AAPL").empty(),
               join(stream_message_problems(*message, "stream:market_data:AAPL")));

    // Telemetry records mock_a's failures.
    auto telemetry = http.get("/streaming/config/telemetry/market_data?limit=50");
    BOOST_TEST(telemetry.status == 200u);
    BOOST_TEST(telemetry.body.find("mock_a") != std::string::npos, telemetry.body);
}

BOOST_AUTO_TEST_CASE(a_hanging_vendor_blocks_neither_other_workers_nor_the_api) {
    TempDir files("tickerd-faults");
    // Both data types try `stuck` first and wait 300 ms for it. Market data may not fall
    // back, so it never gets data; news falls back and must keep flowing.
    auto daemon = start_daemon_with_config(
        files,
        {{"vendors",
          {{{"name", "stuck"},
            {"plugin", "mock"},
            {"priority", 10},
            {"timeout_ms", 300},
            {"settings", {{"hang", true}}}},
           {{"name", "healthy"}, {"plugin", "mock"}, {"priority", 20}}}},
         {"instruments", one_instrument({"market_data", "news"})},
         {"cadences",
          {{"market_data",
            {{"interval_seconds", 1}, {"retry_attempts", 0}, {"vendor_fallback", false}}},
           {"news", {{"interval_seconds", 1}, {"retry_attempts", 0}, {"vendor_fallback", true}}}}}},
        kAutoStartWorkers);
    HttpClient http("127.0.0.1", daemon->port(), 5s);

    auto first = wait_for_latest(http, "stream:news:AAPL", 20s);
    BOOST_REQUIRE_MESSAGE(first, "news never arrived\n" << daemon->log_tail());
    BOOST_TEST(text(*first, "/vendor") == "healthy");

    // For a few seconds: the API answers every time, and news keeps coming.
    auto until = Clock::now() + 4s;
    auto slowest = Clock::duration::zero();
    while (Clock::now() < until) {
        auto started = Clock::now();
        BOOST_TEST_REQUIRE(http.get("/").status == 200u);
        slowest = std::max(slowest, Clock::now() - started);
        std::this_thread::sleep_for(100ms);
    }
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count() < 2000,
               "the API answered within 2 s even while a vendor hangs");
    auto later = latest(http, "stream:news:AAPL");
    BOOST_REQUIRE(later);
    BOOST_TEST(seq_of(*later) > seq_of(*first), "news kept flowing");
    BOOST_TEST(!latest(http, "stream:market_data:AAPL").has_value(),
               "market data had only the hanging vendor");

    auto worker = http.get("/streaming/config/workers/worker_market_data");
    BOOST_TEST(worker.status == 200u);
    BOOST_TEST(text(worker.json(), "/status") == "running", worker.body);
    auto worker_body = worker.json();  // kept alive: find_path points into it
    const auto* errors = find_path(worker_body, "/error_count");
    BOOST_TEST((errors && errors->is_number() && errors->to_number<double>() >= 1), worker.body);
}

BOOST_AUTO_TEST_CASE(sigterm_ends_streams_cleanly_and_exits_0) {
    TempDir files("tickerd-faults");
    auto daemon =
        start_daemon_with_config(files,
                                 {{"vendors", mock_vendors()},
                                  {"instruments", one_instrument({"market_data"})},
                                  {"cadences", {{"market_data", {{"interval_seconds", 1}}}}}},
                                 kAutoStartWorkers);

    SseClient sse("127.0.0.1", daemon->port());
    auto opened = sse.open_get("/streaming/subscribe/sse?channels=stream:market_data:AAPL");
    BOOST_REQUIRE_EQUAL(opened.status, 200u);
    BOOST_REQUIRE_MESSAGE(sse.next_data_event(15s), "no data before the shutdown");
    WsClient ws("127.0.0.1", daemon->port());
    ws.connect("/streaming/ws?channels=stream:market_data:AAPL");
    BOOST_REQUIRE(ws.next_of_type("data", 15s));

    auto started = Clock::now();
    auto status = daemon->terminate(10s);
    BOOST_REQUIRE_MESSAGE(status, "no exit within 10 s of SIGTERM\n" << daemon->log_tail());
    BOOST_TEST(status->success(), describe(*status) << "\n" << daemon->log_tail());
    BOOST_TEST(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count() <
               10);

    // What the daemon sent before exiting is still in our sockets.
    wait_until([&] { return !sse.next_event(1s) && sse.ended(); }, 5s, 0ms);
    BOOST_TEST(sse.ended());
    BOOST_TEST(sse.ended_cleanly(), "SSE body ended cleanly: " << sse.end_reason());

    wait_until([&] { return !ws.next_text(1s) && ws.closed(); }, 5s, 0ms);
    BOOST_TEST(ws.closed());
    BOOST_TEST(ws.close_code().value_or(0) == 1001,
               "close code " << ws.close_code().value_or(0) << " " << ws.error());
    auto log = daemon->log();
    BOOST_TEST(log.find("ERROR: AddressSanitizer") == std::string::npos, log);
    BOOST_TEST(log.find("runtime error") == std::string::npos, log);
}

BOOST_AUTO_TEST_CASE(sigterm_during_a_hanging_poll_still_exits_in_time) {
    TempDir files("tickerd-faults");
    auto daemon =
        start_daemon_with_config(files,
                                 {{"vendors",
                                   {{{"name", "stuck"},
                                     {"plugin", "mock"},
                                     {"timeout_ms", 60000},
                                     {"settings", {{"hang", true}}}}}},
                                  {"instruments", one_instrument({"market_data"})},
                                  {"cadences", {{"market_data", {{"interval_seconds", 1}}}}}},
                                 kAutoStartWorkers);
    HttpClient http("127.0.0.1", daemon->port());
    // Let a poll start and hang.
    std::this_thread::sleep_for(1500ms);
    BOOST_TEST(http.get("/").status == 200u);

    auto status = daemon->terminate(10s);
    BOOST_REQUIRE_MESSAGE(status, "no exit within 10 s of SIGTERM\n" << daemon->log_tail());
    BOOST_TEST(status->success(), describe(*status) << "\n" << daemon->log_tail());
}
