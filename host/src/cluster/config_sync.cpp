// Two links: one for commands (GET/SET/PUBLISH), one subscribed to the control channel.
// Adopting a document persists it (an fsync), so that runs on a thread of its own, never on
// the I/O threads; a change adopted from Redis is not announced back. A local change is
// merged into the shared document (see merge_documents), also when it was made while Redis
// was away, so concurrent changes on several instances are all kept. A write Redis refuses
// (out of memory, a read-only replica) is retried with capped backoff until it lands: the
// API answered the change 2xx, so it must reach the other instances.
#include "cluster/cluster.hpp"

#include "bus/redis_link.hpp"
#include "core/backoff.hpp"
#include "core/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <hiredis/hiredis.h>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <mutex>
#include <utility>

namespace tickerd::cluster {

namespace {

namespace asio = boost::asio;

// Classic pub/sub: in a cluster too, any node's subscribers hear it.
constexpr std::string_view kControlChannel = "tickerd:control";
constexpr std::chrono::milliseconds kFirstRewrite{200};
constexpr std::chrono::milliseconds kMaxRewrite{5000};

// Set on the applying thread while a document from Redis is being adopted.
thread_local bool adopting = false;

class RedisConfigSync final : public ConfigSync {
  public:
    RedisConfigSync(asio::io_context& io, bus::RedisAddress address, std::string instance,
                    config::StateStore& state)
        : instance_(std::move(instance)),
          state_(state),
          base_(config::state_document(*state.snapshot())),
          config_key_(bus::own_key("config", address.cluster())),
          commands_(io, bus::for_own_keys(address), "config", {[this] { on_connected(); }, {}, {}}),
          control_(io, bus::for_own_keys(address), "config-control",
                   {[this] { on_control_up(); }, {}, {}}),
          rewrite_timer_(io) {
        control_.set_message_handler([this](redisReply* reply) { on_control(reply); });
        state_.on_change([this] {
            if (adopting || stopped_) return;
            commands_.post([this] {
                set_dirty(true);
                ++local_changes_;
                write();
            });
        });
    }

    ~RedisConfigSync() override { stop(); }

    void start() override {
        commands_.start();
        control_.start();
    }

    void stop() override {
        if (stopped_.exchange(true)) return;
        rewrite_timer_.cancel();
        commands_.stop();
        control_.stop();
        applier_.join();
    }

    config::SharedConfigState state() const override {
        std::lock_guard lock(state_mutex_);
        return shared_state_;
    }

  private:
    // ---- commands strand ----
    // Local changes made while Redis was away are written (merged) now; otherwise the
    // shared config is adopted, or seeded from ours when there is none.
    void on_connected() {
        if (dirty_) {
            write();
        } else {
            fetch(true);
        }
    }

    // Adopts the shared config; when there is none yet and `seed` is set, this instance's
    // becomes it — SET NX lets only one of several starting together win, the others fetch.
    void fetch(bool seed) {
        commands_.command({"GET", config_key_}, [this, seed](redisReply* reply) {
            if (!reply || dirty_) return;  // a local change is being written: it merges
            if (reply->type == REDIS_REPLY_STRING) {
                adopt(std::string(reply->str, reply->len), base_);
            } else if (seed) {
                auto document = config::state_document(*state_.snapshot());
                commands_.command({"SET", config_key_, document, "NX"},
                                  [this, document](redisReply* set) {
                                      if (!set) return;
                                      if (set->type == REDIS_REPLY_NIL) {
                                          fetch(false);  // another instance was first
                                      } else if (set->type == REDIS_REPLY_ERROR) {
                                          // Written (merged) like a change, once Redis takes it.
                                          set_dirty(true);
                                          refused(std::string(set->str, set->len));
                                      } else {
                                          base_ = document;
                                      }
                                  });
            }
        });
    }

    // Writes the local config to Redis, merged with what other instances changed since
    // `base_` (WATCH … MULTI … EXEC: if another write lands in between, it is merged again).
    void write() {
        if (writing_ || !commands_.connected()) {
            write_again_ = writing_;
            return;  // not connected: on_connected() writes
        }
        writing_ = true;
        commands_.command({"WATCH", config_key_});
        commands_.command({"GET", config_key_}, [this](redisReply* reply) {
            if (!reply) {
                writing_ = false;  // the link dropped; on_connected() writes again
                return;
            }
            auto changes = local_changes_;
            auto ours = config::state_document(*state_.snapshot());
            auto merged = reply->type == REDIS_REPLY_STRING
                              ? merged_with(ours, std::string(reply->str, reply->len))
                              : ours;
            commands_.command({"MULTI"});
            // A refusal comes as the SET is queued (EXEC then only says it was discarded).
            queued_refusal_.clear();
            commands_.command({"SET", config_key_, merged}, [this](redisReply* set) {
                if (set && set->type == REDIS_REPLY_ERROR)
                    queued_refusal_.assign(set->str, set->len);
            });
            commands_.command({"PUBLISH", kControlChannel, "config " + instance_});
            bool sent =
                commands_.command({"EXEC"}, [this, changes, ours, merged](redisReply* exec) {
                    writing_ = false;
                    if (!exec) return;
                    if (exec->type == REDIS_REPLY_NIL) {  // another write came first: merge again
                        write();
                    } else if (exec->type == REDIS_REPLY_ERROR) {
                        refused(queued_refusal_.empty() ? std::string(exec->str, exec->len)
                                                        : queued_refusal_);
                    } else {
                        written(changes, ours, merged);
                    }
                });
            if (!sent) writing_ = false;  // the link is going; on_connected() writes again
        });
    }

