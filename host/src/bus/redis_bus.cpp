// The Redis bus for one primary (redis_shard.hpp). Two links: the publisher (PUBLISH + SET
// latest:… EX, pipelined, acknowledged in order, buffered while Redis is away) to the
// primary, and the subscriber (SUBSCRIBE to exactly the channels this instance's clients
// want, reference-counted, restored after a reconnect) to the read node (redis.read_from: the
// primary, or a replica). Reads — latest: and history — go to the subscriber's node too, so
// they see what its subscriptions see. Local subscribers are served by an embedded bus fed
// from the subscription, so the gateway sees the same interface whichever bus runs. In a
// cluster the same with sharded pub/sub, on the primary serving the shard's slots.
//
// A reconnected subscriber (to the same node or another one) catches up: once Redis confirms
// a channel's subscription, its history after the last seq delivered here is read and
// delivered, and the messages arriving live meanwhile are held back and follow it, so
// clients miss nothing that the history kept.
#include "bus/redis_shard.hpp"

#include "bus/redis_cluster.hpp"
#include "bus/redis_link.hpp"
#include "core/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <hiredis/hiredis.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace tickerd::bus {

namespace {

// Messages per pipelined batch, and batches in flight before the publisher waits for
// replies: enough to fill the pipe, few enough that a lost link costs little to resend.
constexpr std::size_t kMaxBatch = 256;
constexpr std::size_t kMaxBatchesInFlight = 4;
constexpr int kLatestTimeoutMs = 500;
// History entries read per XREVRANGE.
constexpr std::size_t kHistoryPage = 200;
// How long a resume waits for Redis to confirm a new subscription before reading history.
constexpr auto kConfirmationWait = std::chrono::seconds(2);
// Blocking connections kept open between calls (as many as callers run at once: the
// gateway's blocking threads).
constexpr std::size_t kIdleConnections = 8;
// Threads reading what channels missed while the subscription link was down.
constexpr std::size_t kCatchUpThreads = 4;

// Numbers, publishes and stores a published type's message in one step, so that instances
// publishing into one channel agree on its numbering and its order. KEYS: the channel's
// counter, its latest key, its history stream. ARGV: the message around its two numbers
// (head, middle, tail), the channel, the latest's TTL, the history's length (0: none) and
// age in milliseconds, and PUBLISH (SPUBLISH in a cluster). A counter that is gone (a flushed
// Redis) starts again after the latest message's seq, so clients never see a number twice.
constexpr const char* kPublishScript = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  local floor = 0
  local last = redis.call('GET', KEYS[2])
  if last then
    local ok, message = pcall(cjson.decode, last)
    if ok and type(message) == 'table' and type(message.metadata) == 'table' then
      floor = tonumber(message.metadata.seq) or 0
    end
  end
  redis.call('SET', KEYS[1], string.format('%d', floor))
end
local seq = string.format('%d', redis.call('INCR', KEYS[1]))
local json = ARGV[1] .. seq .. ARGV[2] .. seq .. ARGV[3]
redis.call(ARGV[8], ARGV[4], json)
redis.call('SET', KEYS[2], json, 'EX', ARGV[5])
if ARGV[6] ~= '0' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', 'm', json)
  redis.call('PEXPIRE', KEYS[3], ARGV[7])
end
return seq
)lua";

// A publication's StreamMessage cut where its id's and metadata's numbers go.
struct MessageAroundSeq {
    std::string id_prefix;  // "<unix ms>-"
    std::string head, middle, tail;
};

MessageAroundSeq cut_around_seq(const Publication& publication) {
    constexpr uint64_t kMark = std::numeric_limits<uint64_t>::max();
    const std::string mark = std::to_string(kMark);
    auto message = make_message(publication, kMark, std::chrono::system_clock::now());
    const std::string& json = message->json;
    // The id is the first member and "seq" the last one of the last object (message.cpp).
    auto id_at = json.find(mark);
    auto seq_at = json.rfind(mark);
    MessageAroundSeq cut;
    cut.id_prefix = message->id.substr(0, message->id.size() - mark.size());
    cut.head = json.substr(0, id_at);
    cut.middle = json.substr(id_at + mark.size(), seq_at - id_at - mark.size());
    cut.tail = json.substr(seq_at + mark.size());
    return cut;
}

