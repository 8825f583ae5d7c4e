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

class RedisServer {
  public:
    RedisServer();  // starts and waits until it answers PING
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

    // After subscribe() or psubscribe(), only next_message() may be called.
    void subscribe(const std::string& channel);
    void psubscribe(const std::string& pattern);
    // The next published payload, or nothing within `timeout`.
    std::optional<std::string> next_message(std::chrono::milliseconds timeout);

  private:
    redisContext* context_ = nullptr;
};

// The redis-server binary, or "" when it is not installed.
std::string redis_server_binary();

}  // namespace tickerd::testing
