// The Redis bus on a Redis Cluster: a shard bus (redis_shard.hpp) per primary, each with its
// own publisher and subscriber links to that primary, speaking sharded pub/sub, so a message
// travels only within its shard. Every channel is routed by its slot to the shard whose
// primary serves that slot; this instance's subscribers sit on one local bus which every
// shard feeds.
//
// The slot map comes from CLUSTER SHARDS, asked by a topology link of any node (the seeds,
// then every node named) at start, every kRefreshEvery, and at once when Redis redirects a
// command. A failover needs no new map: a shard's links follow their slot to the promoted
// replica by themselves, subscribe there again and catch up from the history. A map that
// changes (slots moved between primaries) moves the channels concerned: their
// subscriptions to the new shard, and their waiting messages with them.
#include "bus/redis_shard.hpp"

#include "bus/redis_cluster.hpp"
#include "bus/redis_link.hpp"
#include "core/log.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace tickerd::bus {

namespace {

constexpr auto kRefreshEvery = std::chrono::seconds(5);

class RedisClusterBus final : public Bus {
  public:
    RedisClusterBus(boost::asio::io_context& io, RedisBusOptions options)
        : io_(io),
          options_(std::move(options)),
          local_(make_embedded_bus(HistoryLimits{0})),  // history is Redis's
          topology_(io, options_.address, "topology",
                    {[this] { ask_for_shards(); }, [](const std::string&) {}, {}}),
          refresh_timer_(io) {}

    ~RedisClusterBus() override { stop(); }

    bool may_block() const override { return true; }

    void start() override {
        topology_.start();
        schedule_refresh();
    }

    void stop() override {
        stopped_ = true;
        refresh_timer_.cancel();
        topology_.stop();
        std::vector<RedisShard*> shards;
        {
            std::lock_guard lock(mutex_);
            for (const auto& shard : shards_)
                shards.push_back(shard.get());
        }
        for (auto* shard : shards)
            shard->stop();
    }

    void publish(const MessagePtr& message, std::chrono::seconds ttl) override {
        std::lock_guard lock(mutex_);
        if (auto* shard = shard_of(message->channel)) {
            shard->publish(message, ttl);
            return;
        }
        // No map yet: kept (as the shards keep what Redis has not taken) until there is one.
        if (waiting_.size() >= options_.buffer_limit) {
            waiting_.pop_front();
            ++dropped_;
        }
        waiting_.push_back({message, ttl});
    }

    MessagePtr latest(const std::string& channel) override {
        if (auto* shard = routed(channel)) return shard->latest(channel);
        return local_->latest(channel);
    }

    void subscribe(const std::string& channel, const std::shared_ptr<Subscriber>& s) override {
        local_->subscribe(channel, s);
        std::lock_guard lock(mutex_);
        if (refs_[channel]++ == 0) follow(channel);
    }

    void unsubscribe(const std::string& channel, const Subscriber* s) override {
        local_->unsubscribe(channel, s);
        std::lock_guard lock(mutex_);
        auto it = refs_.find(channel);
        if (it == refs_.end() || --it->second > 0) return;
        refs_.erase(it);
        auto followed = followed_by_.find(channel);
        if (followed == followed_by_.end()) return;
        shards_[followed->second]->unfollow(channel);
        followed_by_.erase(followed);
    }

    ChannelStats stats(const std::string& channel) override { return local_->stats(channel); }

    Result<HistoryPage> history(const std::string& channel, const HistoryQuery& query) override {
        if (auto* shard = routed(channel)) return shard->history(channel, query);
        return Error::unavailable("the Redis Cluster's shards are not known yet");
    }

    Result<std::string> publish_numbered(const Publication& publication,
                                         std::chrono::seconds ttl) override {
        if (auto* shard = routed(publication.channel.name()))
            return shard->publish_numbered(publication, ttl);
        return Error::unavailable("the Redis Cluster's shards are not known yet: not published");
    }

    BusHealth health() override {
        BusHealth health;
        health.kind = "redis";
        std::lock_guard lock(mutex_);
        health.connected = !shards_.empty();
        health.dropped = dropped_;
        health.buffered = waiting_.size();
        if (shards_.empty()) {
            health.last_error = topology_.failure().value_or("asking the cluster for its shards");
        }
        for (const auto& shard : shards_) {
            auto part = shard->health();
            health.connected = health.connected && part.connected;
            if (!health.last_error) health.last_error = part.last_error;
            health.published += part.published;
            health.buffered += part.buffered;
            health.dropped += part.dropped;
            health.write_refusals += part.write_refusals;
            if (part.last_refusal) health.last_refusal = part.last_refusal;
            health.refusing = health.refusing || part.refusing;
            health.write_node += (health.write_node.empty() ? "" : ",") + part.write_node;
            health.read_node += (health.read_node.empty() ? "" : ",") + part.read_node;
        }
        health.channels = local_->health().channels;
        return health;
    }

  private:
    // ---- the slot map (topology strand) ----
    void ask_for_shards() {
        topology_.command({"CLUSTER", "SHARDS"}, [this](redisReply* reply) {
            if (!reply) return;  // the link dropped: it asks again once back
            auto shards = cluster::parse_shards(reply);
            if (!shards) {
                BOOST_LOG_TRIVIAL(warning) << "redis cluster: " << shards.error().detail;
                return;
            }
            use_map(cluster::SlotMap(*shards));
        });
    }

    void schedule_refresh() {
        refresh_timer_.expires_after(kRefreshEvery);
        refresh_timer_.async_wait([this](boost::system::error_code ec) {
            if (ec || stopped_) return;
            refresh();
            schedule_refresh();
        });
    }