// The commands and pushed messages of classic and of sharded (cluster) pub/sub.
struct PubSubWords {
    std::string_view publish, subscribe, unsubscribe;    // the commands
    std::string_view subscribed, unsubscribed, message;  // what Redis pushes
};
constexpr PubSubWords kClassic{"PUBLISH",   "SUBSCRIBE",   "UNSUBSCRIBE",
                               "subscribe", "unsubscribe", "message"};
constexpr PubSubWords kSharded{"SPUBLISH",   "SSUBSCRIBE",   "SUNSUBSCRIBE",
                               "ssubscribe", "sunsubscribe", "smessage"};

class RedisBus final : public RedisShard {
  public:
    RedisBus(boost::asio::io_context& io, RedisShardOptions options)
        : options_(std::move(options.bus)),
          cluster_(options_.address.cluster()),
          words_(cluster_ ? kSharded : kClassic),
          hooks_(std::move(options)),
          local_(std::move(hooks_.local)),
          publisher_(io, options_.address, "publisher",
                     {[this] { on_publisher_connected(); },
                      [this](const std::string& why) { on_lost(why); }, hooks_.redirected}),
          subscriber_(io, options_.address, "subscriber",
                      {[this] { on_subscriber_connected(); },
                       [this](const std::string& why) { on_lost(why); }, hooks_.redirected},
                      options_.read_from) {
        subscriber_.set_message_handler([this](redisReply* reply) { on_subscription(reply); });
        set_error("connecting to " + publisher_.address().describe());
    }

    ~RedisBus() override { stop(); }

    bool may_block() const override { return true; }

    void start() override {
        publisher_.start();
        subscriber_.start();
    }

    void stop() override {
        publisher_.stop();
        subscriber_.stop();
        catch_up_reads_.join();
    }

    void publish(const MessagePtr& message, std::chrono::seconds ttl) override {
        // Publishers hand over through an inbox; one strand hop serves everything queued.
        bool schedule;
        {
            std::lock_guard lock(inbox_mutex_);
            inbox_.push_back({0, message, ttl});
            schedule = !drain_scheduled_;
            drain_scheduled_ = true;
        }
        if (schedule) publisher_.post([this] { drain_inbox(); });
    }

    MessagePtr latest(const std::string& channel) override {
        // While this instance subscribes to the channel its mirror is current; otherwise the
        // answer is Redis's (a short blocking GET: the gateway calls this off the I/O threads).
        if (subscribed(channel)) return local_->latest(channel);
        return fetch_latest(channel);
    }

    void subscribe(const std::string& channel, const std::shared_ptr<Subscriber>& s) override {
        local_->subscribe(channel, s);
        follow(channel, std::nullopt);
    }

    void follow(const std::string& channel, std::optional<uint64_t> after) override {
        bool first;
        {
            std::lock_guard lock(refs_mutex_);
            first = refs_[channel]++ == 0;
        }
        if (first) {
            // Its latest message (or its history after `after`) follows Redis's
            // confirmation (catch_up).
            subscriber_.post([this, channel, after] {
                if (after) delivered_.try_emplace(channel, *after);
                subscriber_.subscription_command({words_.subscribe, channel});
            });
        }
    }

    void unsubscribe(const std::string& channel, const Subscriber* s) override {
        local_->unsubscribe(channel, s);
        unfollow(channel);
    }

    void unfollow(const std::string& channel) override {
        bool last = false;
        {
            std::lock_guard lock(refs_mutex_);
            auto it = refs_.find(channel);
            if (it != refs_.end() && --it->second == 0) {
                refs_.erase(it);
                last = true;
            }
        }
        if (last) {
            subscriber_.post([this, channel] {
                if (subscribed(channel)) return;
                subscriber_.subscription_command({words_.unsubscribe, channel});
                delivered_.erase(channel);
                held_.erase(channel);
                std::lock_guard lock(refs_mutex_);
                confirmed_.erase(channel);
            });
        }
    }

