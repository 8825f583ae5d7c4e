// One connection to Redis, driven by the daemon's own io_context: hiredis's async API with
// its event hooks mapped onto an Asio descriptor (no extra event library, no thread of its
// own). It connects, authenticates, selects the database, and when the link drops it
// reconnects with capped exponential backoff until stopped. With Sentinel it asks the
// sentinels for the master before each connection, so it follows a failover. A reading link
// (ReadFrom other than primary) talks to a replica instead, and when that one fails moves to
// another healthy replica (listed by the sentinels, or by the primary), the primary being
// the last resort. In a Redis Cluster it serves one slot's primary, asking any node for the
// shards before each connection. Everything runs on the link's strand; callbacks are called
// there.
#pragma once

#include "bus/bus.hpp"

#include <boost/asio/io_context.hpp>

#include <hiredis/hiredis.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickerd::bus {

class RedisLink {
  public:
    struct Events {
        std::function<void()> connected;                       // ready for commands
        std::function<void(const std::string&)> disconnected;  // why; a reconnect follows
        // In a cluster: a write was redirected (MOVED/ASK, Redis's words); the link
        // reconnects to its slot's primary, and the caller's slot map is stale.
        std::function<void(const std::string&)> redirected;
    };
    // A reply, or nullptr when the link dropped before it came.
    using ReplyHandler = std::function<void(redisReply*)>;

    RedisLink(boost::asio::io_context& io, RedisAddress address, std::string name, Events events,
              ReadFrom reads = {});
    ~RedisLink();
    RedisLink(const RedisLink&) = delete;
    RedisLink& operator=(const RedisLink&) = delete;

    void start();  // thread-safe
    // Thread-safe; closes the connection on the strand and waits (up to a second) for it,
    // so call it while the io_context still runs. Pending replies get nullptr.
    void stop();

    // Strand-only from here.
    bool connected() const;
    // Queues one command of at most 8 arguments; hiredis writes everything queued in one go
    // when the socket is writable (pipelining). Returns false when not connected (or the
    // command is longer). `handler` gets its reply.
    bool command(const std::vector<std::string_view>& argv, ReplyHandler handler);
    // The same without a reply handler: the reply is read and dropped (the hot path, where a
    // later command's reply says the batch is done) — but a refusal is counted (refusals()).
    bool command(std::initializer_list<std::string_view> argv);
    // Error replies to commands sent without a handler (a write Redis refused: out of memory,
    // a read-only replica, …). Thread-safe.
    struct Refusals {
        uint64_t count = 0;
        std::string last;  // the error as Redis gave it
        std::chrono::steady_clock::time_point at;
    };
    Refusals refusals() const;
    // Thread-safe: why the link is down, as its last attempt learnt it (Redis's own words when
    // it gave some); nullopt while it is up or has not failed yet.
    std::optional<std::string> failure() const;
    // (S)SUBSCRIBE / (S)UNSUBSCRIBE: their replies, every message and any error go to the
    // message handler. A link with a message handler (set before start()) reads every reply
    // itself once up, so command() is not for it.
    bool subscription_command(const std::vector<std::string_view>& argv);
    void set_message_handler(ReplyHandler handler);
    // Runs `fn` on the link's strand.
    void post(std::function<void()> fn);
    const RedisAddress& address() const;
    // Thread-safe: the Redis server used (with Sentinel, the master it last named; a reading
    // link's replica).
    HostPort server() const;
    // Thread-safe: the same as text ("host:port", or "unix:path"); empty while none is known.
    std::string node() const;

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace tickerd::bus
