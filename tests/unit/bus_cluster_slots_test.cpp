// The Redis Cluster layer's pure parts: key slots (CRC16-XMODEM, hash tags) against the
// values the Redis Cluster specification and `CLUSTER KEYSLOT` give, a stream's keys in its
// channel's slot, CLUSTER SHARDS replies (RESP2, read by hiredis's own reader) into a slot
// map, a MOVED updating one slot, and MOVED/ASK errors read or refused.
#define BOOST_TEST_MODULE bus_cluster_slots
#include "bus/redis_cluster.hpp"

#include <boost/test/unit_test.hpp>

#include <hiredis/read.h>

#include <memory>

using namespace tickerd;
using namespace tickerd::bus;
using namespace tickerd::bus::cluster;

namespace {

// A RESP2 reply as hiredis reads it off the wire.
struct ParsedReply {
    explicit ParsedReply(const std::string& resp) {
        auto* reader = redisReaderCreate();
        redisReaderFeed(reader, resp.data(), resp.size());
        void* out = nullptr;
        BOOST_TEST_REQUIRE(redisReaderGetReply(reader, &out) == REDIS_OK);
        redisReaderFree(reader);
        reply.reset(static_cast<redisReply*>(out));
    }
    struct Free {
        void operator()(redisReply* r) const { freeReplyObject(r); }
    };
    std::unique_ptr<redisReply, Free> reply;
};

std::string bulk(const std::string& text) {
    return "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
}

std::string node(int port, const std::string& role, const std::string& health = "online") {
    return "*14\r\n" + bulk("id") + bulk(std::to_string(port) + "abc") + bulk("port") + ":" +
           std::to_string(port) + "\r\n" + bulk("ip") + bulk("127.0.0.1") + bulk("endpoint") +
           bulk("127.0.0.1") + bulk("role") + bulk(role) + bulk("replication-offset") + ":42\r\n" +
           bulk("health") + bulk(health);
}

// One shard of CLUSTER SHARDS: {"slots": [first, last, …], "nodes": [node, …]}.
std::string shard(const std::vector<int>& slots, const std::vector<std::string>& nodes) {
    std::string out = "*4\r\n" + bulk("slots") + "*" + std::to_string(slots.size()) + "\r\n";
    for (int slot : slots)
        out += ":" + std::to_string(slot) + "\r\n";
    out += bulk("nodes") + "*" + std::to_string(nodes.size()) + "\r\n";
    for (const auto& n : nodes)
        out += n;
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(key_slots_are_redis_clusters) {
    // The specification's check value: CRC16-XMODEM("123456789") = 0x31C3.
    BOOST_TEST(slot_of("123456789") == 0x31C3 % 16384);
    // CLUSTER KEYSLOT on Redis 7.
    BOOST_TEST(slot_of("foo") == 12182);
    BOOST_TEST(slot_of("bar") == 5061);
    BOOST_TEST(slot_of("") == 0);
    // Hash tags: the first {…} that is not empty.
    BOOST_TEST(slot_of("{user1000}.following") == slot_of("user1000"));
    BOOST_TEST(slot_of("foo{}{bar}") == slot_of("foo{}{bar}"));  // empty tag: the whole key
    BOOST_TEST(slot_of("foo{}{bar}") != slot_of("bar"));
    BOOST_TEST(slot_of("foo{{bar}}zap") == slot_of("{bar"));
    BOOST_TEST(slot_of("foo{bar}{zap}") == slot_of("bar"));
}

BOOST_AUTO_TEST_CASE(a_streams_keys_share_its_channels_slot) {
    const std::string channel = "stream:market_data:AAPL";
    auto latest = key_in_slot_of("latest:", channel);
    BOOST_TEST(latest == "latest:{stream:market_data:AAPL}");
    BOOST_TEST(slot_of(latest) == slot_of(channel));
    BOOST_TEST(slot_of(key_in_slot_of("tickerd:history:", channel)) == slot_of(channel));
    BOOST_TEST(slot_of(key_in_slot_of("tickerd:seq:", channel)) == slot_of(channel));
}

BOOST_AUTO_TEST_CASE(cluster_shards_make_a_slot_map) {
    ParsedReply shards(
        "*3\r\n" + shard({0, 5460}, {node(7000, "master"), node(7003, "replica")}) +
        shard({5461, 10922}, {node(7001, "master"), node(7004, "replica", "failed")}) +
        shard({10923, 16000, 16001, 16383}, {node(7002, "master")}));
    auto parsed = parse_shards(shards.reply.get());
    BOOST_TEST_REQUIRE(parsed.has_value(), parsed.error().detail);
    BOOST_TEST_REQUIRE(parsed->size() == 3u);
    BOOST_TEST(((*parsed)[0].primary == HostPort{"127.0.0.1", 7000}));
    BOOST_TEST((*parsed)[0].replicas.size() == 1u);
    BOOST_TEST((*parsed)[1].replicas.empty());  // the failed one is left out
    BOOST_TEST((*parsed)[2].slots.size() == 2u);

    SlotMap map(*parsed);
    BOOST_TEST(map.covers_every_slot());
    BOOST_TEST((map.owner(0) == HostPort{"127.0.0.1", 7000}));
    BOOST_TEST((map.owner(5461) == HostPort{"127.0.0.1", 7001}));
    BOOST_TEST((map.owner(16383) == HostPort{"127.0.0.1", 7002}));
    BOOST_TEST(map.primaries().size() == 3u);
    map.moved(0, HostPort{"127.0.0.1", 7005});
    BOOST_TEST((map.owner(0) == HostPort{"127.0.0.1", 7005}));
    BOOST_TEST((map.owner(1) == HostPort{"127.0.0.1", 7000}));
    BOOST_TEST(map.primaries().size() == 4u);
}

BOOST_AUTO_TEST_CASE(slots_of_a_shard_without_a_primary_have_no_owner) {
    ParsedReply shards("*2\r\n" + shard({0, 8191}, {node(7000, "master")}) +
                       shard({8192, 16383}, {node(7001, "master", "failed")}));
    auto parsed = parse_shards(shards.reply.get());
    BOOST_TEST_REQUIRE(parsed.has_value());
    SlotMap map(*parsed);
    BOOST_TEST(!map.covers_every_slot());
    BOOST_TEST(!map.owner(9000).has_value());
    BOOST_TEST(!SlotMap().owner(0).has_value());
}

BOOST_AUTO_TEST_CASE(malformed_shards_are_refused) {
    ParsedReply not_array("+OK\r\n");
    BOOST_TEST(!parse_shards(not_array.reply.get()).has_value());
    ParsedReply odd_slots("*1\r\n" + shard({0}, {node(7000, "master")}));
    BOOST_TEST(!parse_shards(odd_slots.reply.get()).has_value());
    ParsedReply out_of_range("*1\r\n" + shard({0, 16384}, {node(7000, "master")}));
    BOOST_TEST(!parse_shards(out_of_range.reply.get()).has_value());
}

BOOST_AUTO_TEST_CASE(moved_and_ask_redirect) {
    auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
    BOOST_TEST_REQUIRE(moved.has_value());
    BOOST_TEST((moved->kind == Redirect::Kind::moved));
    BOOST_TEST(moved->slot == 3999);
    BOOST_TEST((moved->node == HostPort{"127.0.0.1", 6381}));
    auto ask = parse_redirect("ASK 12 ::1:7000");
    BOOST_TEST_REQUIRE(ask.has_value());
    BOOST_TEST((ask->kind == Redirect::Kind::ask));
    BOOST_TEST((ask->node == HostPort{"::1", 7000}));
    for (const char* other : {"ERR unknown command", "MOVED", "MOVED 16384 a:1", "MOVED 1 a",
                              "MOVED 1 a:0", "MOVED x a:1", "ASK 1 :7000"})
        BOOST_TEST(!parse_redirect(other).has_value(), other);
}

// A shard's links stay with their primary while it serves any slot (resharding), and follow
// their slot to whoever serves it when their primary does not (a failover).
BOOST_AUTO_TEST_CASE(a_shard_follows_its_primary_or_else_its_slot) {
    HostPort a{"127.0.0.1", 7000}, b{"127.0.0.1", 7001}, promoted{"127.0.0.1", 7003};
    auto map_of = [](std::vector<Shard> shards) { return SlotMap(shards); };
    auto before = map_of({{{{0, 8191}}, a, {}}, {{{8192, 16383}}, b, {}}});
    // First contact: the owner of the slot asked for, and the first slot it serves.
    auto first = follow(before, std::nullopt, 100);
    BOOST_TEST_REQUIRE(first.has_value());
    BOOST_TEST((first->primary == a));
    BOOST_TEST(first->slot == 0);
    // Slots 0–99 moved to b: a still serves slots, so the shard stays, following slot 100.
    auto resharded = map_of({{{{100, 8191}}, a, {}}, {{{0, 99}, {8192, 16383}}, b, {}}});
    auto stays = follow(resharded, a, 0);
    BOOST_TEST_REQUIRE(stays.has_value());
    BOOST_TEST((stays->primary == a));
    BOOST_TEST(stays->slot == 100);
    // a died and its replica took its slots: the shard follows slot 100 there.
    auto failed_over = map_of({{{{0, 99}, {8192, 16383}}, b, {}}, {{{100, 8191}}, promoted, {}}});
    auto moves = follow(failed_over, a, 100);
    BOOST_TEST_REQUIRE(moves.has_value());
    BOOST_TEST((moves->primary == promoted));
    BOOST_TEST(moves->slot == 100);
    // Before the promotion nobody serves slot 100: nowhere to go yet.
    auto orphaned = map_of({{{{0, 99}, {8192, 16383}}, b, {}}, {{{100, 8191}}, std::nullopt, {}}});
    BOOST_TEST(!follow(orphaned, a, 100).has_value());
    BOOST_TEST((orphaned.first_slot_of(b) == std::optional<uint16_t>(0)));
    BOOST_TEST(!orphaned.first_slot_of(a).has_value());
}
