// A throwaway Redis Cluster for one test: cluster-enabled redis-server processes on free
// loopback ports, joined by `redis-cli --cluster create` into primaries with replicas, and
// ready once every node reports cluster_state:ok. Nodes can be killed (a failover), and slots
// moved between primaries (resharding).
#pragma once

#include "support/redis_server.hpp"

#include <memory>
#include <string>
#include <vector>

namespace tickerd::testing {

class RedisCluster {
  public:
    // Throws std::runtime_error (with redis-cli's output) when the cluster does not form.
    explicit RedisCluster(int primaries = 3, int replicas_each = 1);
    RedisCluster(const RedisCluster&) = delete;
    RedisCluster& operator=(const RedisCluster&) = delete;

    std::vector<unsigned short> ports() const;  // every node, alive or not
    RedisServer& node(unsigned short port);
    // Waits (up to `timeout`) until every live node reports cluster_state:ok and every live
    // replica is linked to its primary.
    bool wait_ok(std::chrono::milliseconds timeout);
    // Moves `count` of the slots `from` serves (its first ones) to `to`, keys included:
    // `redis-cli --cluster reshard`. Throws std::runtime_error with its output when it fails.
    void move_slots(unsigned short from, unsigned short to, int count);

  private:
    TempDir dir_{"tickerd-cluster"};
    std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace tickerd::testing
