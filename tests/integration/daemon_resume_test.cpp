// History and resume (CONTRACT.md §7) against the daemon, with real clients over real sockets:
// an SSE client that goes away and comes back with its Last-Event-ID gets exactly what it
// missed, in order, then the live stream; the same over several channels while messages keep
// coming (the seam between replay and live); a position the history no longer reaches gets
// the latest message marked `recovered: false`; a WebSocket resumes with `since`; the
// history route pages and refuses bad input; and with Redis a client resumes on another edge
// from the channel's Redis Stream.
#define BOOST_TEST_MODULE daemon_resume
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <map>
#include <thread>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kAapl = "stream:signals:AAPL";
const std::string kMsft = "stream:signals:MSFT";

// A daemon declaring the published type `signals`, with `extra` in its config; several may
// share `files` (each gets its own state folder).
std::unique_ptr<DaemonProcess> start(const TempDir& files, json::object extra = {},
                                     EnvVars env = {}) {
    extra["published_types"] = {"signals"};
    return start_daemon_with_config(files, extra, std::move(env));
}

// Publishes one message into `channel`; its id.
std::string publish(HttpClient& http, const std::string& channel, int n) {
    json::object body{{"data", {{"n", n}}}};
    auto reply = http.request("POST", "/streaming/publish/" + channel, json::serialize(body),
                              "application/json");
    BOOST_REQUIRE_MESSAGE(reply.status == 202u, reply.status << " " << reply.body);
    return std::string(reply.json().at("id").as_string());
}

struct Received {
    std::string sse_id;
    json::value message;
};

// Reads `count` data events (none more than 10 s apart).
std::vector<Received> read(SseClient& sse, std::size_t count) {
    std::vector<Received> got;
    while (got.size() < count) {
        auto event = sse.next_data_event(10s);
        if (!event) break;
        got.push_back({event->id.value_or(""), event->json()});
    }
    BOOST_TEST(got.size() == count);
    return got;
}

std::vector<int64_t> seqs(const std::vector<Received>& events) {
    std::vector<int64_t> out;
    for (const auto& event : events)
        out.push_back(seq_of(event.message));
    return out;
}

std::vector<int64_t> range(int64_t first, int64_t last) {
    std::vector<int64_t> out;
    for (auto i = first; i <= last; ++i)
        out.push_back(i);
    return out;
}

// Nothing more arrives for a while: no duplicate, nothing extra.
void expect_quiet(SseClient& sse) {
    auto extra = sse.next_data_event(400ms);
    BOOST_TEST(!extra, "unexpected: " << (extra ? *extra->data : ""));
}

}  // namespace

BOOST_AUTO_TEST_CASE(sse_resume_replays_what_was_missed_then_goes_live) {
    TempDir files("tickerd-resume");
    auto daemon = start(files);
    HttpClient http("127.0.0.1", daemon->port());
    std::string last_id;
    {
        SseClient sse("127.0.0.1", daemon->port());
        BOOST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kAapl).status == 200u);
        for (int n = 1; n <= 5; ++n)
            publish(http, kAapl, n);
        auto got = read(sse, 5);
        BOOST_TEST(seqs(got) == range(1, 5), boost::test_tools::per_element());
        last_id = got.back().sse_id;
        BOOST_TEST(last_id == text_at(got.back().message, "/id"));  // one channel: message ids
    }                                                               // the client goes away
    for (int n = 6; n <= 10; ++n)
        publish(http, kAapl, n);

    // EventSource sends the last id it saw when it reconnects.
    SseClient again("127.0.0.1", daemon->port());
    BOOST_REQUIRE(again
                      .open_get("/streaming/subscribe/sse?channels=" + kAapl, 10s,
                                {{"Last-Event-ID", last_id}})
                      .status == 200u);
    auto missed = read(again, 5);
    BOOST_TEST(seqs(missed) == range(6, 10), boost::test_tools::per_element());
    for (const auto& event : missed)
        BOOST_TEST(find_path(event.message, "/metadata/recovered") == nullptr);
    publish(http, kAapl, 11);
    auto live = read(again, 1);
    BOOST_TEST(seqs(live) == range(11, 11), boost::test_tools::per_element());
    expect_quiet(again);

    // A position at the head: nothing to replay, nothing sent twice.
    SseClient current("127.0.0.1", daemon->port());
    BOOST_REQUIRE(current
                      .open_get("/streaming/subscribe/sse?channels=" + kAapl +
                                "&last_event_id=" + live.back().sse_id)
                      .status == 200u);
    expect_quiet(current);
}

