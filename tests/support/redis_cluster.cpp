#include "support/redis_cluster.hpp"

#include "support/daemon.hpp"

#include <stdexcept>

namespace tickerd::testing {

using namespace std::chrono_literals;

RedisCluster::RedisCluster(int primaries, int replicas_each) {
    std::vector<std::string> argv{"/usr/bin/redis-cli", "--cluster", "create"};
    for (int i = 0; i < primaries * (1 + replicas_each); ++i) {
        // The cluster bus gets a free port of its own: the default (port + 10000) may be
        // taken, or past 65535.
        nodes_.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port",
            std::to_string(free_port()),
            // Short, so that a killed primary's replica takes over within seconds; replicas
            // synced at once (no 5 s wait for more replicas) and allowed to take over however
            // long ago they heard from their primary.
            "--cluster-node-timeout", "1000", "--repl-diskless-sync-delay", "0",
            "--cluster-replica-validity-factor", "0"}));
        argv.push_back("127.0.0.1:" + std::to_string(nodes_.back()->port()));
    }
    for (const char* arg : {"--cluster-replicas", "", "--cluster-yes"})
        argv.emplace_back(*arg ? arg : std::to_string(replicas_each));
    auto output = dir_.path() / "create.log";
    auto pid = spawn_process(argv, {}, output);
    auto status = reap_process(pid, 60s);
    if (!status || !status->success())
        throw std::runtime_error("redis-cli --cluster create failed:\n" + read_file(output));
    if (!wait_ok(30s))
        throw std::runtime_error("the cluster did not become ok:\n" + read_file(output));
}

void RedisCluster::move_slots(unsigned short from, unsigned short to, int count) {
    auto id = [](unsigned short port) { return RedisClient(port).call({"CLUSTER", "MYID"}); };
    std::vector<std::string> argv{"/usr/bin/redis-cli",
                                  "--cluster",
                                  "reshard",
                                  "127.0.0.1:" + std::to_string(from),
                                  "--cluster-from",
                                  id(from),
                                  "--cluster-to",
                                  id(to),
                                  "--cluster-slots",
                                  std::to_string(count),
                                  "--cluster-yes"};
    auto output = dir_.path() / "reshard.log";
    auto status = reap_process(spawn_process(argv, {}, output), 60s);
    if (!status || !status->success())
        throw std::runtime_error("redis-cli --cluster reshard failed:\n" + read_file(output));
}

std::vector<unsigned short> RedisCluster::ports() const {
    std::vector<unsigned short> ports;
    for (const auto& node : nodes_)
        ports.push_back(node->port());
    return ports;
}

RedisServer& RedisCluster::node(unsigned short port) {
    for (auto& node : nodes_) {
        if (node->port() == port) return *node;
    }
    throw std::runtime_error("no cluster node on port " + std::to_string(port));
}

bool RedisCluster::wait_ok(std::chrono::milliseconds timeout) {
    return wait_until(
        [&] {
            for (const auto& node : nodes_) {
                try {
                    RedisClient client(node->port());
                    if (client.call({"CLUSTER", "INFO"}).find("cluster_state:ok") ==
                        std::string::npos)
                        return false;
                    auto replication = client.call({"INFO", "replication"});
                    if (replication.find("role:slave") != std::string::npos &&
                        replication.find("master_link_status:up") == std::string::npos)
                        return false;  // not synced yet: it could not take over
                } catch (const std::exception&) {
                    continue;  // a killed node
                }
            }
            return true;
        },
        timeout, 100ms);
}

}  // namespace tickerd::testing
