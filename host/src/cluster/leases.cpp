// Work sharing through Redis leases. Every lease/3 an instance: heartbeats in the
// `tickerd:instances` sorted set (score = when it counts as gone) and counts the live ones;
// renews the leases it holds (only if still its own); gives back what is over its fair share
// (ceil(work / instances)), so a newcomer gets some; and, while under its share, tries
// SET NX PX on the leases nobody holds — taking no more than its share. A lease is used only
// once the channel's last seq has been read from latest:, so numbering continues. While
// Redis is away an instance keeps polling what it held. In a Redis Cluster the leases and the
// heartbeats share the slot of {tickerd} (one link serves them), and a channel's latest is
// read through the bus, which knows the channel's shard.
#include "cluster/cluster.hpp"

#include "bus/redis_link.hpp"
#include "core/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <random>
#include <unordered_map>
#include <unordered_set>

namespace tickerd::cluster {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Extend or release a lease only while it is still ours.
constexpr std::string_view kRenewScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
constexpr std::string_view kReleaseScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) "
    "else return 0 end";

int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class RedisWorkShare final : public scheduler::WorkShare,
                             public std::enable_shared_from_this<RedisWorkShare> {
  public:
    RedisWorkShare(asio::io_context& io, bus::RedisAddress address, std::string instance,
                   std::chrono::milliseconds lease, config::StateStore& state,
                   std::vector<std::string> bar_types, LatestReader read_latest)
        : instance_(std::move(instance)),
          bar_types_(std::move(bar_types)),
          lease_(lease),
          state_(state),
          instances_key_(bus::own_key("instances", address.cluster())),
          lease_prefix_(bus::own_key("lease:", address.cluster())),
          read_latest_(address.cluster() ? std::move(read_latest) : nullptr),
          link_(io, bus::for_own_keys(std::move(address)), "leases", {}),
          timer_(io) {}

    void start() override {
        link_.start();
        schedule(std::chrono::milliseconds(100));  // a first round as soon as connected
    }

    void stop() override {
        stopped_ = true;
        timer_.cancel();
        {
            std::lock_guard lock(mutex_);
            held_.clear();
        }
        link_.stop();
        latest_reads_.join();
    }

    bool owns(DataType type, const std::string& symbol) override {
        auto key = lease_key(type, symbol);
        std::lock_guard lock(mutex_);
        auto it = held_.find(key);
        // Redis away: keep polling what was ours (nobody can take it over meanwhile, and the
        // bus buffers what is published), rather than let the stream stop.
        if (!link_.connected()) return it != held_.end();
        // A margin before expiry: a poll must not start on a lease about to lapse.
        return it != held_.end() && it->second - lease_ / 5 > Clock::now();
    }

    uint64_t seq_floor(const std::string& channel) override {
        std::lock_guard lock(mutex_);
        auto it = floors_.find(channel);
        return it == floors_.end() ? 0 : it->second;
    }

    std::optional<std::string> handed_over(const std::string& channel) override {
        std::lock_guard lock(mutex_);
        auto it = handed_.find(channel);
        if (it == handed_.end()) return std::nullopt;
        return it->second;
    }

    std::size_t held() override {
        std::lock_guard lock(mutex_);
        return held_.size();
    }

  private:
    std::string lease_key(DataType type, const std::string& symbol) const {
        return lease_prefix_ + std::string(to_string(type)) + ":" + symbol;
    }

    void schedule(std::chrono::milliseconds delay) {
        if (stopped_) return;
        timer_.expires_after(delay);
        timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || self->stopped_) return;
            self->link_.post([self] { self->tick(); });
            self->schedule(self->lease_ / 3);
        });
    }

    // Link strand from here on.
    void tick() {
        if (!link_.connected()) return;  // held leases lapse by themselves in owns()
        auto now = unix_ms();
        auto lease_ms = std::to_string(lease_.count());
        link_.command({"ZADD", instances_key_, std::to_string(now + lease_.count()), instance_});
        link_.command({"ZREMRANGEBYSCORE", instances_key_, "-inf", std::to_string(now)});
        link_.command({"ZCARD", instances_key_},
                      [self = shared_from_this(), started = Clock::now()](redisReply* reply) {
                          if (!reply || reply->type != REDIS_REPLY_INTEGER) return;
                          self->share_out(std::max<long long>(reply->integer, 1), started);
                      });
    }

    // Every (data type, symbol) some instance polls.
    std::vector<std::string> wanted() const {
        std::vector<std::string> keys;
        auto snapshot = state_.snapshot();
        for (auto type : kAllDataTypes) {
            for (const auto& symbol : snapshot->polled_symbols(type))
                keys.push_back(lease_key(type, symbol));
        }
        return keys;
    }

    void share_out(long long instances, Clock::time_point started) {
        auto keys = wanted();
        std::unordered_set<std::string> wanted_set(keys.begin(), keys.end());
        std::size_t share = (keys.size() + static_cast<std::size_t>(instances) - 1) /
                            static_cast<std::size_t>(instances);
        std::vector<std::string> mine;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [key, _] : held_)
                mine.push_back(key);
        }
        // Give back what is no longer configured or over the share (newest work first).
        std::sort(mine.begin(), mine.end());
        std::size_t keep = 0;
        for (const auto& key : mine) {
            if (wanted_set.contains(key) && keep < share) {
                ++keep;
                renew(key, started);
            } else {
                release(key);
            }
        }
        if (keep >= share) return;
        // Try the free ones, in an order of our own so instances do not all race for the same.
        std::shuffle(keys.begin(), keys.end(), rng_);
        claims_open_ = share - keep;
        for (const auto& key : keys) {
            if (std::find(mine.begin(), mine.end(), key) != mine.end()) continue;
            claim(key, started);
        }
    }

    void renew(const std::string& key, Clock::time_point started) {
        link_.command({"EVAL", kRenewScript, "1", key, instance_, std::to_string(lease_.count())},
                      [self = shared_from_this(), key, started](redisReply* reply) {
                          bool ours =
                              reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
                          std::lock_guard lock(self->mutex_);
                          if (ours) {
                              self->held_[key] = started + self->lease_;
                          } else {
                              self->held_.erase(key);
                          }
                      });
    }

    void release(const std::string& key) {
        {
            std::lock_guard lock(mutex_);
            held_.erase(key);  // stop polling it before anyone else can take it
        }
        link_.command({"EVAL", kReleaseScript, "1", key, instance_}, [](redisReply*) {});
    }

    void claim(const std::string& key, Clock::time_point started) {
        link_.command({"SET", key, instance_, "NX", "PX", std::to_string(lease_.count())},
                      [self = shared_from_this(), key, started](redisReply* reply) {
                          if (!reply || reply->type != REDIS_REPLY_STATUS)
                              return;  // someone else's
                          if (self->claims_open_ == 0) {
                              self->release(key);  // more came through than the share allows
                              return;
                          }
                          --self->claims_open_;
                          self->continue_numbering(key, started);
                      });
    }

    // "tickerd:lease:market_data:AAPL" → read latest:stream:market_data:AAPL's seq, then use it.
    // For market_data also the latest bar of each bar channel (read first), so the bars
    // continue their numbering and their series (handed_over).
    void continue_numbering(const std::string& key, Clock::time_point started) {
        std::string channel = "stream:" + key.substr(lease_prefix_.size());
        std::vector<std::string> bar_channels;
        auto parsed = parse_channel(channel);
        if (parsed && parsed->data_type() == DataType::market_data) {
            for (const auto& type : bar_types_)
                bar_channels.push_back(channel_name(type, parsed->symbol));
        }
        if (read_latest_) {
            // Through the bus (blocking reads, off the I/O threads), back on the link strand.
            asio::post(
                latest_reads_, [self = shared_from_this(), key, channel, bar_channels, started] {
                    std::vector<bus::MessagePtr> bars;
                    for (const auto& bar_channel : bar_channels)
                        bars.push_back(self->read_latest_(bar_channel));
                    auto latest = self->read_latest_(channel);
                    self->link_.post([self, key, channel, bar_channels, bars, latest, started] {
                        for (std::size_t i = 0; i < bars.size(); ++i)
                            self->adopt_bar(bar_channels[i], bars[i] ? bars[i]->json : "");
                        self->adopt(key, channel, latest ? latest->seq : 0, started);
                    });
                });
            return;
        }
        // Replies come in order: the bars' before the channel's, which makes the lease usable.
        for (const auto& bar_channel : bar_channels) {
            link_.command({"GET", bus::latest_key(bar_channel)}, [self = shared_from_this(),
                                                                  bar_channel](redisReply* reply) {
                bool found = reply && reply->type == REDIS_REPLY_STRING;
                self->adopt_bar(bar_channel, found ? std::string(reply->str, reply->len) : "");
            });
        }
        link_.command({"GET", bus::latest_key(channel)}, [self = shared_from_this(), key, channel,
                                                          started](redisReply* reply) {
            uint64_t floor = 0;
            if (reply && reply->type == REDIS_REPLY_STRING) {
                auto latest = bus::message_from_json(std::string(reply->str, reply->len));
                if (latest) floor = (*latest)->seq;
            }
            self->adopt(key, channel, floor, started);
        });
    }

    // A bar channel's latest message (empty: none) hands its series over.
    void adopt_bar(const std::string& bar_channel, std::string text) {
        std::lock_guard lock(mutex_);
        handed_.erase(bar_channel);
        floors_[bar_channel] = 0;
        if (text.empty()) return;
        auto latest = bus::message_from_json(text);
        if (!latest) return;
        floors_[bar_channel] = (*latest)->seq;
        handed_[bar_channel] = std::move(text);
    }

    // The lease is usable once the channel's numbering is known.
    void adopt(const std::string& key, const std::string& channel, uint64_t floor,
               Clock::time_point started) {
        std::lock_guard lock(mutex_);
        floors_[channel] = floor;
        held_[key] = started + lease_;
    }

    const std::string instance_;
    const std::vector<std::string> bar_types_;  // "bars_1m", …
    const std::chrono::milliseconds lease_;
    config::StateStore& state_;
    const std::string instances_key_, lease_prefix_;
    const LatestReader read_latest_;  // in a cluster only
    bus::RedisLink link_;
    asio::steady_timer timer_;
    std::atomic<bool> stopped_{false};
    std::mt19937 rng_{std::random_device{}()};
    std::size_t claims_open_ = 0;  // link strand: leases still to take this round

    std::mutex mutex_;
    std::unordered_map<std::string, Clock::time_point> held_;  // lease key → usable until
    std::unordered_map<std::string, uint64_t> floors_;
    std::unordered_map<std::string, std::string> handed_;  // bar channel → its latest message

    boost::asio::thread_pool latest_reads_{1};  // last: joined in stop()
};

}  // namespace

std::shared_ptr<scheduler::WorkShare> make_redis_work_share(
    asio::io_context& io, bus::RedisAddress address, std::string instance,
    std::chrono::milliseconds lease, config::StateStore& state, std::vector<std::string> bar_types,
    LatestReader read_latest) {
    return std::make_shared<RedisWorkShare>(io, std::move(address), std::move(instance), lease,
                                            state, std::move(bar_types), std::move(read_latest));
}

}  // namespace tickerd::cluster
