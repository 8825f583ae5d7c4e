// The in-process bus: the default when Redis is off, and the local fan-out of the Redis bus.
// A publish must not hold the lock while it delivers, so it delivers to an immutable snapshot
// of the channel's subscribers. Subscribing and unsubscribing only edit the live table (O(1):
// an unsubscribe swaps the last entry into the leaving one's place) and mark the snapshot
// stale; the next publish rebuilds it once. So 10,000 clients leaving one channel cost 10,000
// small edits and at most one rebuild per message published meanwhile, not 10,000 copies of
// the list.
#include "bus/bus.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace tickerd::bus {

namespace {

using Clock = std::chrono::steady_clock;

struct Entry {
    std::weak_ptr<Subscriber> subscriber;
    const Subscriber* identity;
};
using SubscriberList = std::vector<Entry>;

class Channel {
  public:
    MessagePtr latest;
    Clock::time_point latest_expires;

    bool empty() const { return live_.empty(); }

    // Adds `s`, or renews its entry when it already follows the channel.
    void add(const std::shared_ptr<Subscriber>& s) {
        auto [it, added] = index_.try_emplace(s.get(), live_.size());
        if (added) {
            live_.push_back({s, s.get()});
        } else {
            live_[it->second].subscriber = s;
        }
        snapshot_.reset();
    }

    void remove(const Subscriber* s) {
        auto it = index_.find(s);
        if (it == index_.end()) return;
        remove_at(it->second);
        snapshot_.reset();
    }

    // Who a publish delivers to, rebuilt after a change (and rid of subscribers that are gone
    // without unsubscribing).
    std::shared_ptr<const SubscriberList> snapshot() {
        if (snapshot_) return snapshot_;
        for (std::size_t i = live_.size(); i-- > 0;) {
            if (live_[i].subscriber.expired()) remove_at(i);
        }
        snapshot_ = std::make_shared<const SubscriberList>(live_);
        return snapshot_;
    }

    std::size_t live_count() const {
        return static_cast<std::size_t>(std::count_if(
            live_.begin(), live_.end(), [](const Entry& e) { return !e.subscriber.expired(); }));
    }

  private:
    // Swaps the last entry into `position` and drops the last: order among subscribers does
    // not matter, and nothing else moves.
    void remove_at(std::size_t position) {
        index_.erase(live_[position].identity);
        if (position + 1 != live_.size()) {
            live_[position] = std::move(live_.back());
            index_[live_[position].identity] = position;
        }
        live_.pop_back();
    }

    SubscriberList live_;
    std::unordered_map<const Subscriber*, std::size_t> index_;  // each one's place in live_
    std::shared_ptr<const SubscriberList> snapshot_;            // null: stale
};

void deliver_all(const SubscriberList& subscribers, const MessagePtr& message) {
    for (const auto& entry : subscribers) {
        if (auto subscriber = entry.subscriber.lock()) subscriber->deliver(message);
    }
}

class EmbeddedBus final : public Bus {
  public:
    void publish(const MessagePtr& message, std::chrono::seconds ttl) override {
        std::shared_ptr<const SubscriberList> subscribers;
        {
            std::lock_guard lock(mutex_);
            auto& channel = channels_[message->channel];
            channel.latest = message;
            channel.latest_expires = Clock::now() + ttl;
            subscribers = channel.snapshot();
        }
        deliver_all(*subscribers, message);
    }

    MessagePtr latest(const std::string& name) override {
        std::lock_guard lock(mutex_);
        auto it = channels_.find(name);
        if (it == channels_.end() || !it->second.latest) return nullptr;
        if (Clock::now() >= it->second.latest_expires) return nullptr;
        return it->second.latest;
    }

    void subscribe(const std::string& name, const std::shared_ptr<Subscriber>& s) override {
        MessagePtr latest;
        {
            std::lock_guard lock(mutex_);
            auto& channel = channels_[name];
            channel.add(s);
            if (channel.latest && Clock::now() < channel.latest_expires) latest = channel.latest;
        }
        if (latest) s->deliver(latest);
    }

    void unsubscribe(const std::string& name, const Subscriber* s) override {
        std::lock_guard lock(mutex_);
        auto it = channels_.find(name);
        if (it == channels_.end()) return;
        it->second.remove(s);
        // A channel nobody follows and nothing was published on is forgotten: subscribing
        // to made-up names must not grow the daemon for good.
        if (it->second.empty() && !it->second.latest) channels_.erase(it);
    }

    BusHealth health() override {
        BusHealth health;
        std::lock_guard lock(mutex_);
        health.channels = channels_.size();
        return health;
    }

    ChannelStats stats(const std::string& name) override {
        std::lock_guard lock(mutex_);
        ChannelStats stats;
        auto it = channels_.find(name);
        if (it == channels_.end()) return stats;
        stats.subscribers = it->second.live_count();
        if (it->second.latest) stats.last_message_at = it->second.latest->timestamp;
        return stats;
    }

  private:
    std::mutex mutex_;
    std::unordered_map<std::string, Channel> channels_;
};

}  // namespace

std::unique_ptr<Bus> make_embedded_bus() {
    return std::make_unique<EmbeddedBus>();
}

}  // namespace tickerd::bus
