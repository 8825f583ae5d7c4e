// Deltas and server-side filters (CONTRACT.md §7) against the daemon, with real clients: over
// 10,000 messages, a client applying the delta stream's merge patches (an RFC 7386
// implementation of the test's own) holds exactly the data a plain client receives, after
// every message; filters keep only the messages and fields asked for; bad filters are refused
// naming the field or operator.
#define BOOST_TEST_MODULE daemon_views
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <random>
#include <thread>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kAapl = "stream:signals:AAPL";

std::unique_ptr<DaemonProcess> start(const TempDir& files) {
    return start_daemon_with_config(files, json::object{{"published_types", {"signals"}},
                                                        {"deltas", {{"snapshot_every", 50}}},
                                                        {"limits", {{"requests_per_minute", 0}}}});
}

// RFC 7386 §2, as a client writes it.
void apply_patch(json::object& target, const json::object& patch) {
    for (const auto& [key, value] : patch) {
        if (value.is_null()) {
            target.erase(key);
        } else if (value.is_object()) {
            if (!target[key].is_object()) target[key] = json::object();
            apply_patch(target[key].as_object(), value.as_object());
        } else {
            target[key] = value;
        }
    }
}

// Data that wanders: prices that move, a volume that grows, a note that changes now and then,
// a field that comes and goes, a nested book, and now and then a null.
json::object data_at(int n, std::mt19937& random) {
    std::uniform_real_distribution<double> step(-1.0, 1.0);
    static double price = 100;
    price += step(random);
    json::object data{{"price", std::round(price * 100) / 100},
                      {"volume", 1000 + n * 7},
                      {"note", n % 40 < 20 ? "steady" : "moving"},
                      {"book", {{"bid", std::round((price - 0.05) * 100) / 100}, {"ask", 101.0}}}};
    if (n % 3 == 0) data["flag"] = n % 2 == 0;
    if (n % 97 == 0) data["note"] = nullptr;
    return data;
}

// Every data event of a stream until `count` or 20 s without one (its own thread: no
// Boost.Test assertion here).
std::vector<json::value> collect(SseClient& sse, std::size_t count) {
    std::vector<json::value> messages;
    while (messages.size() < count) {
        auto event = sse.next_data_event(20s);
        if (!event) break;
        messages.push_back(event->json());
    }
    return messages;
}

std::vector<json::value> collect(WsClient& ws, std::size_t count) {
    std::vector<json::value> messages;
    while (messages.size() < count) {
        auto data = ws.next_of_type("data", 20s);
        if (!data) break;
        messages.push_back(data->at("message"));
    }
    return messages;
}

}  // namespace

BOOST_AUTO_TEST_CASE(delta_streams_rebuild_exactly_the_snapshots_over_10000_messages) {
    constexpr int kMessages = 10000;
    TempDir files("tickerd-views");
    auto daemon = start(files);
    SseClient plain("127.0.0.1", daemon->port()), sse_delta("127.0.0.1", daemon->port());
    BOOST_REQUIRE(plain.open_get("/streaming/subscribe/sse?channels=" + kAapl).status == 200u);
    BOOST_REQUIRE(
        sse_delta.open_get("/streaming/subscribe/sse?mode=delta&channels=" + kAapl).status == 200u);
    WsClient ws("127.0.0.1", daemon->port());
    ws.connect("/streaming/ws");
    ws.send_json({{"action", "subscribe"}, {"channels", {kAapl}}, {"mode", "delta"}});
    BOOST_REQUIRE(ws.next_of_type("subscribed", 5s));

    std::vector<json::value> reference, over_sse, over_ws;
    std::thread read_plain([&] { reference = collect(plain, kMessages); });
    std::thread read_sse([&] { over_sse = collect(sse_delta, kMessages); });
    std::thread read_ws([&] { over_ws = collect(ws, kMessages); });
    std::atomic<int> refused{0};
    {
        HttpClient http("127.0.0.1", daemon->port());
        std::mt19937 random(7);
        for (int n = 1; n <= kMessages; ++n) {
            json::object body{{"data", data_at(n, random)}};
            auto reply = http.request("POST", "/streaming/publish/" + kAapl, json::serialize(body),
                                      "application/json");
            if (reply.status != 202u) ++refused;
        }
    }
    read_plain.join();
    read_sse.join();
    read_ws.join();
    BOOST_TEST(refused == 0);
    BOOST_REQUIRE(reference.size() == std::size_t(kMessages));

    for (auto* stream : {&over_sse, &over_ws}) {
        BOOST_REQUIRE(stream->size() == std::size_t(kMessages));
        json::object state;
        int snapshots = 0, deltas = 0, wrong = 0;
        std::size_t delta_bytes = 0, plain_bytes = 0;
        for (int i = 0; i < kMessages; ++i) {
            const auto& message = (*stream)[i].as_object();
            BOOST_REQUIRE(seq_of(message) == seq_of(reference[i]));
            const auto& data = message.at("data").as_object();
            if (message.at("update_type") == "snapshot") {
                state = data;
                ++snapshots;
            } else {
                BOOST_REQUIRE(message.at("update_type") == "delta");
                apply_patch(state, data);
                ++deltas;
            }
            delta_bytes += json::serialize(message).size();
            plain_bytes += json::serialize(reference[i]).size();
            if (state != reference[i].at("data").as_object() && ++wrong <= 3) {
                BOOST_TEST(false, "after seq "
                                      << seq_of(message) << ": " << json::serialize(state)
                                      << " != " << json::serialize(reference[i].at("data")));
            }
        }
        BOOST_TEST(wrong == 0);
        // A snapshot first, every 50th, and where a null could not be patched in.
        BOOST_TEST(snapshots >= kMessages / 50);
        BOOST_TEST(snapshots < kMessages / 10);
        BOOST_TEST(deltas > kMessages / 2);
        BOOST_TEST(delta_bytes < plain_bytes);
        BOOST_TEST_MESSAGE("message bytes with deltas " << delta_bytes << ", without "
                                                        << plain_bytes);
    }
}

