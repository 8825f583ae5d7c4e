// A worker and an edge on a Redis Cluster (redis.cluster_nodes): three primaries with a
// replica each, built by redis-cli --cluster create on free ports. 200 channels spread over
// every shard reach the edge's client, each message once and in order; when a primary is
// killed its replica is promoted, the worker's messages go there, the edge subscribes there
// again and catches up, and every channel continues its numbering with nothing missing. The
// publish API numbers and stores a message in its channel's shard. Real processes only.
#define BOOST_TEST_MODULE daemon_cluster
#include <boost/test/unit_test.hpp>

#include "bus/redis_cluster.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_daemons.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <hiredis/hiredis.h>

#include <map>

namespace json = boost::json;
using namespace tickerd;
using namespace tickerd::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kChannels = 200;

std::string node(unsigned short port) {
    return "127.0.0.1:" + std::to_string(port);
}

std::string channel_of(const std::string& symbol) {
    return "stream:market_data:" + symbol;
}

// kChannels symbols: C1000, C1001, …
std::vector<std::string> many_symbols() {
    std::vector<std::string> symbols;
    for (int i = 0; i < kChannels; ++i)
        symbols.push_back("C" + std::to_string(1000 + i));
    return symbols;
}

// The slot map as the cluster gives it now, asked of `port`.
bus::cluster::SlotMap slot_map(unsigned short port) {
    timeval timeout{5, 0};
    std::unique_ptr<redisContext, void (*)(redisContext*)> context(
        redisConnectWithTimeout("127.0.0.1", port, timeout), redisFree);
    if (!context || context->err) throw std::runtime_error("cannot reach " + node(port));
    std::unique_ptr<redisReply, void (*)(redisReply*)> reply(
        static_cast<redisReply*>(redisCommand(context.get(), "CLUSTER SHARDS")),
        [](redisReply* r) { freeReplyObject(r); });
    auto shards = bus::cluster::parse_shards(reply.get());
    if (!shards) throw std::runtime_error(shards.error().detail);
    return bus::cluster::SlotMap(*shards);
}

// Polling (or, as an edge, serving) `symbols`' market_data twice a second.
std::unique_ptr<DaemonProcess> start_on_cluster(const TempDir& files, const RedisCluster& cluster,
                                                const std::string& role,
                                                const std::vector<std::string>& symbols) {
    json::array instruments;
    for (const auto& symbol : symbols)
        instruments.push_back({{"symbol", symbol}, {"data_types", {"market_data"}}});
    json::value config = {{"vendors", mock_vendors()},
                          {"instruments", instruments},
                          {"published_types", {"signals"}},
                          {"cadences", {{"market_data", {{"interval_seconds", 0.5}}}}}};
    auto ports = cluster.ports();
    DaemonOptions options;
    options.config_file = write_config(files, config, role + ".json");
    // Two seeds of six: the nodes it is told of need not all be up.
    options.env = {{"REDIS_ENABLED", "true"},
                   {"REDIS_CLUSTER_NODES", node(ports[0]) + "," + node(ports[1])},
                   {"TICKERD_ROLE", role},
                   {"AUTO_START_WORKERS", "true"}};
    auto daemon = std::make_unique<DaemonProcess>(options);
    daemon->wait_ready();
    return daemon;
}

// One SSE client on the market_data channels of `symbols`, recording each channel's seqs.
struct AllChannels {
    SseClient sse;
    std::vector<std::string> channels;
    std::map<std::string, std::vector<int64_t>> seqs;

    AllChannels(unsigned short port, const std::vector<std::string>& symbols)
        : sse("127.0.0.1", port) {
        std::string list;
        for (const auto& symbol : symbols) {
            channels.push_back(channel_of(symbol));
            list += (list.empty() ? "" : ",") + channels.back();
        }
        auto opened = sse.open_get("/streaming/subscribe/sse?channels=" + list);
        if (opened.status != 200) throw std::runtime_error("cannot subscribe to the channels");
    }

