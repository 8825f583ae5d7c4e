// The publish API (CONTRACT.md §8) against the daemon: a client's data wrapped, numbered,
// kept as latest and fanned out; refusals that name the problem; one series per channel
// shared with the polling worker; scopes; and, on one Redis, two instances publishing into
// one channel that every client sees as one gap-free series.
#define BOOST_TEST_MODULE daemon_publish
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <set>
#include <thread>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kSignals = "stream:signals:AAPL";

// A daemon that declares the published type `signals`; `extra` adds to its config.
std::unique_ptr<DaemonProcess> start_publisher(const TempDir& files, json::object extra = {},
                                               EnvVars env = {}, const std::string& name = "a") {
    json::object config{{"published_types", {"signals"}}};
    for (auto& [key, value] : extra)
        config[key] = value;
    DaemonOptions options;
    options.config_file = write_config(files, config, name + ".json");
    options.env = std::move(env);
    auto daemon = std::make_unique<DaemonProcess>(options);
    daemon->wait_ready();
    return daemon;
}

HttpResponse publish(HttpClient& http, const std::string& channel, const json::value& body,
                     const Headers& headers = {}) {
    return http.request("POST", "/streaming/publish/" + channel, json::serialize(body),
                        "application/json", headers);
}

json::object signal(int n) {
    return {{"data", {{"score", n}, {"side", n % 2 ? "buy" : "sell"}}}};
}

// Reads `count` data events; their StreamMessages, in order.
std::vector<json::value> read_messages(SseClient& sse, std::size_t count,
                                       std::chrono::milliseconds timeout = 10s) {
    std::vector<json::value> messages;
    auto until = std::chrono::steady_clock::now() + timeout;
    while (messages.size() < count && std::chrono::steady_clock::now() < until) {
        if (auto event = sse.next_data_event(500ms)) messages.push_back(event->json());
    }
    return messages;
}

std::vector<int64_t> seqs_of(const std::vector<json::value>& messages) {
    std::vector<int64_t> seqs;
    for (const auto& message : messages)
        seqs.push_back(seq_of(message));
    return seqs;
}

// 1, 2, …, n
std::vector<int64_t> one_to(int64_t n) {
    std::vector<int64_t> seqs;
    for (int64_t i = 1; i <= n; ++i)
        seqs.push_back(i);
    return seqs;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_published_message_is_wrapped_numbered_kept_and_fanned_out) {
    TempDir files("tickerd-publish");
    auto daemon = start_publisher(files);
    SseClient sse("127.0.0.1", daemon->port());
    BOOST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kSignals).status == 200);
    HttpClient http("127.0.0.1", daemon->port());
    std::vector<std::string> ids;
    for (int n = 1; n <= 5; ++n) {
        auto reply = publish(http, "stream:signals:aapl", signal(n));  // the symbol upper-cased
        BOOST_REQUIRE_MESSAGE(reply.status == 202u, reply.body);
        BOOST_TEST(reply.json().at("channel").as_string() == kSignals);
        ids.emplace_back(reply.json().at("id").as_string());
    }
    auto messages = read_messages(sse, 5);
    BOOST_REQUIRE(messages.size() == 5u);
    BOOST_TEST(seqs_of(messages) == one_to(5), boost::test_tools::per_element());
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const auto& message = messages[i].as_object();
        BOOST_TEST(message.at("id").as_string() == ids[i]);
        BOOST_TEST(message.at("channel").as_string() == kSignals);
        BOOST_TEST(message.at("data_type").as_string() == "signals");
        BOOST_TEST(message.at("symbol").as_string() == "AAPL");
        BOOST_TEST(message.at("vendor").as_string() == "api");  // no credential: auth is off
        BOOST_TEST(message.at("metadata").at("published").as_bool());
        BOOST_TEST(message.at("data").at("score").to_number<int>() == static_cast<int>(i + 1));
        BOOST_TEST(message.at("data").at("symbol").as_string() == "AAPL");
    }
    auto latest = http.get("/streaming/latest/" + kSignals);
    BOOST_REQUIRE(latest.status == 200u);
    BOOST_TEST(latest.json().at("message").at("id").as_string() == ids.back());
    // A WebSocket subscriber of the published type gets the latest first.
    WsClient ws("127.0.0.1", daemon->port());
    ws.connect("/streaming/ws?channels=" + kSignals);
    auto data = ws.next_of_type("data", 5s);
    BOOST_REQUIRE(data);
    BOOST_TEST(data->at("message").at("id").as_string() == ids.back());
}