BOOST_AUTO_TEST_CASE(filters_keep_the_messages_and_fields_asked_for) {
    TempDir files("tickerd-views");
    auto daemon = start(files);
    SseClient sse("127.0.0.1", daemon->port());
    BOOST_REQUIRE(sse.open_get("/streaming/subscribe/sse?fields=price,volume&where=price>100,"
                               "volume<=5000&channels=" +
                               kAapl)
                      .status == 200u);
    WsClient ws("127.0.0.1", daemon->port());
    ws.connect("/streaming/ws");
    ws.send_json({{"action", "subscribe"},
                  {"channels", {kAapl}},
                  {"fields", {"price"}},
                  {"where", {"price>100"}}});
    BOOST_REQUIRE(ws.next_of_type("subscribed", 5s));

    HttpClient http("127.0.0.1", daemon->port());
    struct Case {
        double price;
        int volume;
    };
    std::vector<Case> cases{{99, 10}, {101, 10}, {150, 9000}, {100, 10}, {102.5, 5000}};
    for (const auto& c : cases) {
        json::object body{{"data", {{"price", c.price}, {"volume", c.volume}, {"note", "x"}}}};
        BOOST_REQUIRE(http.request("POST", "/streaming/publish/" + kAapl, json::serialize(body),
                                   "application/json")
                          .status == 202u);
    }
    // SSE: price > 100 and volume <= 5000: the 2nd and the 5th; only price and volume.
    for (double price : {101.0, 102.5}) {
        auto event = sse.next_data_event(5s);
        BOOST_REQUIRE(event);
        auto data = event->json().at("data").as_object();
        BOOST_TEST(data.at("price").to_number<double>() == price);
        BOOST_TEST(data.size() == 3u, json::serialize(data));  // symbol, price, volume
        BOOST_TEST(!data.contains("note"));
    }
    BOOST_TEST(!sse.next_data_event(300ms));
    // WebSocket: price > 100: the 2nd, 3rd and 5th; only price.
    for (double price : {101.0, 150.0, 102.5}) {
        auto data = ws.next_of_type("data", 5s);
        BOOST_REQUIRE(data);
        auto fields = data->at("message").at("data").as_object();
        BOOST_TEST(fields.at("price").to_number<double>() == price);
        BOOST_TEST(fields.size() == 2u, json::serialize(fields));
    }
}

BOOST_AUTO_TEST_CASE(bad_filters_are_refused_naming_the_field_or_operator) {
    TempDir files("tickerd-views");
    auto daemon = start(files);
    for (const auto& [query, named] :
         std::vector<std::pair<std::string, std::string>>{{"where=price=>1", "=>"},
                                                          {"where=price>abc", "abc"},
                                                          {"where=>1", "where"},
                                                          {"where=price", "operator"},
                                                          {"fields=pri-ce", "pri-ce"},
                                                          {"mode=diff", "diff"}}) {
        SseClient sse("127.0.0.1", daemon->port());
        auto opened = sse.open_get("/streaming/subscribe/sse?channels=" + kAapl + "&" + query);
        BOOST_TEST(opened.status == 422u, query);
        BOOST_TEST(opened.error_body.find(named) != std::string::npos,
                   query << ": " << opened.error_body);
    }
    WsClient ws("127.0.0.1", daemon->port());
    ws.connect("/streaming/ws");
    ws.send_json({{"action", "subscribe"}, {"channels", {kAapl}}, {"where", "volume~3"}});
    auto error = ws.next_of_type("error", 5s);
    BOOST_REQUIRE(error);
    BOOST_TEST(text_at(*error, "/detail").find("where") != std::string::npos);
    ws.send_json({{"action", "subscribe"}, {"channels", {kAapl}}, {"fields", 3}});
    error = ws.next_of_type("error", 5s);
    BOOST_REQUIRE(error);
    BOOST_TEST(text_at(*error, "/detail").find("fields") != std::string::npos);
}
