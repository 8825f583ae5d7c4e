// The in-process bus: the default when Redis is off. Subscriptions change rarely and
// messages are published often, so each channel keeps its subscriber list as an immutable
// snapshot (copy on write): a publish takes the lock only to grab the snapshot and delivers
// outside it.
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

struct Channel {
    MessagePtr latest;
    Clock::time_point latest_expires;
    std::shared_ptr<const SubscriberList> subscribers = std::make_shared<SubscriberList>();
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
            subscribers = channel.subscribers;
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
            auto next = std::make_shared<SubscriberList>();
            next->reserve(channel.subscribers->size() + 1);
            for (const auto& entry : *channel.subscribers) {
                if (!entry.subscriber.expired()) next->push_back(entry);
            }
            next->push_back({s, s.get()});
            channel.subscribers = std::move(next);
            if (channel.latest && Clock::now() < channel.latest_expires) latest = channel.latest;
        }
        if (latest) s->deliver(latest);
    }

    void unsubscribe(const std::string& name, const Subscriber* s) override {
        std::lock_guard lock(mutex_);
        auto it = channels_.find(name);
        if (it == channels_.end()) return;
        auto next = std::make_shared<SubscriberList>();
        for (const auto& entry : *it->second.subscribers) {
            if (entry.identity != s && !entry.subscriber.expired()) next->push_back(entry);
        }
        // A channel nobody follows and nothing was published on is forgotten: subscribing
        // to made-up names must not grow the daemon for good.
        if (next->empty() && !it->second.latest) {
            channels_.erase(it);
            return;
        }
        it->second.subscribers = std::move(next);
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
        stats.subscribers = static_cast<std::size_t>(
            std::count_if(it->second.subscribers->begin(), it->second.subscribers->end(),
                          [](const Entry& e) { return !e.subscriber.expired(); }));
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