    // Reads until every channel has a seq above its `floor` entry (none: any seq), or timeout.
    bool read_until_all_pass(const std::map<std::string, int64_t>& floor,
                             std::chrono::milliseconds timeout) {
        auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            if (all_pass(floor)) return true;
            if (auto event = sse.next_data_event(500ms)) {
                auto message = event->json();
                seqs[std::string(message.at("channel").as_string())].push_back(seq_of(message));
            }
        }
        return all_pass(floor);
    }

    bool all_pass(const std::map<std::string, int64_t>& floor) const {
        for (const auto& channel : channels) {
            auto it = seqs.find(channel);
            if (it == seqs.end() || it->second.empty()) return false;
            auto f = floor.find(channel);
            if (f != floor.end() && it->second.back() <= f->second) return false;
        }
        return true;
    }

    std::map<std::string, int64_t> last_seqs() const {
        std::map<std::string, int64_t> last;
        for (const auto& [channel, list] : seqs)
            last[channel] = list.back();
        return last;
    }

    // Every channel's gaps (its first seq aside: the client came in mid-stream).
    std::string gaps() const {
        std::string problems;
        for (const auto& [channel, list] : seqs) {
            auto text = seq_gaps(list);
            if (!text.empty()) problems += channel + ": " + text;
        }
        return problems;
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(two_hundred_channels_over_three_shards_survive_a_failover) {
    RedisCluster cluster(3, 1);
    auto ports = cluster.ports();
    TempDir files("tickerd-cluster-daemons");
    auto symbols = many_symbols();  // 400 messages a second over the three shards
    auto worker = start_on_cluster(files, cluster, "worker", symbols);
    auto edge = start_on_cluster(files, cluster, "edge", symbols);

    // The channels live on every shard.
    auto map = slot_map(ports[0]);
    std::map<std::string, int> channels_per_primary;
    for (const auto& symbol : symbols)
        ++channels_per_primary[map.owner(bus::cluster::slot_of(channel_of(symbol)))->describe()];
    BOOST_TEST_REQUIRE(channels_per_primary.size() == 3u);
    for (const auto& [primary, count] : channels_per_primary)
        BOOST_TEST(count >= 30, primary << " serves " << count << " channels");

    // Every channel reaches the edge's client, in order.
    AllChannels client(edge->port(), symbols);
    BOOST_TEST_REQUIRE(client.read_until_all_pass({}, 30s), edge->log_tail());
    BOOST_TEST_REQUIRE(client.read_until_all_pass(client.last_seqs(), 10s));
    BOOST_TEST(client.gaps().empty(), client.gaps());

    // GET / names the three primaries each instance writes to.
    HttpClient edge_http("127.0.0.1", edge->port());
    HttpClient worker_http("127.0.0.1", worker->port());
    for (auto* http : {&edge_http, &worker_http}) {
        auto status = redis_status(*http);
        BOOST_TEST(status.at("connected").as_bool());
        std::string written = std::string(status.at("write_node").as_string());
        for (const auto& primary : map.primaries())
            BOOST_TEST(written.find(primary.describe()) != std::string::npos, written);
    }

    // The publish API numbers a message in its channel's shard (a script on its primary).
    std::string signals = "stream:signals:" + symbols[7];
    for (int n = 1; n <= 3; ++n) {
        auto reply = worker_http.request("POST", "/streaming/publish/" + signals,
                                         R"({"data": {"score": )" + std::to_string(n) + "}}",
                                         "application/json");
        BOOST_TEST_REQUIRE(reply.status == 202u, reply.body);
    }
    auto history = edge_http.get("/streaming/history/" + signals);
    BOOST_TEST_REQUIRE(history.status == 200u, history.body);
    auto numbered = history.json().at("messages").as_array();
    BOOST_TEST_REQUIRE(numbered.size() == 3u, history.body);
    for (int n = 0; n < 3; ++n)
        BOOST_TEST(seq_of(numbered[n]) == n + 1);

    // The primary serving the first channel dies; its replica takes its slots.
    auto first_slot = bus::cluster::slot_of(channel_of(symbols[0]));
    auto victim = map.owner(first_slot)->port;
    auto before = client.last_seqs();
    cluster.node(static_cast<unsigned short>(victim)).kill();
    BOOST_TEST_REQUIRE(cluster.wait_ok(30s), "the cluster did not fail over");
    auto promoted = slot_map(ports[victim == ports[0] ? 1 : 0]).owner(first_slot);
    BOOST_TEST_REQUIRE((promoted && promoted->port != victim));

    // Every channel continues its numbering on the edge's client, nothing missing; the
    // client stayed connected throughout.
    BOOST_TEST_REQUIRE(client.read_until_all_pass(before, 40s), edge->log_tail());
    BOOST_TEST_REQUIRE(client.read_until_all_pass(client.last_seqs(), 10s), edge->log_tail());
    BOOST_TEST(!client.sse.ended());
    BOOST_TEST(client.gaps().empty(), client.gaps() << edge->log_tail() << worker->log_tail());
    for (auto* http : {&edge_http, &worker_http}) {
        BOOST_TEST(wait_until([&] { return redis_status(*http).at("connected").as_bool(); }, 10s));
        std::string written = std::string(redis_status(*http).at("write_node").as_string());
        BOOST_TEST(written.find(promoted->describe()) != std::string::npos, written);
        BOOST_TEST(written.find(node(static_cast<unsigned short>(victim))) == std::string::npos,
                   written);
        // /metrics names the same nodes.
        auto metrics = http->get("/metrics").body;
        BOOST_TEST(metrics.find("tickerd_redis_node_info{use=\"write\",node=\"" +
                                promoted->describe() + "\"} 1") != std::string::npos,
                   metrics);
        BOOST_TEST(metrics.find("tickerd_redis_write_refusals_total") != std::string::npos);
    }
}

// Slots moved to another primary while the stream runs (redis-cli --cluster reshard, keys
// included): the worker's messages follow the channels to their new primary, the edge
// subscribes there and catches up from the history that moved with them.
BOOST_AUTO_TEST_CASE(channels_follow_their_slots_to_another_primary) {
    RedisCluster cluster(3, 0);
    auto ports = cluster.ports();
    auto map = slot_map(ports[0]);
    auto from = map.owner(0)->port, to = map.owner(bus::cluster::kSlots - 1)->port;
    // Three symbols in the first 100 slots (those the reshard moves), three elsewhere.
    std::vector<std::string> moving, staying;
    for (int i = 0; moving.size() < 3 || staying.size() < 3; ++i) {
        std::string symbol = "R" + std::to_string(i);
        auto slot = bus::cluster::slot_of(channel_of(symbol));
        auto& list = slot < 100 ? moving : staying;
        if (list.size() < 3) list.push_back(symbol);
    }
    auto symbols = moving;
    symbols.insert(symbols.end(), staying.begin(), staying.end());
    TempDir files("tickerd-cluster-reshard");
    auto worker = start_on_cluster(files, cluster, "worker", symbols);
    auto edge = start_on_cluster(files, cluster, "edge", symbols);
    AllChannels client(edge->port(), symbols);
    BOOST_TEST_REQUIRE(client.read_until_all_pass({}, 20s), edge->log_tail());
    BOOST_TEST_REQUIRE(client.read_until_all_pass(client.last_seqs(), 10s));

    cluster.move_slots(static_cast<unsigned short>(from), static_cast<unsigned short>(to), 100);
    BOOST_TEST_REQUIRE(
        (slot_map(ports[0]).owner(bus::cluster::slot_of(channel_of(moving[0])))->port == to));
    // Each channel goes on past where it was, for several messages; nothing missing.
    auto before = client.last_seqs();
    for (auto& [channel, seq] : before)
        seq += 6;
    BOOST_TEST_REQUIRE(client.read_until_all_pass(before, 30s), edge->log_tail()
                                                                    << worker->log_tail());
    BOOST_TEST(!client.sse.ended());
    BOOST_TEST(client.gaps().empty(), client.gaps() << edge->log_tail() << worker->log_tail());
    // The worker now writes the moved channels' latest on their new primary.
    RedisClient redis(static_cast<unsigned short>(to));
    auto latest = redis.call({"GET", "latest:{" + channel_of(moving[0]) + "}"});
    BOOST_TEST(latest.find(moving[0]) != std::string::npos, latest);
}

BOOST_AUTO_TEST_CASE(settings_that_do_not_fit_a_cluster_are_refused) {
    for (const auto& [name, value] : EnvVars{{"REDIS_DB", "2"},
                                             {"REDIS_READ_FROM", "replica"},
                                             {"REDIS_SENTINELS", "127.0.0.1:26379"}}) {
        auto run = run_daemon_command(
            {"--check-config"},
            {{"REDIS_ENABLED", "true"}, {"REDIS_CLUSTER_NODES", "127.0.0.1:7000"}, {name, value}});
        BOOST_TEST(!run.status.success(), name);
        BOOST_TEST(run.output.find("cluster_nodes") != std::string::npos, run.output);
    }
}
