// Internal to bus/: the Redis bus for one Redis primary. Without a cluster it is the whole
// Redis bus (make_redis_bus returns one); in a Redis Cluster the cluster bus keeps one per
// shard, all feeding the cluster bus's own subscribers, and tells each which channels it
// follows. A shard in a cluster speaks sharded pub/sub (SPUBLISH, SSUBSCRIBE) and names its
// keys in their channel's slot (cluster_key).
#pragma once

#include "bus/bus.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace tickerd::bus {

struct RedisShardOptions {
    RedisBusOptions bus;
    // This instance's subscribers, fed from the shard's subscriptions (shared by the shards
    // of a cluster).
    std::shared_ptr<Bus> local;
    // In a cluster: Redis redirected a command (MOVED/ASK, its words): the slot map is stale.
    std::function<void(const std::string&)> redirected;
    // In a cluster: whether a channel is still served by this shard; when it is not, a
    // message of it waiting here is handed to `reroute` (to go to its new shard).
    std::function<bool(const std::string& channel)> serves;
    std::function<void(const MessagePtr&, std::chrono::seconds)> reroute;
};

class RedisShard : public Bus {
  public:
    // Subscribes to a channel in Redis (once, however often it is called: the caller
    // counts its own subscribers) and delivers its messages to the local bus; unfollow ends it.
    // `after`: the seq delivered last (by another shard, before the channel moved here),
    // so the channel catches up from the history after it.
    virtual void follow(const std::string& channel, std::optional<uint64_t> after) = 0;
    virtual void unfollow(const std::string& channel) = 0;
};

std::unique_ptr<RedisShard> make_redis_shard(boost::asio::io_context& io,
                                             RedisShardOptions options);

// The cluster bus (redis_cluster_bus.cpp): the shards of the cluster at `options.address`.
std::unique_ptr<Bus> make_redis_cluster_bus(boost::asio::io_context& io, RedisBusOptions options);

}  // namespace tickerd::bus
