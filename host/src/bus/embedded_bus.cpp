// The in-process bus: the default when Redis is off, and the local fan-out of the Redis bus.
// A publish must not hold the lock while it delivers, so it delivers to an immutable snapshot
// of the channel's subscribers. Subscribing and unsubscribing only edit the live table (O(1),
// subscriber_table.hpp) and mark the snapshot stale; the next publish rebuilds it once. So
// 10,000 clients leaving one channel cost 10,000 small edits and at most one rebuild per
// message published meanwhile, not 10,000 copies of the list.
//
// Each channel also keeps its history: the StreamMessage text of its last messages (only the
// text: a replay rebuilds the frames, so a kept message costs its JSON, a third of a live one).
#include "bus/bus.hpp"
#include "bus/subscriber_table.hpp"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <vector>

namespace tickerd::bus {

namespace {

using Clock = std::chrono::steady_clock;

using SubscriberList = std::vector<SubscriberTable::Entry>;

// A channel's last messages, oldest first, as its limits allow.
class History {
  public:
    void append(const Message& message, const HistoryLimits& limits) {
        if (!limits.enabled()) return;
        if (!kept_.empty() && message.seq <= kept_.back().seq) kept_.clear();  // renumbered
        kept_.push_back({message.seq, message.timestamp, message.json});
        while (kept_.size() > limits.max_messages)
            kept_.pop_front();
        forget_older_than(message.timestamp - limits.max_age);
    }

    // The page's messages as text (parsed by the caller, outside the bus's lock).
    struct Texts {
        std::vector<std::string> messages;
        bool complete = true;
        bool more = false;
    };

    Texts read(const HistoryQuery& query, const HistoryLimits& limits) {
        forget_older_than(std::chrono::system_clock::now() - limits.max_age);
        std::size_t first = 0, end = kept_.size();
        Texts page;
        if (query.after) {
            auto after = *query.after;
            // The first kept message past `after`; complete when it is the very next one, or
            // when nothing follows `after` and `after` itself is the newest message kept (or is
            // 0, before any message).
            while (first < end && kept_[first].seq <= after)
                ++first;
            page.complete = first < end     ? kept_[first].seq == after + 1
                            : kept_.empty() ? after == 0
                                            : kept_.back().seq == after;
            if (end - first > query.limit) {
                end = first + query.limit;
                page.more = true;
            }
        } else if (end > query.limit) {
            first = end - query.limit;
        }
        for (auto i = first; i < end; ++i)
            page.messages.push_back(kept_[i].json);
        return page;
    }

  private:
    struct Kept {
        uint64_t seq;
        std::chrono::system_clock::time_point at;
        std::string json;
    };

    void forget_older_than(std::chrono::system_clock::time_point oldest) {
        while (!kept_.empty() && kept_.front().at < oldest)
            kept_.pop_front();
    }

    std::deque<Kept> kept_;
};

class Channel {
  public:
    MessagePtr latest;
    Clock::time_point latest_expires;
    History history;

    bool empty() const { return live_.empty(); }

    void add(const std::shared_ptr<Subscriber>& s) {
        live_.add(s);
        snapshot_.reset();
    }

    void remove(const Subscriber* s) {
        live_.remove(s);
        snapshot_.reset();
    }

    // Who a publish delivers to, rebuilt after a change (and rid of subscribers that are gone
    // without unsubscribing).
    std::shared_ptr<const SubscriberList> snapshot() {
        if (snapshot_) return snapshot_;
        live_.forget_expired();
        snapshot_ = std::make_shared<const SubscriberList>(live_.entries());
        return snapshot_;
    }

    std::size_t live_count() const {
        const auto& entries = live_.entries();
        return static_cast<std::size_t>(
            std::count_if(entries.begin(), entries.end(),
                          [](const SubscriberTable::Entry& e) { return !e.subscriber.expired(); }));
    }

  private:
    SubscriberTable live_;
    std::shared_ptr<const SubscriberList> snapshot_;  // null: stale
};

void deliver_all(const SubscriberList& subscribers, const MessagePtr& message) {
    for (const auto& entry : subscribers) {
        if (auto subscriber = entry.subscriber.lock()) subscriber->deliver(message);
    }
}

class EmbeddedBus final : public Bus {
  public:
    explicit EmbeddedBus(HistoryLimits history) : history_limits_(history) {}

    // The history grows under the same lock as the subscriber snapshot is taken: a resuming
    // subscriber that joins after this finds the message in the history, one that joined
    // before gets it delivered (and its queue drops whichever copy comes second).
    void publish(const MessagePtr& message, std::chrono::seconds ttl) override {
        std::shared_ptr<const SubscriberList> subscribers;
        {
            std::lock_guard lock(mutex_);
            auto& channel = channels_[message->channel];
            channel.latest = message;
            channel.latest_expires = Clock::now() + ttl;
            channel.history.append(*message, history_limits_);
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

    Result<HistoryPage> history(const std::string& name, const HistoryQuery& query) override {
        History::Texts texts;
        {
            std::lock_guard lock(mutex_);
            auto it = channels_.find(name);
            if (it != channels_.end()) {
                texts = it->second.history.read(query, history_limits_);
            } else {
                texts.complete = !query.after || *query.after == 0;
            }
        }
        HistoryPage page{{}, texts.complete, texts.more};
        page.messages.reserve(texts.messages.size());
        for (auto& text : texts.messages) {
            if (auto message = message_from_json(std::move(text))) {
                page.messages.push_back(*message);
            }
        }
        return page;
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
    const HistoryLimits history_limits_;
    std::mutex mutex_;
    std::unordered_map<std::string, Channel> channels_;
};

}  // namespace

std::unique_ptr<Bus> make_embedded_bus(HistoryLimits history) {
    return std::make_unique<EmbeddedBus>(history);
}

}  // namespace tickerd::bus
