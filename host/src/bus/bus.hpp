// The message bus: publish StreamMessages, keep the latest one per channel, fan out to
// subscribers. The embedded (in-process) bus is the default; the Redis bus implements the
// same interface.
#pragma once

#include "core/model.hpp"

#include <boost/asio/io_context.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tickerd::bus {

// A value made at most once, by whichever thread first asks for it, then shared. A copy
// starts empty (it makes its own).
template <class T>
class Lazy {
  public:
    Lazy() = default;
    Lazy(const Lazy&) {}
    Lazy& operator=(const Lazy&) { return *this; }
    template <class Make>
    const T& get(Make&& make) const {
        std::call_once(once_, [&] { value_ = make(); });
        return value_;
    }

  private:
    mutable std::once_flag once_;
    mutable T value_{};
};

// A frame compressed on its own for gzip streams: its deflate run, and what a stream needs
// for its gzip trailer: the CRC-32 and length of what the run holds, and zlib's operator for
// appending that CRC to a stream's (crc32_combine_op), so each stream's sum costs little.
struct GzipRun {
    std::string bytes;
    uint32_t crc = 0;
    uint32_t combine_op = 0;
    std::size_t length = 0;
};

// One StreamMessage, serialised once. Every subscriber shares these bytes; the gateway
// writes `sse_frame` / `ws_frame` as they are, with no per-subscriber JSON work.
struct Message {
    std::string channel;
    std::string symbol;
    uint64_t seq = 0;  // per channel, from 1
    std::string id;    // "<unix_ms>-<seq>": unique, increasing per channel
    std::chrono::system_clock::time_point timestamp;
    std::string json;       // the StreamMessage object
    std::string sse_frame;  // "id: <id>\ndata: <json>\n\n"
    std::string ws_frame;   // {"type":"data","channel":…,"message":<json>}
    // Compressed forms, made by the gateway the first time a client needs one, then shared
    // like the frames (gateway/deflate.hpp): ws_frame for permessage-deflate, sse_frame for
    // gzip SSE streams.
    Lazy<std::string> ws_deflated;
    Lazy<GzipRun> sse_gzip;       // the whole SSE frame
    Lazy<GzipRun> sse_data_gzip;  // its data: line only (a stream of several channels)
};
using MessagePtr = std::shared_ptr<const Message>;

// What a worker hands over to become a StreamMessage.
struct Envelope {
    DataType data_type;
    std::string symbol;
    std::string vendor;
    boost::json::object data;  // normalised fields; "symbol" is added when missing
    int retry_count = 0;
    bool fallback_used = false;
    double latency_ms = 0;
    std::string instance;    // which tickerd polled it, when several share the work
    bool simulated = false;  // made-up data (a plugin declaring TICKERD_PLUGIN_SIMULATED)
};

// What a client hands over through the publish API (POST /streaming/publish/{channel}).
struct Publication {
    ChannelKey channel;
    std::string publisher;  // the credential's name, or "api"
    boost::json::object data;
};

// What the daemon derives from its own stream (the OHLC bars of market_data): vendor
// "tickerd", metadata naming the worker whose messages it is made from.
struct Derived {
    ChannelKey channel;
    DataType source = DataType::market_data;
    std::string instance;  // which tickerd made it, when several share the work
    boost::json::object data;
};

// Build the message (and both wire frames) once.
MessagePtr make_message(const Envelope& envelope, uint64_t seq,
                        std::chrono::system_clock::time_point now);
MessagePtr make_message(const Publication& publication, uint64_t seq,
                        std::chrono::system_clock::time_point now);
MessagePtr make_message(const Derived& derived, uint64_t seq,
                        std::chrono::system_clock::time_point now);
// Rebuilds a Message from StreamMessage JSON received from elsewhere (e.g. Redis); the
// error says why the text is not a well-formed StreamMessage.
Result<MessagePtr> message_from_json(std::string json);
// The same message (channel, seq, id, time) with another StreamMessage body, and its frames:
// what a view of a channel sends (gateway/views.hpp).
MessagePtr with_body(const Message& message, const boost::json::object& body);
// The same message with `metadata.recovered: false`: what a resuming client gets instead of
// a replay when the history no longer reaches back to where it left (CONTRACT.md §7).
MessagePtr unrecovered(const Message& message);
// The seq in a message id ("<unix ms>-<seq>"), or nullopt when `id` is not one.
std::optional<uint64_t> seq_of_id(std::string_view id);

// How much of each channel's past is kept (CONTRACT.md §7): the last `max_messages`, none
// older than `max_age`. In memory on the embedded bus, in a Redis Stream with Redis.
struct HistoryLimits {
    std::size_t max_messages = 1000;  // 0: no history
    std::chrono::seconds max_age{86400};
    bool enabled() const { return max_messages > 0; }
    bool operator==(const HistoryLimits&) const = default;
};