    // From Redis. A local subscriber's history is read once Redis confirms its subscription:
    // whatever is published after the read then reaches it live, so a resume has no gap.
    Result<HistoryPage> history(const std::string& channel, const HistoryQuery& query) override {
        if (!options_.history.enabled()) return local_->history(channel, query);
        if (subscribed(channel)) {
            std::unique_lock lock(refs_mutex_);
            if (!confirmations_.wait_for(lock, kConfirmationWait, [&] {
                    return confirmed_.contains(channel) || !refs_.contains(channel);
                })) {
                return Error::unavailable("Redis has not confirmed the subscription to " + channel +
                                          " yet");
            }
        }
        return read_history(channel, query);
    }

    ChannelStats stats(const std::string& channel) override { return local_->stats(channel); }

    BusHealth health() override {
        BusHealth health;
        health.kind = "redis";
        health.connected = publisher_up_ && subscriber_up_;
        {
            std::lock_guard lock(error_mutex_);
            health.last_error = last_error_;
        }
        health.published = published_;
        health.buffered = buffered_;
        health.dropped = dropped_;
        if (!options_.address.sentinels.empty()) health.master = publisher_.server();
        health.write_node = publisher_.node();
        health.read_node = subscriber_.node();
        health.channels = local_->health().channels;
        auto refused = publisher_.refusals();
        health.write_refusals = refused.count;
        if (refused.count > 0) {
            health.last_refusal = refused.last;
            health.refusing = std::chrono::steady_clock::now() - refused.at < kRefusingWindow;
        }
        {
            std::lock_guard lock(error_mutex_);
            if (!health.last_error && blocking_error_) health.last_error = blocking_error_;
        }
        // Down: why, in the words of the link's last attempt ("AUTH: WRONGPASS …"), rather
        // than the last event it reported.
        if (!health.connected) {
            auto why = publisher_up_ ? subscriber_.failure() : publisher_.failure();
            if (why) health.last_error = *why;
        }
        return health;
    }

  private:
    struct Pending {
        uint64_t id;
        MessagePtr message;
        std::chrono::seconds ttl;
    };

    // ---- publisher strand ----
    void drain_inbox() {
        std::vector<Pending> arrived;
        {
            std::lock_guard lock(inbox_mutex_);
            arrived.swap(inbox_);
            drain_scheduled_ = false;
        }
        for (auto& item : arrived) {
            if (outbox_.size() >= options_.buffer_limit) drop_oldest();
            item.id = next_id_++;
            outbox_.push_back(std::move(item));
        }
        buffered_ = outbox_.size();
        pump();
    }

    // Sends what is waiting as one batch: a PUBLISH per message, and a SET only for the
    // newest message of each channel in the batch (the older ones would be overwritten at
    // once). The batch's last reply acknowledges all of it, as Redis answers in order.
    void pump() {
        // After an outage the buffer is flushed only once this instance's subscriptions are
        // back, so its own clients receive what was kept for them.
        if (!subscriptions_ready_) return;
        while (publisher_.connected() && next_send_ < outbox_.size() &&
               in_flight_ < kMaxBatchesInFlight) {
            std::size_t end = std::min(outbox_.size(), next_send_ + kMaxBatch);
            std::unordered_map<std::string_view, std::size_t> newest;
            for (std::size_t i = next_send_; i < end; ++i)
                newest[outbox_[i].message->channel] = i;
            bool sent = true;
            for (std::size_t i = next_send_; i < end && sent; ++i) {
                const auto& m = *outbox_[i].message;
                bool newest_of_channel = newest[m.channel] == i;
                // The history first: a subscriber catching up after a reconnect (perhaps on a
                // replica) that missed the PUBLISH finds the message in the history.
                if (options_.history.enabled()) sent = append_history(m, newest_of_channel);
                if (sent) sent = publisher_.command({words_.publish, m.channel, m.json});
                if (sent && newest_of_channel) {
                    std::string key = latest_key(m.channel, cluster_);
                    auto ttl = std::to_string(std::max<long long>(outbox_[i].ttl.count(), 1));
                    sent = publisher_.command({"SET", key, m.json, "EX", ttl});
                }
            }
            if (!sent) return;  // the link is going down; on_lost resends from the start
            sent = publisher_.command({"PING"}, [this, id = outbox_[end - 1].id](redisReply* r) {
                on_acknowledged(id, r);
            });
            if (!sent) return;
            next_send_ = end;
            ++in_flight_;
        }
    }