    void refresh() {
        topology_.post([this] {
            if (topology_.connected()) ask_for_shards();
        });
    }

    // ---- routing (under mutex_) ----
    void use_map(cluster::SlotMap map) {
        if (!map.covers_every_slot())
            BOOST_LOG_TRIVIAL(warning) << "redis cluster: some slots have no primary";
        std::lock_guard lock(mutex_);
        map_ = std::move(map);
        // Each shard stays with its primary, or follows its slots to the promoted replica,
        // as its links do (cluster::follow); a primary without a shard gets one.
        for (std::size_t i = 0; i < shards_.size(); ++i) {
            if (auto next = cluster::follow(map_, shard_nodes_[i], shard_slots_[i])) {
                shard_nodes_[i] = next->primary;
                shard_slots_[i] = next->slot;
            }
        }
        for (const auto& primary : map_.primaries()) {
            if (!shard_index_of_node(primary)) add_shard(primary);
        }
        // Channels followed on a shard that no longer serves them move.
        std::vector<std::string> channels;
        for (const auto& [channel, _] : refs_)
            channels.push_back(channel);
        for (const auto& channel : channels)
            follow(channel);
        for (auto& [message, ttl] : std::exchange(waiting_, {})) {
            if (auto* shard = shard_of(message->channel)) {
                shard->publish(message, ttl);
            } else {
                waiting_.push_back({message, ttl});
            }
        }
    }

    // A shard for the primary `node`, following the first slot it serves now.
    void add_shard(const HostPort& node) {
        auto first = map_.first_slot_of(node);
        if (!first) return;
        auto address = options_.address;
        address.cluster_slot = *first;
        RedisBusOptions options = options_;
        options.address = address;
        std::size_t index = shards_.size();
        auto shard = make_redis_shard(
            io_, {std::move(options), local_, [this](const std::string& why) { redirected(why); },
                  [this, index](const std::string& channel) { return serves(index, channel); },
                  [this](const MessagePtr& message, std::chrono::seconds ttl) {
                      publish(message, ttl);
                  }});
        shard_nodes_.push_back(node);
        shard_slots_.push_back(*first);
        shards_.push_back(std::move(shard));
        BOOST_LOG_TRIVIAL(info) << "redis cluster: a shard at " << node.describe() << " (slot "
                                << *first << " and the others it serves)";
        shards_.back()->start();
    }

    // Subscribes `channel` on the shard serving it, moving it there from another one.
    void follow(const std::string& channel) {
        auto index = index_of(channel);
        if (!index) return;  // no map yet: use_map follows it
        std::optional<uint64_t> after;
        auto followed = followed_by_.find(channel);
        if (followed != followed_by_.end()) {
            if (followed->second == *index) return;
            BOOST_LOG_TRIVIAL(info) << "redis cluster: " << channel << " moves to the shard at "
                                    << map_.owner(cluster::slot_of(channel))->describe();
            shards_[followed->second]->unfollow(channel);
            // The new shard catches up from the history after what the old one delivered.
            if (auto last = local_->latest(channel)) after = last->seq;
        }
        followed_by_[channel] = *index;
        shards_[*index]->follow(channel, after);
    }

    std::optional<std::size_t> index_of(const std::string& channel) const {
        auto owner = map_.owner(cluster::slot_of(channel));
        if (!owner) return std::nullopt;
        return shard_index_of_node(*owner);
    }

    std::optional<std::size_t> shard_index_of_node(const HostPort& node) const {
        auto found = std::find(shard_nodes_.begin(), shard_nodes_.end(), node);
        if (found == shard_nodes_.end()) return std::nullopt;
        return static_cast<std::size_t>(found - shard_nodes_.begin());
    }

    RedisShard* shard_of(const std::string& channel) {
        auto index = index_of(channel);
        return index ? shards_[*index].get() : nullptr;
    }

    RedisShard* routed(const std::string& channel) {
        std::lock_guard lock(mutex_);
        return shard_of(channel);
    }

    bool serves(std::size_t index, const std::string& channel) {
        std::lock_guard lock(mutex_);
        auto serving = index_of(channel);
        return !serving || *serving == index;
    }

    // A shard's link heard a MOVED (or Redis ended a subscription): the map is stale.
    void redirected(const std::string& why) {
        BOOST_LOG_TRIVIAL(info) << "redis cluster: " << why << "; asking for the shards again";
        refresh();
    }

    boost::asio::io_context& io_;
    const RedisBusOptions options_;
    std::shared_ptr<Bus> local_;  // this instance's subscribers, fed by every shard
    RedisLink topology_;          // to any node: CLUSTER SHARDS
    boost::asio::steady_timer refresh_timer_;
    std::atomic<bool> stopped_{false};

    std::mutex mutex_;
    cluster::SlotMap map_;
    // Shards are added, never removed while running (a primary gone serves no slot, so no
    // channel routes to it). Each one's primary, and a slot that primary serves.
    std::vector<std::unique_ptr<RedisShard>> shards_;
    std::vector<HostPort> shard_nodes_;
    std::vector<uint16_t> shard_slots_;
    std::unordered_map<std::string, int> refs_;                 // local subscribers per channel
    std::unordered_map<std::string, std::size_t> followed_by_;  // channel → its shard
    struct Waiting {
        MessagePtr message;
        std::chrono::seconds ttl;
    };
    std::deque<Waiting> waiting_;  // published before the first map
    uint64_t dropped_ = 0;
};

}  // namespace

std::unique_ptr<Bus> make_redis_cluster_bus(boost::asio::io_context& io, RedisBusOptions options) {
    return std::make_unique<RedisClusterBus>(io, std::move(options));
}

}  // namespace tickerd::bus