// "tickerd:history:<channel>": the Redis Stream holding a channel's history; in a Redis
// Cluster "tickerd:history:{<channel>}", in the channel's slot.
std::string history_key(std::string_view channel, bool cluster = false);

struct HistoryQuery {
    std::optional<uint64_t> after;  // the messages after this seq; none: the newest ones
    std::size_t limit = 1000;
};

// A page of a channel's history, oldest first.
struct HistoryPage {
    std::vector<MessagePtr> messages;
    // With `after`: every message after it is in the history (so a resume from it misses
    // nothing). False when the history was trimmed past it, or the channel's numbering started
    // again since (a restarted daemon without Redis).
    bool complete = true;
    bool more = false;  // `limit` cut the page short: later messages exist
};

// Hands out per-channel sequence numbers (thread-safe).
class ChannelSequencer {
  public:
    // Numbers the channel's next message and hands the number to `publish`, which builds
    // and publishes it before another message of the channel is numbered: subscribers drop
    // a seq below one they have seen, so a channel's messages must reach the bus in the
    // order of their numbers, whichever threads publish them (a worker, the publish API).
    template <class Publish>
    auto publish_next(const std::string& channel, Publish&& publish) {
        std::lock_guard in_order(order_[std::hash<std::string>{}(channel) % order_.size()]);
        return publish(next(channel));
    }
    // The next number will be above `seq` (a channel taken over from another instance
    // continues its numbering, so clients do not drop its messages as already seen).
    void continue_after(const std::string& channel, uint64_t seq);

  private:
    uint64_t next(const std::string& channel);

    std::mutex mutex_;
    std::unordered_map<std::string, uint64_t> last_;
    std::array<std::mutex, 64> order_;  // a channel's publishes, one at a time (striped)
};

// Implemented by gateway sessions. deliver() is called from the publisher's thread and must
// not block: it queues the message and returns.
class Subscriber {
  public:
    virtual ~Subscriber() = default;
    virtual void deliver(const MessagePtr& message) = 0;
};

struct HostPort {
    std::string host;
    int port = 0;
    std::string describe() const;  // "host:port"
    bool operator==(const HostPort&) const = default;
};

// How the bus is doing, for GET /.
struct BusHealth {
    std::string kind = "embedded";  // "embedded" | "redis"
    bool connected = true;          // to Redis (always true for the embedded bus)
    std::optional<std::string> last_error;
    uint64_t published = 0;          // messages Redis acknowledged
    std::size_t buffered = 0;        // messages waiting for Redis
    uint64_t dropped = 0;            // messages dropped from a full buffer, oldest first
    std::optional<HostPort> master;  // with Sentinel: the master in use (or last tried)
    // The nodes the links talk to ("host:port", "unix:path"; empty before the first is
    // known): writes go to the primary, reads (subscriptions, latest:, history) to
    // redis.read_from's node.
    std::string write_node;
    std::string read_node;
    std::size_t channels = 0;  // channels held here (followed, or with a latest message)
    // Writes Redis refused (out of memory, a read-only replica, …): how many, the last one's
    // error as Redis gave it, and whether one came within the last kRefusingWindow.
    uint64_t write_refusals = 0;
    std::optional<std::string> last_refusal;
    bool refusing = false;
};

// How recent a refused write must be for /readyz to say Redis refuses writes.
inline constexpr std::chrono::seconds kRefusingWindow{10};

struct ChannelStats {
    std::size_t subscribers = 0;
    std::optional<std::chrono::system_clock::time_point> last_message_at;
};

class Bus {
  public:
    virtual ~Bus() = default;
    // Numbers every channel's messages on this instance: the workers and the publish API
    // draw from it, so a channel has one series.
    ChannelSequencer& sequencer() { return sequencer_; }
    // Numbers a publication of a published type, keeps it as latest (for `ttl`) and delivers
    // it; returns its id. The embedded bus numbers with sequencer(). The Redis bus numbers,
    // stores and publishes in one step in Redis (a script), so that instances publishing into
    // one channel agree on its numbering and order: a round trip that blocks, so call it off
    // the I/O threads; it fails (503) while Redis is unreachable, so nothing is accepted that
    // could be lost.
    virtual Result<std::string> publish_numbered(const Publication& publication,
                                                 std::chrono::seconds ttl);
    // Whether latest() and publish_numbered() may wait on the network (Redis).
    virtual bool may_block() const { return false; }
    // Stores `message` as the channel's latest (kept for `ttl`) and delivers it to every
    // subscriber of its channel.
    virtual void publish(const MessagePtr& message, std::chrono::seconds ttl) = 0;
    // The latest unexpired message of a channel, or nullptr.
    virtual MessagePtr latest(const std::string& channel) = 0;
    // Adds a subscriber; when the channel has a latest message it is delivered first.
    // Deliveries may race with a concurrent publish: subscribers drop seq they have seen.
    virtual void subscribe(const std::string& channel, const std::shared_ptr<Subscriber>& s) = 0;
    virtual void unsubscribe(const std::string& channel, const Subscriber* s) = 0;
    virtual ChannelStats stats(const std::string& channel) = 0;
    // A channel's history. The Redis bus reads it from Redis, waiting on the network (see
    // may_block()); the error says why there is none to read.
    virtual Result<HistoryPage> history(const std::string& channel, const HistoryQuery& query) = 0;
    virtual BusHealth health() { return {}; }
    // Connects (Redis) / disconnects; call stop() while the io_context still runs.
    virtual void start() {}
    virtual void stop() {}