    // XADD to the channel's stream, trimmed to about its length (whole nodes at a time, which
    // is cheap); its age is enforced when it is read, and the key expires when the channel
    // goes quiet for that long.
    bool append_history(const Message& m, bool newest_of_channel) {
        std::string key = history_key(m.channel, cluster_);
        if (!publisher_.command({"XADD", key, "MAXLEN", "~", history_length_, "*", "m", m.json}))
            return false;
        return !newest_of_channel || publisher_.command({"PEXPIRE", key, history_age_ms_});
    }

    void on_acknowledged(uint64_t id, redisReply* reply) {
        if (reply == nullptr) return;  // the link dropped; on_lost resends what is unacknowledged
        --in_flight_;
        // Replies come in order: everything up to `id` is done.
        while (!outbox_.empty() && outbox_.front().id <= id) {
            outbox_.pop_front();
            if (next_send_ > 0) --next_send_;
            ++published_;
        }
        buffered_ = outbox_.size();
        pump();
    }

    void drop_oldest() {
        outbox_.pop_front();
        if (next_send_ > 0) --next_send_;
        if (dropped_++ % 1000 == 0) {
            BOOST_LOG_TRIVIAL(warning)
                << "redis: publish buffer full (" << options_.buffer_limit
                << " messages); dropping the oldest, " << dropped_ << " dropped so far";
        }
    }

    void on_publisher_connected() {
        publisher_up_ = true;
        clear_error_if_up();
        in_flight_ = 0;
        next_send_ = 0;  // everything not acknowledged goes again, in order
        hand_over_moved_channels();
        if (!outbox_.empty()) {
            BOOST_LOG_TRIVIAL(info)
                << "redis: flushing " << outbox_.size() << " buffered message(s)";
        }
        pump();
    }

    // In a cluster, a link reconnects after a redirect: the messages of channels another
    // shard serves now go there (in order: everything not acknowledged goes again).
    void hand_over_moved_channels() {
        if (!hooks_.serves) return;
        std::erase_if(outbox_, [&](const Pending& pending) {
            if (hooks_.serves(pending.message->channel)) return false;
            hooks_.reroute(pending.message, pending.ttl);
            return true;
        });
        buffered_ = outbox_.size();
    }

    // ---- subscriber strand ----
    // Every channel followed here is subscribed again; the ones that had messages hold back
    // what arrives live until their history since then is delivered (catch_up).
    void on_subscriber_connected() {
        subscriber_up_ = true;
        ++connection_;
        clear_error_if_up();
        {
            std::lock_guard lock(refs_mutex_);
            restoring_.clear();
            for (const auto& [channel, _] : refs_)
                restoring_.insert(channel);
        }
        if (restoring_.empty()) subscriptions_back();
        auto channels = restoring_;  // confirmations erase from restoring_ while we go
        for (const auto& channel : channels) {
            if (delivered_.contains(channel)) held_.try_emplace(channel);
            subscriber_.subscription_command({words_.subscribe, channel});
        }
    }

    void subscriptions_back() {
        subscriptions_ready_ = true;
        publisher_.post([this] { pump(); });
    }

    void on_subscription(redisReply* reply) {
        if (reply->type == REDIS_REPLY_ERROR) {
            refused_subscription(std::string(reply->str, reply->len));
            return;
        }
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return;
        auto* kind = reply->element[0];
        auto* payload = reply->element[2];
        if (kind->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_STRING)
            return;
        std::string_view what(kind->str, kind->len);
        // In a cluster, Redis ends the subscriptions of a slot that moved to another shard.
        if (what == words_.unsubscribed && cluster_ && hooks_.redirected) {
            std::string channel(reply->element[1]->str, reply->element[1]->len);
            if (subscribed(channel)) hooks_.redirected(channel + "'s slot moved");
            return;
        }
        // Only the channels being restored count: a new channel's confirmation may come
        // in between.
        if (what == words_.subscribed) {
            std::string channel(reply->element[1]->str, reply->element[1]->len);
            confirmed(channel);
            catch_up(channel);
            if (restoring_.erase(channel) && restoring_.empty()) subscriptions_back();
        }
        if (what != words_.message) return;
        if (payload->type != REDIS_REPLY_STRING) return;
        auto message = message_from_json(std::string(payload->str, payload->len));
        if (!message) {
            BOOST_LOG_TRIVIAL(warning)
                << "redis: a message on "
                << std::string(reply->element[1]->str, reply->element[1]->len) << " is "
                << message.error().detail << "; ignored";
            return;
        }
        auto held = held_.find((*message)->channel);
        if (held != held_.end()) {
            held->second.push_back(std::move(*message));
            return;
        }
        deliver(*message);
    }