// Stream writes go out in io_uring batches by default (or, where the kernel refuses io_uring,
// with a warning, one sendmsg() each); "io_uring": false writes with sendmsg() and says
// nothing of it. Either way a subscriber gets every message in order.
BOOST_AUTO_TEST_CASE(the_io_uring_setting_decides_how_streams_are_written) {
    TempDir files("tickerd-publish");
    for (bool on : {true, false}) {
        json::object extra;
        if (!on) extra["io_uring"] = false;
        auto daemon = start_publisher(files, extra, {}, on ? "on" : "off");
        SseClient sse("127.0.0.1", daemon->port());
        BOOST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kSignals).status == 200);
        HttpClient http("127.0.0.1", daemon->port());
        for (int n = 1; n <= 5; ++n)
            BOOST_REQUIRE(publish(http, kSignals, signal(n)).status == 202u);
        BOOST_TEST(seqs_of(read_messages(sse, 5)) == one_to(5), boost::test_tools::per_element());
        auto log = daemon->log();
        bool said = log.find("stream writes go out in io_uring batches") != std::string::npos ||
                    log.find("io_uring unavailable") != std::string::npos;
        BOOST_TEST(said == on, daemon->log_tail());
    }
}

BOOST_AUTO_TEST_CASE(bad_channels_and_bodies_are_refused_naming_the_problem) {
    TempDir files("tickerd-publish");
    auto daemon = start_publisher(files);
    HttpClient http("127.0.0.1", daemon->port());
    struct Case {
        std::string channel;
        std::string body;
        unsigned status;
        std::string detail_start;
    };
    std::vector<Case> cases{
        {"stream:quotes:AAPL", R"({"data":{}})", 422, "channel: 'stream:quotes:AAPL' is not"},
        {"stream:signals:A%20B", R"({"data":{}})", 422, "channel: 'stream:signals:A B' is not"},
        {"signals", R"({"data":{}})", 422, "channel: 'signals' is not"},
        {kSignals, R"([1])", 422, "expected a JSON object"},
        {kSignals, R"({})", 422, "data: missing"},
        {kSignals, R"({"data":[1]})", 422, "data: expected a JSON object"},
        {kSignals, R"({"data":{},"extra":1})", 422, "extra: unknown field"},
        {kSignals, R"({"data":{"symbol":"MSFT"}})", 422, "data.symbol: must be the channel's"},
        {kSignals, R"({"data":)", 400, ""},
    };
    for (const auto& c : cases) {
        auto reply = http.request("POST", "/streaming/publish/" + c.channel, c.body);
        BOOST_TEST(reply.status == c.status, c.channel << " " << c.body << " → " << reply.body);
        BOOST_TEST(detail_of(reply).find(c.detail_start) == 0u, reply.body);
    }
    // The undeclared type names what may be published into.
    auto undeclared = http.request("POST", "/streaming/publish/stream:quotes:AAPL", "{}");
    BOOST_TEST(detail_of(undeclared).find("signals") != std::string::npos, undeclared.body);
    // Over the body limit: 413, and nothing was published meanwhile.
    std::string big = R"({"data":{"blob":")" + std::string(2 * 1024 * 1024, 'x') + R"("}})";
    auto too_large = http.request("POST", "/streaming/publish/" + kSignals, big);
    BOOST_TEST(too_large.status == 413u);
    HttpClient again("127.0.0.1", daemon->port());
    BOOST_TEST(again.get("/streaming/latest/" + kSignals).body == R"({"message":null})");
    BOOST_TEST(daemon->running());
}

BOOST_AUTO_TEST_CASE(publishing_into_a_polled_channel_joins_the_workers_series) {
    TempDir files("tickerd-publish");
    auto daemon =
        start_publisher(files,
                        {{"vendors", mock_vendors()},
                         {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
                         {"cadences", {{"market_data", {{"interval_seconds", 0.1}}}}}},
                        {{"AUTO_START_WORKERS", "true"}});
    const std::string channel = "stream:market_data:AAPL";
    SseClient sse("127.0.0.1", daemon->port());
    BOOST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + channel).status == 200);
    HttpClient http("127.0.0.1", daemon->port());
    for (int n = 0; n < 20; ++n) {
        auto reply = publish(http, channel, json::object{{"data", {{"price", 100 + n}}}});
        BOOST_REQUIRE_MESSAGE(reply.status == 202u, reply.body);
        std::this_thread::sleep_for(20ms);
    }
    auto messages = read_messages(sse, 30);
    BOOST_REQUIRE(messages.size() == 30u);
    int published = 0, polled = 0;
    for (std::size_t i = 1; i < messages.size(); ++i) {
        // One series: each message's seq is the one before it plus one.
        BOOST_TEST(seq_of(messages[i]) == seq_of(messages[i - 1]) + 1);
    }
    for (const auto& message : messages) {
        bool by_api = message.at("vendor").as_string() == "api";
        (by_api ? published : polled) += 1;
        // The mock's messages say they are simulated; a published one says it was published.
        BOOST_TEST(message.at("metadata").as_object().contains(by_api ? "published" : "simulated"));
    }
    BOOST_TEST(published > 0);
    BOOST_TEST(polled > 0);
}