// Two channels, a publisher that never pauses, and a client that drops and resumes again and
// again (with the header, then the query): every seq of each channel arrives exactly once and
// in order, whichever side of a seam it fell on.
BOOST_AUTO_TEST_CASE(sse_resume_over_several_channels_loses_and_repeats_nothing_at_the_seam) {
    TempDir files("tickerd-resume");
    auto daemon = start(files);
    const std::string target = "/streaming/subscribe/sse?channels=" + kAapl + "," + kMsft;
    std::atomic<bool> stop{false};
    std::atomic<int> published{0}, refused{0};
    std::thread publisher([&] {  // no Boost.Test assertion off the test's thread
        HttpClient http("127.0.0.1", daemon->port());
        for (int n = 1; !stop; ++n) {
            auto reply = http.request("POST", "/streaming/publish/" + (n % 2 ? kAapl : kMsft),
                                      R"({"data":{"n":1}})", "application/json");
            ++(reply.status == 202u ? published : refused);
            std::this_thread::sleep_for(2ms);
        }
    });

    std::map<std::string, std::vector<int64_t>> seen;
    std::string position;
    for (int round = 0; round < 6; ++round) {
        SseClient sse("127.0.0.1", daemon->port());
        auto opened = position.empty() ? sse.open_get(target)
                      : round % 2      ? sse.open_get(target, 10s, {{"Last-Event-ID", position}})
                                       : sse.open_get(target + "&last_event_id=" + position);
        BOOST_REQUIRE_MESSAGE(opened.status == 200u, opened.status << " " << opened.error_body);
        for (const auto& event : read(sse, 40)) {
            seen[text_at(event.message, "/channel")].push_back(seq_of(event.message));
            BOOST_TEST(find_path(event.message, "/metadata/recovered") == nullptr);
            position = event.sse_id;
        }
        // Ids of a two-channel stream are "<seq of AAPL>.<seq of MSFT>".
        BOOST_TEST(position.find('.') != std::string::npos, position);
        std::this_thread::sleep_for(50ms);  // away while the publisher goes on
    }
    stop = true;
    publisher.join();
    BOOST_TEST(published > 100);
    BOOST_TEST(refused == 0);
    for (const auto& channel : {kAapl, kMsft}) {
        const auto& got = seen[channel];
        BOOST_REQUIRE(!got.empty());
        // The first stream starts at the channel's latest (or its first message); from there on
        // nothing is missing or repeated.
        BOOST_TEST(got == range(got.front(), got.back()), boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(a_position_the_history_no_longer_reaches_gets_the_latest_unrecovered) {
    TempDir files("tickerd-resume");
    auto daemon = start(files, {{"history", {{"max_messages", 5}}}});
    HttpClient http("127.0.0.1", daemon->port());
    std::string first_id = publish(http, kAapl, 1);
    for (int n = 2; n <= 20; ++n)
        publish(http, kAapl, n);

    SseClient sse("127.0.0.1", daemon->port());
    BOOST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kAapl, 10s,
                               {{"Last-Event-ID", first_id}})
                      .status == 200u);
    auto got = read(sse, 1);
    BOOST_REQUIRE(got.size() == 1u);
    BOOST_TEST(seq_of(got[0].message) == 20);
    const auto* recovered = find_path(got[0].message, "/metadata/recovered");
    BOOST_TEST((recovered && recovered->is_bool() && !recovered->as_bool()));
    BOOST_TEST(text_at(got[0].message, "/channel") == kAapl);
    BOOST_TEST(got[0].sse_id == text_at(got[0].message, "/id"));
    publish(http, kAapl, 21);
    auto live = read(sse, 1);
    BOOST_TEST(seqs(live) == range(21, 21), boost::test_tools::per_element());

    // The history holds the last five; the route says what it no longer has.
    auto history = http.get("/streaming/history/" + kAapl + "?since=" + first_id);
    BOOST_REQUIRE(history.status == 200u);
    BOOST_TEST(history.json().at("recovered").as_bool() == false);
    BOOST_TEST(history.json().at("messages").as_array().size() == 5u);
}

BOOST_AUTO_TEST_CASE(a_bad_last_event_id_is_refused_with_the_reason) {
    TempDir files("tickerd-resume");
    auto daemon = start(files);
    for (const auto& [target, id] :
         std::vector<std::pair<std::string, std::string>>{{kAapl, "yesterday"},
                                                          {kAapl + "," + kMsft, "1.2.3"},
                                                          {kAapl + "," + kMsft, "12"},
                                                          {kAapl + "," + kMsft, "1.x"}}) {
        SseClient sse("127.0.0.1", daemon->port());
        auto opened = sse.open_get("/streaming/subscribe/sse?channels=" + target, 10s,
                                   {{"Last-Event-ID", id}});
        BOOST_TEST(opened.status == 400u, target << " " << id);
        BOOST_TEST(opened.error_body.find("Last-Event-ID") != std::string::npos, opened.error_body);
    }
}

BOOST_AUTO_TEST_CASE(a_websocket_resumes_with_since_and_hears_how_each_channel_went) {
    TempDir files("tickerd-resume");
    auto daemon = start(files, {{"history", {{"max_messages", 5}}}});
    HttpClient http("127.0.0.1", daemon->port());
    std::string aapl_seen, msft_seen;
    for (int n = 1; n <= 3; ++n)
        aapl_seen = publish(http, kAapl, n);
    msft_seen = publish(http, kMsft, 1);
    for (int n = 4; n <= 6; ++n)
        publish(http, kAapl, n);  // 3 missed: still in the history
    for (int n = 2; n <= 12; ++n)
        publish(http, kMsft, n);  // 11 missed: more than it keeps

    WsClient ws("127.0.0.1", daemon->port());
    ws.connect("/streaming/ws");
    BOOST_REQUIRE(ws.next_of_type("connected", 5s));
    ws.send_json({{"action", "subscribe"},
                  {"id", 7},
                  {"channels", {kAapl, kMsft}},
                  {"since", {{kAapl, aapl_seen}, {kMsft, msft_seen}}}});
    auto reply = ws.next_json(5s);
    BOOST_REQUIRE(reply);
    BOOST_TEST(text_at(*reply, "/type") == "subscribed", json::serialize(*reply));
    BOOST_TEST(number_at(*reply, "/id") == 7);
    BOOST_TEST(reply->at("recovered").at(kAapl).as_bool() == true);
    BOOST_TEST(reply->at("recovered").at(kMsft).as_bool() == false);
    std::map<std::string, std::vector<int64_t>> got;
    for (int i = 0; i < 4; ++i) {
        auto data = ws.next_of_type("data", 5s);
        BOOST_REQUIRE(data);
        got[text_at(*data, "/channel")].push_back(seq_of(data->at("message")));
    }
    BOOST_TEST(got[kAapl] == range(4, 6), boost::test_tools::per_element());
    BOOST_TEST(got[kMsft] == range(12, 12), boost::test_tools::per_element());

    // since names a channel it does not subscribe to, or is not an id: an error frame.
    ws.send_json({{"action", "subscribe"},
                  {"channels", {"stream:signals:IBM"}},
                  {"since", {{kAapl, aapl_seen}}}});
    auto error = ws.next_of_type("error", 5s);
    BOOST_REQUIRE(error);
    BOOST_TEST(text_at(*error, "/detail").find("since") != std::string::npos);
    ws.send_json({{"action", "subscribe"},
                  {"channels", {"stream:signals:IBM"}},
                  {"since", {{"stream:signals:IBM", "soon"}}}});
    error = ws.next_of_type("error", 5s);
    BOOST_REQUIRE(error);
    BOOST_TEST(text_at(*error, "/detail").find("message id") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_history_route_pages_oldest_first_and_refuses_bad_input) {
    TempDir files("tickerd-resume");
    auto daemon = start(files);
    HttpClient http("127.0.0.1", daemon->port());
    std::vector<std::string> ids;
    for (int n = 1; n <= 10; ++n)
        ids.push_back(publish(http, kAapl, n));

    auto newest = http.get("/streaming/history/" + kAapl + "?limit=3");
    BOOST_REQUIRE_MESSAGE(newest.status == 200u, newest.body);
    auto newest_body = newest.json();
    const auto& messages = newest_body.at("messages").as_array();
    BOOST_REQUIRE_MESSAGE(messages.size() == 3u, newest.body);
    BOOST_TEST(seq_of(messages[0]) == 8);
    BOOST_TEST(seq_of(messages[2]) == 10);
    BOOST_TEST(newest.json().at("more").as_bool() == false);
    BOOST_TEST(!newest.json().as_object().contains("recovered"));

    auto page = http.get("/streaming/history/" + kAapl + "?since=" + ids[2] + "&limit=4");
    BOOST_REQUIRE(page.status == 200u);
    auto page_body = page.json();
    const auto& after = page_body.at("messages").as_array();
    BOOST_REQUIRE(after.size() == 4u);
    BOOST_TEST(seq_of(after[0]) == 4);
    BOOST_TEST(seq_of(after[3]) == 7);
    BOOST_TEST(page.json().at("more").as_bool() == true);
    BOOST_TEST(page.json().at("recovered").as_bool() == true);
    for (const auto& message : after)
        BOOST_TEST(text_at(message, "/channel") == kAapl);

    auto none = http.get("/streaming/history/stream:signals:NONE");
    BOOST_TEST(none.status == 200u);
    BOOST_TEST(none.json().at("messages").as_array().empty());

    auto bad_since = http.get("/streaming/history/" + kAapl + "?since=later");
    BOOST_TEST(bad_since.status == 422u);
    BOOST_TEST(detail_of(bad_since).find("since") != std::string::npos);
    auto bad_limit = http.get("/streaming/history/" + kAapl + "?limit=5000");
    BOOST_TEST(bad_limit.status == 422u);
    BOOST_TEST(detail_of(bad_limit).find("limit") != std::string::npos);
    auto bad_channel = http.get("/streaming/history/stream:nothing:AAPL");
    BOOST_TEST(bad_channel.status == 404u);
}

// With Redis, history lives in a Redis Stream per channel: a client of an edge that goes away
// resumes on an edge started after it, which never saw the messages it replays.
BOOST_AUTO_TEST_CASE(with_redis_a_client_resumes_on_a_new_edge_from_the_redis_history) {
    RedisServer redis;
    TempDir files("tickerd-resume");
    EnvVars env{{"REDIS_ENABLED", "true"},
                {"REDIS_HOST", "127.0.0.1"},
                {"REDIS_PORT", std::to_string(redis.port())}};
    auto publisher = start(files, {}, env);
    HttpClient http("127.0.0.1", publisher->port());
    std::string last_id;
    {
        auto edge = start(files, {}, env);
        SseClient sse("127.0.0.1", edge->port());
        BOOST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kAapl).status == 200u);
        // The subscription is in place once a first message reaches it.
        publish(http, kAapl, 1);
        auto first = read(sse, 1);
        BOOST_REQUIRE(first.size() == 1u);
        for (int n = 2; n <= 5; ++n)
            publish(http, kAapl, n);
        auto got = read(sse, 4);
        BOOST_TEST(seqs(got) == range(2, 5), boost::test_tools::per_element());
        last_id = got.back().sse_id;
        auto status = edge->terminate(10s);
        BOOST_TEST((status && status->success()));
    }
    for (int n = 6; n <= 12; ++n)
        publish(http, kAapl, n);
    RedisClient redis_client(redis.port());
    BOOST_TEST(redis_client.call({"XLEN", "tickerd:history:" + kAapl}) == "12");
    BOOST_TEST(redis_client.ttl("tickerd:history:" + kAapl) > 0);

    auto new_edge = start(files, {}, env);
    SseClient sse("127.0.0.1", new_edge->port());
    BOOST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kAapl, 10s,
                               {{"Last-Event-ID", last_id}})
                      .status == 200u);
    auto missed = read(sse, 7);
    BOOST_TEST(seqs(missed) == range(6, 12), boost::test_tools::per_element());
    publish(http, kAapl, 13);
    auto live = read(sse, 1);
    BOOST_TEST(seqs(live) == range(13, 13), boost::test_tools::per_element());
    expect_quiet(sse);

    // The edge answers the history route from Redis too.
    HttpClient on_edge("127.0.0.1", new_edge->port());
    auto history = on_edge.get("/streaming/history/" + kAapl + "?since=" + last_id);
    BOOST_REQUIRE(history.status == 200u);
    BOOST_TEST(history.json().at("messages").as_array().size() == 8u);
    BOOST_TEST(history.json().at("recovered").as_bool() == true);
    auto newest = on_edge.get("/streaming/history/" + kAapl + "?limit=5");
    BOOST_REQUIRE(newest.status == 200u);
    auto newest_body = newest.json();
    const auto& five = newest_body.at("messages").as_array();
    BOOST_REQUIRE_MESSAGE(five.size() == 5u, newest.body);
    BOOST_TEST(seq_of(five.front()) == 9);
    BOOST_TEST(seq_of(five.back()) == 13);
}