    // A subscription Redis refused. In a cluster, a MOVED: another shard serves the channel
    // now; the cluster bus learns it and moves the channel there, so it stops counting as
    // being restored here.
    void refused_subscription(const std::string& error) {
        auto redirect = cluster::parse_redirect(error);
        if (!redirect || !hooks_.redirected) {
            BOOST_LOG_TRIVIAL(warning) << "redis: a subscription was refused: " << error;
            return;
        }
        hooks_.redirected(error);
        bool restoring = !restoring_.empty();
        std::erase_if(restoring_, [&](const std::string& channel) {
            return cluster::slot_of(channel) == redirect->slot;
        });
        if (restoring && restoring_.empty()) subscriptions_back();
    }

    void deliver(const MessagePtr& message) {
        delivered_[message->channel] = message->seq;
        local_->publish(message, options_.mirror_ttl);
    }

    // What a channel missed, read (blocking, off the I/O threads) from the node subscribed
    // to: its history after the last seq delivered here, or, for a channel new here (or
    // without history), its latest message.
    void catch_up(const std::string& channel) {
        auto last = delivered_.find(channel);
        std::optional<uint64_t> after;
        if (last != delivered_.end() && options_.history.enabled()) after = last->second;
        boost::asio::post(catch_up_reads_, [this, channel, after, connection = connection_.load()] {
            std::vector<MessagePtr> missed;
            if (after) {
                auto page = read_history(channel, {after, options_.history.max_messages});
                if (page) {
                    missed = std::move(page->messages);
                } else {
                    BOOST_LOG_TRIVIAL(warning)
                        << "redis: " << channel << ": the history since seq " << *after
                        << " cannot be read (" << page.error().detail
                        << "); clients may miss what came meanwhile";
                }
            } else if (auto latest = fetch_latest(channel)) {
                missed.push_back(std::move(latest));
            }
            subscriber_.post([this, channel, connection, missed = std::move(missed)] {
                caught_up(channel, connection, missed);
            });
        });
    }

    // Subscriber strand: delivers what `catch_up` read, then what was held back meanwhile,
    // each only when newer than what was delivered before. A catch-up for an earlier
    // connection is left to the one the current connection started.
    void caught_up(const std::string& channel, uint64_t connection,
                   const std::vector<MessagePtr>& missed) {
        if (connection != connection_ || !subscribed(channel)) return;
        auto held = std::exchange(held_[channel], {});
        held_.erase(channel);
        auto last = delivered_.find(channel);
        if (last == delivered_.end()) {
            // New here: the latest serves unless a newer one arrived live first.
            auto current = local_->latest(channel);
            for (const auto& message : missed) {
                if (!current || message->timestamp > current->timestamp) deliver(message);
            }
        } else {
            for (const auto& message : missed) {
                if (message->seq > delivered_[channel]) deliver(message);
            }
        }
        for (const auto& message : held) {
            if (!delivered_.contains(channel) || message->seq > delivered_[channel])
                deliver(message);
        }
    }

    void confirmed(const std::string& channel) {
        {
            std::lock_guard lock(refs_mutex_);
            confirmed_.insert(channel);
        }
        confirmations_.notify_all();
    }

    // ---- any thread ----
    bool subscribed(const std::string& channel) {
        std::lock_guard lock(refs_mutex_);
        return refs_.contains(channel);
    }

    void on_lost(const std::string& why) {
        // Called on either link's strand; each flag belongs to its link.
        set_error(why);
        publisher_up_ = publisher_.connected();
        subscriber_up_ = subscriber_.connected();
        if (!subscriber_up_) {
            subscriptions_ready_ = false;
            std::lock_guard lock(refs_mutex_);
            confirmed_.clear();
        }
    }

    void set_error(const std::string& why) {
        std::lock_guard lock(error_mutex_);
        last_error_ = why;
    }

