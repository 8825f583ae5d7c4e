// The Redis Cluster layer against a real cluster (three primaries with a replica each, built
// by redis-cli --cluster create on free ports): the slots it computes are CLUSTER KEYSLOT's;
// CLUSTER SHARDS asked of any node gives the same map, covering every slot with three
// primaries; a command sent to a node that does not own its slot comes back MOVED to the
// owner the map names; and after a primary is killed its replica takes its slots.
#define BOOST_TEST_MODULE redis_cluster_topology
#include <boost/test/unit_test.hpp>

#include "bus/redis_cluster.hpp"
#include "support/redis_cluster.hpp"
#include "support/support.hpp"

#include <hiredis/hiredis.h>

#include <memory>
#include <random>

using namespace tickerd;
using namespace tickerd::bus::cluster;
using namespace tickerd::testing;
using namespace std::chrono_literals;

namespace {

struct FreeReply {
    void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, FreeReply>;

// One synchronous command to 127.0.0.1:port, its raw reply.
Reply ask(unsigned short port, const std::vector<std::string>& argv) {
    timeval timeout{5, 0};
    std::unique_ptr<redisContext, void (*)(redisContext*)> context(
        redisConnectWithTimeout("127.0.0.1", port, timeout), redisFree);
    BOOST_TEST_REQUIRE((context && !context->err));
    std::vector<const char*> pointers;
    std::vector<size_t> lengths;
    for (const auto& arg : argv) {
        pointers.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    return Reply(static_cast<redisReply*>(redisCommandArgv(
        context.get(), static_cast<int>(argv.size()), pointers.data(), lengths.data())));
}

SlotMap map_from(unsigned short port) {
    auto reply = ask(port, {"CLUSTER", "SHARDS"});
    auto shards = parse_shards(reply.get());
    BOOST_TEST_REQUIRE(shards.has_value(), shards.error().detail);
    return SlotMap(*shards);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_layer_agrees_with_a_real_cluster) {
    RedisCluster cluster(3, 1);
    auto ports = cluster.ports();

    // Slots: ours against CLUSTER KEYSLOT, for channel names, their keys and random keys.
    std::mt19937 random(7);
    std::vector<std::string> keys{"stream:market_data:AAPL", "latest:{stream:news:MSFT}", "x{}{y}"};
    for (int i = 0; i < 300; ++i) {
        // Appended piece by piece: GCC 12's -Wrestrict misreads `"k" + std::to_string(…)`.
        std::string key = "k";
        key += std::to_string(random());
        if (i % 3 == 0) {
            key += "{t";
            key += std::to_string(i % 7);
            key += "}";
        }
        keys.push_back(std::move(key));
    }
    for (const auto& key : keys) {
        auto reply = ask(ports[0], {"CLUSTER", "KEYSLOT", key});
        BOOST_TEST_REQUIRE(reply->type == REDIS_REPLY_INTEGER);
        BOOST_TEST(slot_of(key) == reply->integer, key);
    }

    // The same map from every node; every slot served; three primaries.
    auto map = map_from(ports[0]);
    BOOST_TEST(map.covers_every_slot());
    BOOST_TEST(map.primaries().size() == 3u);
    for (auto port : ports) {
        auto other = map_from(port);
        for (std::size_t slot = 0; slot < kSlots; slot += 97)
            BOOST_TEST((other.owner(static_cast<uint16_t>(slot)) ==
                        map.owner(static_cast<uint16_t>(slot))));
    }

    // A node that does not own the slot answers MOVED to the owner the map names.
    const std::string channel = "stream:market_data:AAPL";
    auto owner = map.owner(slot_of(channel)).value();
    unsigned short elsewhere = 0;
    for (const auto& primary : map.primaries())
        if (primary.port != owner.port) elsewhere = static_cast<unsigned short>(primary.port);
    auto refused = ask(elsewhere, {"SET", key_in_slot_of("latest:", channel), "x"});
    BOOST_TEST_REQUIRE(refused->type == REDIS_REPLY_ERROR);
    auto redirect = parse_redirect(std::string(refused->str, refused->len));
    BOOST_TEST_REQUIRE(redirect.has_value(), refused->str);
    BOOST_TEST((redirect->kind == Redirect::Kind::moved));
    BOOST_TEST(redirect->slot == slot_of(channel));
    BOOST_TEST(redirect->node.port == owner.port);
    auto stored = ask(static_cast<unsigned short>(owner.port),
                      {"SET", key_in_slot_of("latest:", channel), "x"});
    BOOST_TEST(stored->type == REDIS_REPLY_STATUS);
    // Replication is asynchronous: the key is on the replica before its primary is killed
    // below (without the wait, one run in many found it promoted without the key).
    auto replicated = ask(static_cast<unsigned short>(owner.port), {"WAIT", "1", "5000"});
    BOOST_TEST_REQUIRE(replicated->type == REDIS_REPLY_INTEGER);
    BOOST_TEST(replicated->integer == 1);
    // Sharded pub/sub: SPUBLISH is served by the slot's owner only.
    auto published = ask(static_cast<unsigned short>(owner.port), {"SPUBLISH", channel, "hello"});
    BOOST_TEST(published->type == REDIS_REPLY_INTEGER);
    BOOST_TEST(ask(elsewhere, {"SPUBLISH", channel, "hello"})->type == REDIS_REPLY_ERROR);

    // The owner killed: its replica is promoted and the map (asked of a live node) names it.
    cluster.node(static_cast<unsigned short>(owner.port)).kill();
    std::optional<bus::HostPort> promoted;
    BOOST_TEST_REQUIRE(wait_until(
        [&] {
            auto now = map_from(elsewhere).owner(slot_of(channel));
            if (!now || now->port == owner.port) return false;
            promoted = now;
            return true;
        },
        30s, 200ms));
    // The promoted node serves the slot itself (a GET, not a MOVED). Whether it holds the key
    // is Redis's asynchronous replication, not the layer: even after the WAIT above, one CI
    // run in many found it promoted without the key (a 1 s node timeout on a loaded machine
    // can fail over early), so the value is not asserted.
    auto served = ask(static_cast<unsigned short>(promoted->port),
                      {"GET", key_in_slot_of("latest:", channel)});
    BOOST_TEST((served->type == REDIS_REPLY_STRING || served->type == REDIS_REPLY_NIL),
               "reply type " << served->type);
}
