// A throwaway redis-server for one test: its own free loopback port and folder, no
// persistence; it can be killed and started again on the same port (outage tests). And a
// plain synchronous client to look at what the daemon wrote.
#pragma once

#include "support/temp_dir.hpp"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

struct redisContext;

namespace tickerd::testing {

// A loopback TCP port nobody listens on now (the kernel's pick).
unsigned short free_port();

class RedisServer {
  public:
    // Starts and waits until it answers. `extra` goes on its command line (e.g.
    // {"--replicaof", "127.0.0.1", "6379"}).
    explicit RedisServer(std::vector<std::string> extra = {});
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    unsigned short port() const { return port_; }
    void kill();     // SIGKILL: an outage
    void restart();  // the same port, an empty dataset
    std::string log() const;

  private:
    void start();
    TempDir dir_{"tickerd-redis"};
    unsigned short port_ = 0;
    std::vector<std::string> extra_;
    pid_t pid_ = -1;
};

// A Redis Sentinel (redis-server --sentinel) watching one master under `master_name`, with
// a quorum of one and short timeouts, so a killed master is failed over within seconds.
class RedisSentinel {
  public:
    RedisSentinel(const std::string& master_name, unsigned short master_port);
    ~RedisSentinel();
    RedisSentinel(const RedisSentinel&) = delete;
    RedisSentinel& operator=(const RedisSentinel&) = delete;

    unsigned short port() const { return port_; }
    // The port of the master the sentinel names now, 0 when it names none.
    unsigned short master_port();
    // How many replicas of the master it knows; of them, how many it has seen linked to the
    // master (master-link-status ok: what a reader of replicas takes for healthy).
    std::size_t replicas();
    std::size_t linked_replicas();
    std::string log() const;

  private:
    TempDir dir_{"tickerd-sentinel"};
    std::string master_name_;
    unsigned short port_ = 0;
    pid_t pid_ = -1;
};

// One connection; every call has a 5 s timeout and throws std::runtime_error on failure.
class RedisClient {
  public:
    explicit RedisClient(unsigned short port);
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    std::optional<std::string> get(const std::string& key);
    long long ttl(const std::string& key);  // as TTL: -2 missing, -1 no expiry
    std::vector<std::string> keys(const std::string& pattern);
    long long publish(const std::string& channel, const std::string& payload);
    // Any command; its reply as text: a string, status or number as it is, an array as its
    // elements joined by '\n', nil as "", an error as "ERR: <message>".
    std::string call(const std::vector<std::string>& argv);

    // After subscribe() or psubscribe(), only next_message() may be called.
    void subscribe(const std::string& channel);
    void psubscribe(const std::string& pattern);
    // The next published payload, or nothing within `timeout`.
    std::optional<std::string> next_message(std::chrono::milliseconds timeout);

  private:
    redisContext* context_ = nullptr;
};

// Whether the redis-server on `port` is a replica whose link to its master is up (ROLE says
// "connected"): before that it serves nothing of the master's.
bool replica_linked(unsigned short port);

// The redis-server binary, or "" when it is not installed.
std::string redis_server_binary();

}  // namespace tickerd::testing
