// The quick start, run against the real daemon binary: a config file with four instruments,
// market data every second, workers started by AUTO_START_WORKERS, the mock vendor named (as
// etc/quickstart.json does: it serves simulated data, so it runs only when named); then
// the seed's curl, SSE and WebSocket examples unchanged.
#define BOOST_TEST_MODULE daemon_quickstart
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <memory>
#include <set>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kAaplChannel = "stream:market_data:AAPL";
const std::string kMsftChannel = "stream:market_data:MSFT";

json::value quickstart_config() {
    json::array instruments;
    for (const char* symbol : {"AAPL", "MSFT", "TSLA", "NVDA"}) {
        instruments.push_back({{"symbol", symbol}, {"data_types", {"market_data"}}});
    }
    return {{"vendors", mock_vendors()},
            {"instruments", instruments},
            {"cadences", {{"market_data", {{"interval_seconds", 1}}}}}};
}

// One daemon for the whole module: starting it is the expensive part, and the cases below
// only add to its state.
struct QuickStart {
    TempDir files{"tickerd-quickstart"};
    std::unique_ptr<DaemonProcess> daemon;

    QuickStart() {
        DaemonOptions options;
        options.config_file = write_config(files, quickstart_config());
        options.env = {{"AUTO_START_WORKERS", "true"}};
        daemon = std::make_unique<DaemonProcess>(options);
        daemon->wait_ready();
    }
    HttpClient http() const { return HttpClient("127.0.0.1", daemon->port()); }
};

QuickStart& quickstart() {
    static QuickStart instance;
    return instance;
}

// Polls GET /streaming/latest/{channel} until it holds a message.
std::optional<json::value> wait_for_latest(HttpClient& http, const std::string& channel,
                                           std::chrono::milliseconds timeout) {
    std::optional<json::value> found;
    wait_until(
        [&] {
            auto response = http.get("/streaming/latest/" + channel);
            if (response.status != 200) return false;
            auto body = response.json();
            const auto* message = find_path(body, "/message");
            if (message && message->is_object()) found = *message;
            return found.has_value();
        },
        timeout, 200ms);
    return found;
}

// Message ids increase per channel: compare as "<ms>-<seq>" when they have that shape, else
// at least they must differ.
bool id_increases(const std::string& before, const std::string& after) {
    auto a = parse_message_id(before);
    auto b = parse_message_id(after);
    if (a && b) return *a < *b;
    return before != after;
}

std::string text(const json::value& root, std::string_view pointer) {
    const auto* found = find_path(root, pointer);
    return found && found->is_string() ? std::string(found->as_string()) : std::string();
}