    void clear_error_if_up() {
        if (!(publisher_up_ && subscriber_up_)) return;
        std::lock_guard lock(error_mutex_);
        last_error_.reset();
    }

    Result<std::string> publish_numbered(const Publication& publication,
                                         std::chrono::seconds ttl) override {
        auto cut = cut_around_seq(publication);
        auto channel = publication.channel.name();
        std::string counter =
            cluster_ ? cluster::key_in_slot_of("tickerd:seq:", channel) : "tickerd:seq:" + channel;
        std::string latest = latest_key(channel, cluster_);
        std::string seconds = std::to_string(ttl.count());
        auto reply = blocking_command(
            publisher_, {"EVAL", kPublishScript, "3", counter, latest,
                         history_key(channel, cluster_), cut.head, cut.middle, cut.tail, channel,
                         seconds, history_length_, history_age_ms_, words_.publish});
        if (!reply) {
            return Error::unavailable("Redis is unreachable (" + reply.error() +
                                      "): not published");
        }
        if ((*reply)->type == REDIS_REPLY_STRING)
            return cut.id_prefix + std::string((*reply)->str, (*reply)->len);
        if ((*reply)->type == REDIS_REPLY_ERROR) {
            return Error::unavailable("Redis refused the message: " +
                                      std::string((*reply)->str, (*reply)->len));
        }
        return Error::unavailable("Redis did not number the message");
    }

    // Walks the stream back from its newest entry, a page at a time, until it passes `after`
    // (or has `limit` entries without one), the history's age, or its start.
    Result<HistoryPage> read_history(const std::string& channel, const HistoryQuery& query) {
        const auto oldest_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(
                (std::chrono::system_clock::now() - options_.history.max_age).time_since_epoch())
                .count();
        const std::string key = history_key(channel, cluster_), page = std::to_string(kHistoryPage);
        std::vector<MessagePtr> newest_first;
        std::optional<uint64_t> boundary;  // the seq of the entry just before what was collected
        std::string end = "+";
        for (bool exhausted = false; !exhausted && !boundary;) {
            auto reply = blocking_command(subscriber_, {"XREVRANGE", key, end, "-", "COUNT", page});
            if (!reply) return Error::unavailable("Redis is unreachable (" + reply.error() + ")");
            if ((*reply)->type != REDIS_REPLY_ARRAY) {
                return Error::unavailable("Redis refused XREVRANGE " + key + ": " +
                                          std::string((*reply)->str ? (*reply)->str : ""));
            }
            exhausted = (*reply)->elements < kHistoryPage;
            for (std::size_t i = 0; i < (*reply)->elements && !boundary; ++i) {
                auto entry = stream_entry((*reply)->element[i]);
                if (!entry) continue;
                end = "(" + entry->id;
                if (entry->ms < oldest_ms) {
                    exhausted = true;
                    break;
                }
                const auto& message = entry->message;
                bool renumbered = !newest_first.empty() && message->seq >= newest_first.back()->seq;
                if (renumbered || (query.after && message->seq <= *query.after)) {
                    boundary = renumbered ? 0 : message->seq;
                    break;
                }
                newest_first.push_back(message);
                if (!query.after && newest_first.size() == query.limit) {
                    exhausted = true;  // the newest `limit` are all that was asked for
                    break;
                }
            }
        }
        HistoryPage result;
        result.messages.assign(newest_first.rbegin(), newest_first.rend());
        if (query.after) {
            // Complete when the next message after `after` is the first collected, or nothing
            // follows `after` and `after` itself is there (or is 0, before any message).
            result.complete = result.messages.empty()
                                  ? (boundary ? *boundary == *query.after : *query.after == 0)
                                  : result.messages.front()->seq == *query.after + 1;
            if (result.messages.size() > query.limit) {
                result.messages.resize(query.limit);
                result.more = true;
            }
        }
        return result;
    }

    struct StreamEntry {
        std::string id;
        long long ms;  // the entry's time, from its id
        MessagePtr message;
    };