    std::string merged_with(const std::string& ours, const std::string& theirs) const {
        if (theirs == base_) return ours;
        auto merged = merge_documents(base_, ours, theirs);
        if (merged) return *merged;
        BOOST_LOG_TRIVIAL(warning) << "config: the shared config cannot be merged ("
                                   << merged.error().detail << "); ours wins";
        return ours;
    }

    // `merged` is in Redis. Without newer local changes, this instance takes it as it is;
    // with them, they are written on top of it next (their base is what they started from).
    void written(uint64_t changes, const std::string& ours, const std::string& merged) {
        if (rewrite_backoff_.backing_off())
            BOOST_LOG_TRIVIAL(info) << "config: the shared config is written in Redis at last";
        rewrite_backoff_.reset();
        {
            std::lock_guard lock(state_mutex_);
            shared_state_.last_refusal.reset();
        }
        if (changes == local_changes_) {
            set_dirty(false);
            // The local config is `ours` until `merged` is adopted (adopt moves base_ on).
            base_ = ours;
            if (merged != ours) adopt(merged, ours);
        } else {
            base_ = ours;
            write_again_ = true;
        }
        if (std::exchange(write_again_, false)) write();
    }

    // Redis refused the write: it is tried again, after a delay that doubles up to
    // kMaxRewrite (jittered, so instances refused together do not retry in step).
    void refused(const std::string& why) {
        {
            std::lock_guard lock(state_mutex_);
            shared_state_.last_refusal = why;
        }
        auto delay = rewrite_backoff_.next();
        BOOST_LOG_TRIVIAL(error) << "config: Redis refused the shared config (" << why
                                 << "); writing it again in " << delay.count() << " ms";
        rewrite_timer_.expires_after(delay);
        rewrite_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) commands_.post([this] { write(); });
        });
    }

    void set_dirty(bool dirty) {
        dirty_ = dirty;
        std::lock_guard lock(state_mutex_);
        shared_state_.pending = dirty;
    }

    // ---- control strand ----
    void on_control_up() { control_.subscription_command({"SUBSCRIBE", kControlChannel}); }

    void on_control(redisReply* reply) {
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return;
        std::string_view kind(reply->element[0]->str, reply->element[0]->len);
        std::string_view text(reply->element[2]->str, reply->element[2]->len);
        // Once (re)subscribed, read the config: an announcement made while this link was
        // away was missed.
        if (kind == "subscribe") commands_.post([this] { fetch(false); });
        if (kind != "message" || text == "config " + instance_) return;  // our own
        if (text.starts_with("config ")) commands_.post([this] { fetch(false); });
    }

    // Commands strand; the state is replaced (and persisted) on the applier thread, and only
    // then does `document` become base_: a write meanwhile merges against what the local
    // config still is. `expected` is what the local config was when `document` was read: a
    // local change made since (the API answers while Redis is asked) is merged into it rather
    // than lost, and is written to Redis by the write its change started.
    void adopt(std::string document, std::string expected) {
        asio::post(applier_,
                   [this, document = std::move(document), expected = std::move(expected)] {
                       apply(document, expected);
                       // Unless a write moved it on meanwhile.
                       commands_.post([this, document, expected] {
                           if (base_ == expected) base_ = document;
                       });
                   });
    }

    // Applier thread.
    void apply(const std::string& document, const std::string& expected) {
        auto target = document;
        auto current = config::state_document(*state_.snapshot());
        if (current != expected) {
            if (auto merged = merge_documents(expected, current, document)) target = *merged;
        }
        auto incoming = config::parse_state_document(target, config_key_, *state_.snapshot());
        if (!incoming) {
            BOOST_LOG_TRIVIAL(error)
                << "config: the shared config in Redis is refused: " << incoming.error().detail;
            return;
        }
        adopting = true;
        auto changed = state_.replace(*incoming);
        adopting = false;
        if (!changed) {
            BOOST_LOG_TRIVIAL(error)
                << "config: the shared config cannot be adopted: " << changed.error().detail;
        } else if (*changed) {
            BOOST_LOG_TRIVIAL(info) << "config: adopted the shared config";
        }
    }

    const std::string instance_;
    config::StateStore& state_;
    // Commands strand: the shared document the local config was last equal to, apart from
    // the local changes not yet written (`dirty_`).
    std::string base_;
    bool dirty_ = false;
    uint64_t local_changes_ = 0;
    bool writing_ = false, write_again_ = false;
    std::string queued_refusal_;  // the SET's error in the write under way
    Backoff rewrite_backoff_{kFirstRewrite, kMaxRewrite};
    mutable std::mutex state_mutex_;
    config::SharedConfigState shared_state_;  // a copy of dirty_ and the last refusal, for GET /
    const std::string config_key_;            // tickerd:config, or {tickerd}:config in a cluster
    bus::RedisLink commands_;
    bus::RedisLink control_;
    asio::steady_timer rewrite_timer_;  // commands strand
    asio::thread_pool applier_{1};
    std::atomic<bool> stopped_{false};
};

}  // namespace

std::unique_ptr<ConfigSync> make_config_sync(asio::io_context& io, bus::RedisAddress address,
                                             std::string instance, config::StateStore& state) {
    return std::make_unique<RedisConfigSync>(io, std::move(address), std::move(instance), state);
}

}  // namespace tickerd::cluster