// Reads `count` data events and checks they are well-formed, increasing messages of `channel`.
void expect_increasing_events(SseClient& sse, const std::string& channel, int count) {
    std::string last_id;
    int64_t last_seq = -1;
    for (int i = 0; i < count; ++i) {
        auto event = sse.next_data_event(10s);
        BOOST_REQUIRE_MESSAGE(event, "no data event " << i << " within 10 s (ended: " << sse.ended()
                                                      << " " << sse.end_reason() << ")");
        BOOST_TEST(!event->event.has_value(), "data events carry no event: line");
        auto message = event->json();
        BOOST_TEST(stream_message_problems(message, channel).empty(),
                   join(stream_message_problems(message, channel)));
        BOOST_TEST(event->id.value_or("") == text(message, "/id"), "SSE id: is the message id");
        if (i > 0) {
            BOOST_TEST(id_increases(last_id, *event->id), last_id << " then " << *event->id);
            BOOST_TEST(seq_of(message) > last_seq);
        }
        last_id = event->id.value_or("");
        last_seq = seq_of(message);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(latest_market_data_arrives_within_15_seconds) {
    auto http = quickstart().http();
    auto message = wait_for_latest(http, kAaplChannel, 15s);
    BOOST_REQUIRE_MESSAGE(message, "no AAPL market data within 15 s\n"
                                       << quickstart().daemon->log_tail());
    BOOST_TEST(stream_message_problems(*message, kAaplChannel).empty(),
               join(stream_message_problems(*message, kAaplChannel)));
    const auto* price = find_path(*message, "/data/price");
    BOOST_TEST((price && price->is_number()), "data.price is a number");
    BOOST_TEST(text(*message, "/vendor") == "mock");
    const auto* simulated = find_path(*message, "/metadata/simulated");
    BOOST_TEST((simulated && *simulated == true), "the mock's data says it is simulated");
    BOOST_TEST(text(*message, "/metadata/worker_id") == "worker_market_data");
    BOOST_TEST(text(*message, "/update_type") == "snapshot");
}

BOOST_AUTO_TEST_CASE(status_and_channels) {
    auto http = quickstart().http();
    auto status = http.get("/");
    BOOST_TEST(status.status == 200u);
    auto body = status.json();
    BOOST_TEST(find_path(body, "/version") != nullptr, status.body);
    BOOST_TEST(find_path(body, "/redis") != nullptr, status.body);
    BOOST_TEST(find_path(body, "/streaming") != nullptr, status.body);
    BOOST_TEST(find_path(body, "/plugins/http/requests") != nullptr, status.body);

    auto channels = http.get("/streaming/channels");
    BOOST_REQUIRE(channels.status == 200u);
    std::set<std::string> names;
    for (const auto& entry : items_of(channels.json(), "channels"))
        names.insert(text(entry, "/channel"));
    for (const char* symbol : {"AAPL", "MSFT", "TSLA", "NVDA"}) {
        BOOST_TEST(names.count(std::string("stream:market_data:") + symbol) == 1u,
                   symbol << " listed in " << channels.body);
    }
}

BOOST_AUTO_TEST_CASE(seed_curl_examples_work_unchanged) {
    auto http = quickstart().http();
    auto aapl = http.request(
        "POST", "/streaming/config/instruments",
        R"({"symbol": "AAPL", "data_types": ["market_data", "news"], "enabled": true})");
    BOOST_TEST(aapl.status == 201u, aapl.body);
    BOOST_TEST(text(aapl.json(), "/symbol") == "AAPL");
    BOOST_TEST(items_of(aapl.json(), "data_types").size() == 2u, aapl.body);

    auto tsla = http.request(
        "POST", "/streaming/config/instruments",
        R"({"symbol": "TSLA", "data_types": ["market_data", "fundamentals"], "enabled": true})");
    BOOST_TEST(tsla.status == 201u, tsla.body);

    auto listed = http.get("/streaming/config/instruments");
    BOOST_TEST(listed.status == 200u);
    std::set<std::string> symbols;
    for (const auto& entry : items_of(listed.json(), "instruments"))
        symbols.insert(text(entry, "/symbol"));
    BOOST_TEST(symbols.count("AAPL") == 1u, listed.body);
    BOOST_TEST(symbols.count("NVDA") == 1u, listed.body);

    auto one = http.get("/streaming/config/instruments/AAPL");
    BOOST_TEST(one.status == 200u);
    BOOST_TEST(text(one.json(), "/symbol") == "AAPL");

    // curl -X POST without a body: no Content-Type.
    auto start_all = http.request("POST", "/streaming/config/workers/start-all", "", "");
    BOOST_TEST(start_all.status == 204u, start_all.body);
    auto start_one =
        http.request("POST", "/streaming/config/workers/worker_market_data/start", "", "");
    BOOST_TEST(start_one.status == 204u, start_one.body);

    auto workers = http.get("/streaming/config/workers");
    BOOST_TEST(workers.status == 200u);
    auto worker_list = items_of(workers.json(), "workers");
    BOOST_TEST(worker_list.size() == 5u, workers.body);
    std::set<std::string> ids;
    for (const auto& worker : worker_list)
        ids.insert(text(worker, "/worker_id"));
    for (const char* id : {"worker_market_data", "worker_news", "worker_fundamentals",
                           "worker_analytics", "worker_insider_data"}) {
        BOOST_TEST(ids.count(id) == 1u, id << " in " << workers.body);
    }
    auto worker = http.get("/streaming/config/workers/worker_market_data");
    BOOST_TEST(worker.status == 200u);
    BOOST_TEST(text(worker.json(), "/status") == "running", worker.body);

    BOOST_REQUIRE(wait_for_latest(http, kAaplChannel, 15s));
    auto telemetry = http.get("/streaming/config/telemetry/market_data?limit=10");
    BOOST_TEST(telemetry.status == 200u);
    auto records = items_of(telemetry.json(), "records");
    BOOST_TEST(!records.empty(), telemetry.body);
    BOOST_TEST(records.size() <= 10u);
    for (const auto& record : records)
        BOOST_TEST(record.is_object());
}

BOOST_AUTO_TEST_CASE(sse_post_with_the_seed_fetch_body) {
    auto http = quickstart().http();
    auto latest = wait_for_latest(http, kAaplChannel, 15s);
    BOOST_REQUIRE(latest);

    SseClient sse("127.0.0.1", quickstart().daemon->port());
    auto opened =
        sse.open_post("/streaming/subscribe/sse",
                      R"({"channels": ["stream:market_data:AAPL"], "symbols": ["AAPL"]})");
    BOOST_REQUIRE_MESSAGE(opened.status == 200u, opened.status << " " << opened.error_body);
    BOOST_TEST(opened.headers["content-type"].find("text/event-stream") == 0u);
    BOOST_TEST(opened.headers["cache-control"] == "no-cache");
    BOOST_TEST(opened.headers["x-accel-buffering"] == "no");

    auto first_block = sse.next_event(5s);
    BOOST_REQUIRE(first_block);
    BOOST_TEST(first_block->retry.has_value(), "the stream starts with retry:");

    // The first data event is the latest message (or the one published right after it), and
    // it comes without waiting for a poll.
    auto first = sse.next_data_event(3s);
    BOOST_REQUIRE_MESSAGE(first, "the latest message was not sent on subscribe");
    auto first_seq = seq_of(first->json());
    BOOST_TEST((first_seq == seq_of(*latest) || first_seq == seq_of(*latest) + 1),
               "first seq " << first_seq << ", latest was " << seq_of(*latest));
    expect_increasing_events(sse, kAaplChannel, 3);
}

BOOST_AUTO_TEST_CASE(sse_get_for_event_source) {
    auto http = quickstart().http();
    BOOST_REQUIRE(wait_for_latest(http, kAaplChannel, 15s));
    SseClient sse("127.0.0.1", quickstart().daemon->port());
    auto opened = sse.open_get("/streaming/subscribe/sse?channels=stream:market_data:AAPL");
    BOOST_REQUIRE_MESSAGE(opened.status == 200u, opened.status << " " << opened.error_body);
    auto first_block = sse.next_event(5s);
    BOOST_REQUIRE(first_block);
    BOOST_TEST(first_block->retry.has_value());
    expect_increasing_events(sse, kAaplChannel, 3);
}

BOOST_AUTO_TEST_CASE(sse_get_data_types_times_symbols) {
    SseClient sse("127.0.0.1", quickstart().daemon->port());
    auto opened = sse.open_get("/streaming/subscribe/sse?data_types=market_data&symbols=msft,NVDA");
    BOOST_REQUIRE_MESSAGE(opened.status == 200u, opened.status << " " << opened.error_body);
    std::set<std::string> seen;
    wait_until(
        [&] {
            if (auto event = sse.next_data_event(1s)) seen.insert(text(event->json(), "/channel"));
            return seen.size() >= 2 || sse.ended();
        },
        15s, 0ms);
    BOOST_TEST(seen.count(kMsftChannel) == 1u);
    BOOST_TEST(seen.count("stream:market_data:NVDA") == 1u);
    BOOST_TEST(seen.size() == 2u);
}

BOOST_AUTO_TEST_CASE(websocket_with_the_seed_url) {
    auto http = quickstart().http();
    BOOST_REQUIRE(wait_for_latest(http, kAaplChannel, 15s));
    WsClient ws("127.0.0.1", quickstart().daemon->port());
    ws.connect("/streaming/ws?channels=stream:market_data:AAPL&symbols=AAPL");

    auto connected = ws.next_json(5s);
    BOOST_REQUIRE(connected);
    BOOST_TEST(text(*connected, "/type") == "connected", json::serialize(*connected));
    auto initial = items_of(*connected, "channels");
    BOOST_TEST(initial.size() == 1u, json::serialize(*connected));

    auto data = ws.next_of_type("data", 10s);
    BOOST_REQUIRE_MESSAGE(data,
                          "no data message (closed: " << ws.closed() << " " << ws.error() << ")");
    BOOST_TEST(text(*data, "/channel") == kAaplChannel);
    const auto* message = find_path(*data, "/message");
    BOOST_REQUIRE(message);
    BOOST_TEST(stream_message_problems(*message, kAaplChannel).empty(),
               join(stream_message_problems(*message, kAaplChannel)));

    ws.send_json({{"action", "subscribe"}, {"channels", {kMsftChannel}}, {"id", "sub-1"}});
    auto subscribed = ws.next_of_type("subscribed", 5s);
    BOOST_REQUIRE(subscribed);
    BOOST_TEST(text(*subscribed, "/id") == "sub-1");
    BOOST_TEST(items_of(*subscribed, "channels").size() == 2u, json::serialize(*subscribed));

    bool got_msft = false;
    wait_until(
        [&] {
            auto next = ws.next_of_type("data", 1s);
            got_msft = next && text(*next, "/channel") == kMsftChannel;
            return got_msft || ws.closed();
        },
        15s, 0ms);
    BOOST_TEST(got_msft, "MSFT data after a run-time subscribe");

    ws.send_json({{"action", "ping"}, {"id", 7}});
    auto pong = ws.next_of_type("pong", 5s);
    BOOST_REQUIRE(pong);
    const auto* pong_id = find_path(*pong, "/id");
    BOOST_TEST((pong_id && pong_id->is_int64() && pong_id->as_int64() == 7),
               json::serialize(*pong));

    ws.send_text("not json");
    auto error = ws.next_of_type("error", 5s);
    BOOST_REQUIRE(error);
    BOOST_TEST(!text(*error, "/detail").empty());

    ws.close();
    BOOST_TEST(ws.error().empty(), ws.error());
}