    // One XRANGE entry: [id, [field, value, …]], the message under field "m".
    static std::optional<StreamEntry> stream_entry(const redisReply* entry) {
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) return std::nullopt;
        const auto* id = entry->element[0];
        const auto* fields = entry->element[1];
        if (id->type != REDIS_REPLY_STRING || fields->type != REDIS_REPLY_ARRAY)
            return std::nullopt;
        for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
            const auto* name = fields->element[f];
            const auto* value = fields->element[f + 1];
            if (name->type != REDIS_REPLY_STRING || std::string_view(name->str, name->len) != "m" ||
                value->type != REDIS_REPLY_STRING)
                continue;
            auto message = message_from_json(std::string(value->str, value->len));
            if (!message) return std::nullopt;
            std::string text(id->str, id->len);
            return StreamEntry{text, std::strtoll(text.c_str(), nullptr, 10), *message};
        }
        return std::nullopt;
    }

    MessagePtr fetch_latest(const std::string& channel) {
        auto key = latest_key(channel, cluster_);
        auto reply = blocking_command(subscriber_, {"GET", key});
        if (!reply) {
            std::lock_guard lock(error_mutex_);
            blocking_error_ = "GET " + key + ": " + reply.error();
            return nullptr;
        }
        if ((*reply)->type != REDIS_REPLY_STRING) return nullptr;
        auto parsed = message_from_json(std::string((*reply)->str, (*reply)->len));
        return parsed ? *parsed : nullptr;
    }

    // ---- Blocking calls (off the I/O threads): a connection per caller at a time ----
    using Connection = std::unique_ptr<redisContext, decltype(&redisFree)>;
    using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;
    struct IdleConnection {
        HostPort server;
        Connection connection;
    };

    // One command on an idle connection to `link`'s server (or a new one): writes go where
    // the publisher writes, reads where the subscriber reads. The reply, or why there is
    // none. A connection that failed is dropped; a good one goes back for the next caller.
    boost::system::result<Reply, std::string> blocking_command(
        const RedisLink& link, std::initializer_list<std::string_view> args) {
        std::vector<const char*> argv;
        std::vector<size_t> lengths;
        for (auto arg : args) {
            argv.push_back(arg.data());
            lengths.push_back(arg.size());
        }
        auto server = link.server();
        auto connection = take_connection(server);
        if (!connection) return connection.error();
        Reply reply(
            static_cast<redisReply*>(redisCommandArgv(
                connection->get(), static_cast<int>(argv.size()), argv.data(), lengths.data())),
            freeReplyObject);
        if (!reply) return std::string((*connection)->errstr);
        {
            std::lock_guard lock(error_mutex_);
            blocking_error_.reset();  // Redis answers again: an old failure no longer stands
        }
        std::lock_guard lock(sync_mutex_);
        if (idle_.size() < kIdleConnections)
            idle_.push_back({std::move(server), std::move(*connection)});
        return reply;
    }

    // An idle connection to `server`; those to another one (a link moved) are closed.
    boost::system::result<Connection, std::string> take_connection(const HostPort& server) {
        {
            std::lock_guard lock(sync_mutex_);
            std::erase_if(idle_, [&](const IdleConnection& idle) {
                return idle.server != publisher_.server() && idle.server != subscriber_.server();
            });
            for (auto it = idle_.begin(); it != idle_.end(); ++it) {
                if (it->server != server) continue;
                auto connection = std::move(it->connection);
                idle_.erase(it);
                return connection;
            }
        }
        return open_connection(server);
    }

    // With Sentinel, `server` is the master the publisher last heard of, or the read node.
    boost::system::result<Connection, std::string> open_connection(const HostPort& server) {
        timeval timeout{0, kLatestTimeoutMs * 1000};
        if (server.host.empty()) return std::string("the sentinels have not named a master yet");
        bool by_socket = !options_.address.socket.empty() &&
                         server == HostPort{options_.address.host, options_.address.port};
        Connection connection(
            !by_socket ? redisConnectWithTimeout(server.host.c_str(), server.port, timeout)
                       : redisConnectUnixWithTimeout(options_.address.socket.c_str(), timeout),
            redisFree);
        if (!connection) return std::string("cannot connect");
        if (connection->err) return std::string(connection->errstr);
        redisSetTimeout(connection.get(), timeout);
        auto run = [&](const std::string& command, const std::string& arg) {
            Reply reply(static_cast<redisReply*>(redisCommand(
                            connection.get(), (command + " %b").c_str(), arg.data(), arg.size())),
                        freeReplyObject);
            return reply && reply->type != REDIS_REPLY_ERROR;
        };
        if (!options_.address.password.empty() && !run("AUTH", options_.address.password))
            return std::string("AUTH failed");
        if (!cluster_ && !run("SELECT", std::to_string(options_.address.db)))
            return std::string("SELECT failed");
        return connection;
    }

    const RedisBusOptions options_;
    const bool cluster_;
    const PubSubWords words_;
    RedisShardOptions hooks_;  // the cluster bus's (none without a cluster)
    const std::string history_length_ = std::to_string(options_.history.max_messages);
    const std::string history_age_ms_ =
        std::to_string(std::chrono::milliseconds(options_.history.max_age).count());
    std::shared_ptr<Bus> local_;  // this instance's subscribers and its mirror of latest
    RedisLink publisher_;
    RedisLink subscriber_;

    // Publisher strand only.
    std::deque<Pending> outbox_;  // oldest first; [0, next_send_) sent, not yet acknowledged
    std::size_t next_send_ = 0;
    std::size_t in_flight_ = 0;
    uint64_t next_id_ = 1;

    std::mutex inbox_mutex_;
    std::vector<Pending> inbox_;  // from any thread, drained on the publisher strand
    bool drain_scheduled_ = false;

    std::mutex refs_mutex_;
    std::unordered_map<std::string, int> refs_;  // local subscribers per channel

    // Channels whose SUBSCRIBE Redis confirmed (under refs_mutex_), signalled to readers of
    // history waiting for one.
    std::unordered_set<std::string> confirmed_;
    std::condition_variable confirmations_;

    // Subscriber strand: channels whose SUBSCRIBE is still to be confirmed after a connect.
    std::unordered_set<std::string> restoring_;

    std::atomic<bool> publisher_up_{false}, subscriber_up_{false};
    std::atomic<bool> subscriptions_ready_{false};
    std::atomic<uint64_t> published_{0}, dropped_{0};
    std::atomic<std::size_t> buffered_{0};
    std::mutex error_mutex_;
    std::optional<std::string> last_error_;      // the links'
    std::optional<std::string> blocking_error_;  // the last blocking call's, until one succeeds

    // Subscriber strand: the seq of the last message of each channel delivered here, and
    // the messages held back while a channel catches up after a reconnect.
    std::unordered_map<std::string, uint64_t> delivered_;
    std::unordered_map<std::string, std::vector<MessagePtr>> held_;
    std::atomic<uint64_t> connection_{0};  // the subscriber's connections so far

    std::mutex sync_mutex_;
    std::vector<IdleConnection> idle_;  // blocking connections between two calls

    // Last: joined in stop(), before the rest goes. A few threads, so that many channels
    // catching up at once (each a round trip or more to a replica perhaps far away) do not
    // hold each other's live messages back for long.
    boost::asio::thread_pool catch_up_reads_{kCatchUpThreads};
};

}  // namespace

std::string latest_key(std::string_view channel, bool cluster) {
    if (cluster) return cluster::key_in_slot_of("latest:", channel);
    return "latest:" + std::string(channel);
}

std::string history_key(std::string_view channel, bool cluster) {
    if (cluster) return cluster::key_in_slot_of("tickerd:history:", channel);
    return "tickerd:history:" + std::string(channel);
}

std::string own_key(std::string_view name, bool cluster) {
    return (cluster ? "{tickerd}:" : "tickerd:") + std::string(name);
}

RedisAddress for_own_keys(RedisAddress address) {
    address.cluster_slot = cluster::slot_of(own_key("", true));
    return address;
}

std::unique_ptr<RedisShard> make_redis_shard(boost::asio::io_context& io,
                                             RedisShardOptions options) {
    return std::make_unique<RedisBus>(io, std::move(options));
}

std::unique_ptr<Bus> make_redis_bus(boost::asio::io_context& io, RedisBusOptions options) {
    if (options.address.cluster()) return make_redis_cluster_bus(io, std::move(options));
    auto local = make_embedded_bus(HistoryLimits{0});  // history is Redis's
    return make_redis_shard(io, {std::move(options), std::move(local), {}, {}, {}});
}

}  // namespace tickerd::bus