// A resume through a view (deltas of one field): the replay comes whole and filtered, and
// the deltas that follow apply to what it left the client with.
BOOST_AUTO_TEST_CASE(a_delta_view_resumes_with_whole_messages_then_deltas) {
    TempDir files("tickerd-resume");
    auto daemon = start(files);
    HttpClient http("127.0.0.1", daemon->port());
    const std::string target = "/streaming/subscribe/sse?mode=delta&fields=n&channels=" + kAapl;
    std::string last_id;
    {
        SseClient sse("127.0.0.1", daemon->port());
        BOOST_REQUIRE(sse.open_get(target).status == 200u);
        for (int n = 1; n <= 3; ++n)
            publish(http, kAapl, n);
        auto got = read(sse, 3);
        BOOST_REQUIRE(got.size() == 3u);
        BOOST_TEST(text_at(got[0].message, "/update_type") == "snapshot");
        BOOST_TEST(text_at(got[2].message, "/update_type") == "delta");
        last_id = got.back().sse_id;
    }
    for (int n = 4; n <= 6; ++n)
        publish(http, kAapl, n);
    SseClient sse("127.0.0.1", daemon->port());
    BOOST_REQUIRE(sse.open_get(target, 10s, {{"Last-Event-ID", last_id}}).status == 200u);
    auto replay = read(sse, 3);
    BOOST_TEST(seqs(replay) == range(4, 6), boost::test_tools::per_element());
    json::object state;
    for (const auto& event : replay) {
        BOOST_TEST(text_at(event.message, "/update_type") == "snapshot");
        state = event.message.at("data").as_object();
        BOOST_TEST(state.size() == 2u, json::serialize(state));  // symbol and n
    }
    publish(http, kAapl, 7);
    auto live = read(sse, 1);
    BOOST_REQUIRE(live.size() == 1u);
    BOOST_TEST(text_at(live[0].message, "/update_type") == "delta");
    for (const auto& [key, value] : live[0].message.at("data").as_object())
        state[key] = value;
    BOOST_TEST(number_at(json::value(state), "/n") == 7);
    BOOST_TEST(text_at(json::value(state), "/symbol") == "AAPL");
}
