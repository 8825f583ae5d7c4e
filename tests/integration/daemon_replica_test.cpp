// Edges reading replicas (redis.read_from): a worker publishes to the primary, an edge
// subscribes and reads on a replica. When that replica dies the edge moves to another one,
// its clients stay connected and miss nothing (the gap is caught up from the history), and
// GET / names the node it reads now. Real redis-server and redis-sentinel processes.
#define BOOST_TEST_MODULE daemon_replica
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

namespace json = boost::json;
using namespace tickerd::testing;
using namespace std::chrono_literals;

namespace {

std::string node(unsigned short port) {
    return "127.0.0.1:" + std::to_string(port);
}

// A primary and two replicas of it, linked.
struct ReplicatedRedis {
    RedisServer primary;
    RedisServer first{{"--replicaof", "127.0.0.1", std::to_string(primary.port())}};
    RedisServer second{{"--replicaof", "127.0.0.1", std::to_string(primary.port())}};

    ReplicatedRedis() {
        for (auto* replica : {&first, &second}) {
            if (!wait_until([&] { return replica_linked(replica->port()); }, 15s))
                throw std::runtime_error("a replica did not link to its primary:\n" +
                                         replica->log());
        }
    }
};

// Follows the edge's stream across the death of the replica it reads: the client stays
// connected and every seq comes, in order, once; GET / then names `survivor`.
void carries_on_when_its_replica_dies(DaemonProcess& edge, SeqStream& stream, RedisServer& victim,
                                      const RedisServer& survivor) {
    HttpClient http("127.0.0.1", edge.port());
    auto& seqs = stream.seqs;
    BOOST_TEST_REQUIRE(stream.receive_until([&] { return seqs.size() >= 5; }, 10s),
                       edge.log_tail());
    BOOST_TEST(redis_status(http).at("read_node").as_string() == node(victim.port()));

    victim.kill();
    int64_t last_before = seqs.back();
    BOOST_TEST_REQUIRE(stream.receive_until([&] { return seqs.back() > last_before + 50; }, 20s),
                       edge.log_tail());
    BOOST_TEST(!stream.sse.ended());
    BOOST_TEST(stream.gaps().empty(), stream.gaps() << edge.log_tail());
    auto status = redis_status(http);
    BOOST_TEST(status.at("connected").as_bool());
    BOOST_TEST(status.at("read_node").as_string() == node(survivor.port()));
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_edge_on_a_replica_moves_to_another_when_it_dies) {
    ReplicatedRedis redis;
    TempDir files("tickerd-replica");
    // 50 messages a second: the edge's move to another replica leaves a gap of several.
    auto worker = start_redis_daemon(files, redis.primary, "worker", 0.02);
    auto edge = start_redis_daemon(files,
                                   {{"REDIS_HOST", "127.0.0.1"},
                                    {"REDIS_PORT", std::to_string(redis.primary.port())},
                                    {"REDIS_READ_FROM", node(redis.first.port())}},
                                   "edge", 0.1);
    HttpClient http("127.0.0.1", edge->port());
    auto status = redis_status(http);
    BOOST_TEST(status.at("read_from").as_string() == node(redis.first.port()));
    BOOST_TEST(status.at("write_node").as_string() == node(redis.primary.port()));

    // The edge's clients see what the worker publishes on the primary, through the replica.
    WsClient ws("127.0.0.1", edge->port());
    ws.connect("/streaming/ws");
    BOOST_TEST_REQUIRE(ws.next_of_type("connected", 5s).has_value());
    ws.send_json({{"action", "subscribe"}, {"channels", {kRedisTestChannel}}});
    SeqStream stream(edge->port());
    carries_on_when_its_replica_dies(*edge, stream, redis.first, redis.second);
    // The WebSocket client, read only now, got the same: every seq once, in order.
    std::vector<int64_t> ws_seqs;
    while (ws_seqs.empty() || ws_seqs.back() < stream.seqs.back()) {
        auto data = ws.next_of_type("data", 5s);
        BOOST_TEST_REQUIRE(data.has_value(), ws.error());
        ws_seqs.push_back(seq_of(data->at("message")));
    }
    BOOST_TEST(!ws.closed());
    BOOST_TEST(seq_gaps(ws_seqs).empty(), seq_gaps(ws_seqs));
    // Its latest values are the replica's too.
    auto latest = http.get("/streaming/latest/" + kRedisTestChannel);
    BOOST_TEST_REQUIRE(latest.status == 200u, latest.body);
    BOOST_TEST(latest.json().at("message").at("vendor").as_string() == "mock");
}

// With Sentinel and read_from "replica": the sentinels list the replicas, the edge picks a
// healthy one, and another one when it dies.
BOOST_AUTO_TEST_CASE(an_edge_reading_any_replica_follows_the_sentinels) {
    ReplicatedRedis redis;
    RedisSentinel sentinel("tickerd-main", redis.primary.port());
    BOOST_TEST_REQUIRE(wait_until([&] { return sentinel.linked_replicas() == 2; }, 30s),
                       sentinel.log());
    TempDir files("tickerd-replica-sentinel");
    // 50 messages a second: the edge's move to another replica leaves a gap of several.
    auto worker = start_redis_daemon(files, redis.primary, "worker", 0.02);
    auto edge = start_redis_daemon(files,
                                   {{"REDIS_SENTINELS", node(sentinel.port())},
                                    {"REDIS_SENTINEL_MASTER", "tickerd-main"},
                                    {"REDIS_READ_FROM", "replica"}},
                                   "edge", 0.1);
    HttpClient http("127.0.0.1", edge->port());
    std::string read_node;
    BOOST_TEST_REQUIRE(wait_until(
        [&] {
            auto value = redis_status(http).at("read_node");
            read_node = value.is_string() ? std::string(value.as_string()) : "";
            return !read_node.empty();
        },
        10s));
    BOOST_TEST(redis_status(http).at("master").as_string() == node(redis.primary.port()));
    bool first = read_node == node(redis.first.port());
    BOOST_TEST_REQUIRE((first || read_node == node(redis.second.port())), read_node);
    SeqStream stream(edge->port());
    carries_on_when_its_replica_dies(*edge, stream, first ? redis.first : redis.second,
                                     first ? redis.second : redis.first);
}

// With no replica left the edge reads the primary, and goes back to its replica once that
// one is linked again; its client misses nothing either way.
BOOST_AUTO_TEST_CASE(an_edge_reads_the_primary_until_a_replica_is_back) {
    RedisServer primary;
    RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(primary.port())});
    BOOST_TEST_REQUIRE(wait_until([&] { return replica_linked(replica.port()); }, 15s));
    TempDir files("tickerd-replica-primary");
    auto worker = start_redis_daemon(files, primary, "worker", 0.02);
    auto edge = start_redis_daemon(files,
                                   {{"REDIS_HOST", "127.0.0.1"},
                                    {"REDIS_PORT", std::to_string(primary.port())},
                                    {"REDIS_READ_FROM", node(replica.port())}},
                                   "edge", 0.1);
    SeqStream stream(edge->port());
    carries_on_when_its_replica_dies(*edge, stream, replica, primary);

    replica.restart();
    BOOST_TEST_REQUIRE(wait_until([&] { return replica_linked(replica.port()); }, 15s));
    HttpClient http("127.0.0.1", edge->port());
    BOOST_TEST(wait_until(
                   [&] {
                       stream.receive_until([] { return false; }, 500ms);
                       return redis_status(http).at("read_node").as_string() ==
                              node(replica.port());
                   },
                   20s),
               edge->log_tail());
    int64_t last_before = stream.seqs.back();
    BOOST_TEST(stream.receive_until([&] { return stream.seqs.back() > last_before + 20; }, 10s));
    BOOST_TEST(!stream.sse.ended());
    BOOST_TEST(stream.gaps().empty(), stream.gaps());
}