  private:
    ChannelSequencer sequencer_;
};

std::unique_ptr<Bus> make_embedded_bus(HistoryLimits history = {});

struct RedisAddress {
    std::string host = "localhost";
    int port = 6379;
    std::string socket;  // a unix socket path; used instead of host/port when set
    std::string password;
    int db = 0;
    // Redis Sentinel: when given, the master named `master_name` is asked of these (in
    // turn) before every connection, instead of using host/port.
    std::vector<HostPort> sentinels;
    std::string master_name = "mymaster";
    std::string sentinel_password;
    // Redis Cluster: when given, CLUSTER SHARDS is asked of these (in turn, then of the nodes
    // it named) before every connection, and the link talks to the primary serving
    // `cluster_slot`, following it through failovers.
    std::vector<HostPort> cluster_nodes;
    uint16_t cluster_slot = 0;
    bool cluster() const { return !cluster_nodes.empty(); }
    // "localhost:6379", "unix:/run/redis.sock", "master 'mymaster' of sentinels a:1,b:2" or
    // "cluster a:1,b:2"
    std::string describe() const;
    bool operator==(const RedisAddress&) const = default;
};

// Which node serves a daemon's reads — its subscriptions, latest: and history GETs
// (redis.read_from). Writes always go to the primary. An edge far from the primary reads a
// replica near it; pub/sub messages reach a replica's subscribers through replication.
struct ReadFrom {
    enum class Node {
        primary,      // the one the writes go to (host/port, or the master Sentinel names)
        replica_at,   // `replica` first; when it fails, another replica of the primary's
        any_replica,  // a healthy replica the primary (or the sentinels) lists
    };
    Node node = Node::primary;
    HostPort replica;              // replica_at only
    std::string describe() const;  // "primary", "replica" or "host:port"
    bool operator==(const ReadFrom&) const = default;
};

// The "redis" settings (config file section, REDIS_* variables): one struct that the
// config layers fill and the bus, the leases and the status document read.
struct RedisSettings {
    bool enabled = false;
    RedisAddress address;
    // Messages kept while Redis is away, flushed in order when it returns; past this the
    // oldest are dropped (counted and logged).
    std::size_t buffer_limit = 10000;
    int lease_ms = 5000;  // the work-sharing lease among polling instances
    ReadFrom read_from;
    bool operator==(const RedisSettings&) const = default;
};

struct RedisBusOptions {
    RedisAddress address;
    std::size_t buffer_limit = 10000;  // as RedisSettings::buffer_limit
    // How long a message received from Redis serves as a channel's latest here.
    std::chrono::seconds mirror_ttl{300};
    HistoryLimits history;  // kept in Redis Streams, written with each publish
    ReadFrom read_from;     // the subscriptions' and reads' node
};

// "latest:<channel>": the Redis key holding a channel's latest message; in a Redis Cluster
// "latest:{<channel>}", in the channel's slot.
std::string latest_key(std::string_view channel, bool cluster = false);
// tickerd's own keys and channels ("tickerd:config", "tickerd:lease:…" for `name` "config",
// "lease:…"); in a Redis Cluster "{tickerd}:config", …: one slot, so one link serves them.
std::string own_key(std::string_view name, bool cluster);
// The address for a link serving tickerd's own keys: in a cluster, their slot's primary.
RedisAddress for_own_keys(RedisAddress address);

// The Redis bus: publishes go to Redis (PUBLISH stream:…, SET latest:stream:… EX ttl,
// pipelined); this instance's subscribers are served from Redis subscriptions, so they see
// messages published by any instance. With `address.cluster_nodes`, a Redis Cluster's
// shards (sharded pub/sub). Runs on `io`, which must outlive it.
std::unique_ptr<Bus> make_redis_bus(boost::asio::io_context& io, RedisBusOptions options);

}  // namespace tickerd::bus