BOOST_AUTO_TEST_CASE(publishing_needs_the_publish_scope_and_names_the_publisher) {
    TempDir files("tickerd-publish");
    auto key = [&](const std::string& name, const std::string& scope) {
        return json::object{
            {"name", name},
            {"key_file", files.write(name + ".key", name + "-key-0123456789\n").string()},
            {"scopes", {scope}}};
    };
    auto daemon = start_publisher(
        files,
        {{"auth",
          {{"enabled", true}, {"keys", {key("reader", "read"), key("signal-bot", "publish")}}}}});
    HttpClient http("127.0.0.1", daemon->port());
    auto bearer = [](const std::string& name) {
        return Headers{{"Authorization", "Bearer " + name + "-key-0123456789"}};
    };
    BOOST_TEST(publish(http, kSignals, signal(1)).status == 401u);
    auto reader = publish(http, kSignals, signal(1), bearer("reader"));
    BOOST_TEST(reader.status == 403u);
    BOOST_TEST(detail_of(reader).find("publish") != std::string::npos, reader.body);
    auto bot = publish(http, kSignals, signal(1), bearer("signal-bot"));
    BOOST_REQUIRE_MESSAGE(bot.status == 202u, bot.body);
    auto latest = http.request("GET", "/streaming/latest/" + kSignals, {}, {}, bearer("reader"));
    BOOST_REQUIRE(latest.status == 200u);
    BOOST_TEST(latest.json().at("message").at("vendor").as_string() == "signal-bot");
}

BOOST_AUTO_TEST_CASE(two_instances_on_one_redis_publish_one_series) {
    RedisServer redis;
    TempDir files("tickerd-publish");
    EnvVars env{{"REDIS_ENABLED", "true"},
                {"REDIS_HOST", "127.0.0.1"},
                {"REDIS_PORT", std::to_string(redis.port())}};
    auto first = start_publisher(files, {}, env, "first");
    auto second = start_publisher(files, {}, env, "second");
    SseClient on_first("127.0.0.1", first->port());
    SseClient on_second("127.0.0.1", second->port());
    for (auto* sse : {&on_first, &on_second})
        BOOST_REQUIRE(sse->open_get("/streaming/subscribe/sse?channels=" + kSignals).status == 200);
    // Both subscriptions are in place once a probe message reaches both.
    HttpClient probe("127.0.0.1", first->port());
    BOOST_REQUIRE(publish(probe, kSignals, signal(0)).status == 202u);
    BOOST_REQUIRE(read_messages(on_first, 1).size() == 1u);
    BOOST_REQUIRE(read_messages(on_second, 1).size() == 1u);

    // Two clients at once, one per instance.
    constexpr int kEach = 100;
    std::set<std::string> ids;
    std::mutex ids_mutex;
    auto client = [&](unsigned short port) {
        HttpClient http("127.0.0.1", port);
        for (int n = 0; n < kEach; ++n) {
            auto reply = publish(http, kSignals, signal(n));
            if (reply.status != 202u) continue;
            std::lock_guard lock(ids_mutex);
            ids.insert(std::string(reply.json().at("id").as_string()));
        }
    };
    std::thread a(client, first->port()), b(client, second->port());
    a.join();
    b.join();
    BOOST_TEST(ids.size() == 2u * kEach);  // every one accepted, every id distinct

    std::vector<int64_t> expected;
    for (int64_t seq = 2; seq <= 1 + 2 * kEach; ++seq)
        expected.push_back(seq);
    for (auto* sse : {&on_first, &on_second}) {
        auto messages = read_messages(*sse, 2 * kEach);
        BOOST_TEST(seqs_of(messages) == expected, boost::test_tools::per_element());
    }
    RedisClient client_of_redis(redis.port());
    BOOST_TEST(client_of_redis.get("tickerd:seq:" + kSignals).value_or("") ==
               std::to_string(1 + 2 * kEach));

    // A counter lost with Redis's data starts again after the latest message's seq.
    client_of_redis.call({"DEL", "tickerd:seq:" + kSignals});
    auto after = publish(probe, kSignals, signal(1));
    BOOST_REQUIRE(after.status == 202u);
    BOOST_TEST(std::string(after.json().at("id").as_string())
                   .ends_with("-" + std::to_string(2 + 2 * kEach)));

    // With Redis gone nothing is accepted that could be lost.
    HttpClient to_first("127.0.0.1", first->port());
    redis.kill();
    auto refused = publish(to_first, kSignals, signal(1));
    BOOST_TEST(refused.status == 503u, refused.body);
    BOOST_TEST(detail_of(refused).find("not published") != std::string::npos, refused.body);
}

BOOST_AUTO_TEST_CASE(an_edge_refuses_to_number_a_polled_channel) {
    RedisServer redis;
    TempDir files("tickerd-publish");
    auto edge = start_publisher(files, {},
                                {{"REDIS_ENABLED", "true"},
                                 {"REDIS_HOST", "127.0.0.1"},
                                 {"REDIS_PORT", std::to_string(redis.port())},
                                 {"TICKERD_ROLE", "edge"}});
    HttpClient http("127.0.0.1", edge->port());
    auto refused = publish(http, "stream:market_data:AAPL", json::object{{"data", {{"price", 1}}}});
    BOOST_TEST(refused.status == 409u, refused.body);
    BOOST_TEST(detail_of(refused).find("edge") != std::string::npos, refused.body);
    // A published type is numbered in Redis, so an edge takes it.
    BOOST_TEST(publish(http, kSignals, signal(1)).status == 202u);
}
