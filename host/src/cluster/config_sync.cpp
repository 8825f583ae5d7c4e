// Two links: one for commands (GET/SET/PUBLISH), one subscribed to the control channel.
// Adopting a document persists it (an fsync), so that runs on a thread of its own, never on
// the I/O threads; a change adopted from Redis is not announced back.
#include "cluster/cluster.hpp"

#include "bus/redis_link.hpp"
#include "core/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <hiredis/hiredis.h>

#include <atomic>

namespace tickerd::cluster {

namespace {

namespace asio = boost::asio;

constexpr std::string_view kConfigKey = "tickerd:config";
constexpr std::string_view kControlChannel = "tickerd:control";

// Set on the applying thread while a document from Redis is being adopted.
thread_local bool adopting = false;

class RedisConfigSync final : public ConfigSync {
  public:
    RedisConfigSync(asio::io_context& io, bus::RedisAddress address, std::string instance,
                    config::StateStore& state)
        : instance_(std::move(instance)),
          state_(state),
          commands_(io, address, "config", {[this] { on_connected(); }, {}}),
          control_(io, std::move(address), "config-control", {[this] { on_control_up(); }, {}}) {
        control_.set_message_handler([this](redisReply* reply) { on_control(reply); });
        state_.on_change([this] {
            if (!adopting && !stopped_) commands_.post([this] { announce(); });
        });
    }

    ~RedisConfigSync() override { stop(); }

    void start() override {
        commands_.start();
        control_.start();
    }

    void stop() override {
        if (stopped_.exchange(true)) return;
        commands_.stop();
        control_.stop();
        applier_.join();
    }

  private:
    // Commands strand.
    void on_connected() { fetch(true); }

    // Adopts the shared config; when there is none yet and `seed` is set, this instance's
    // becomes it — SET NX lets only one of several starting together win, the others fetch.
    void fetch(bool seed) {
        commands_.command({"GET", kConfigKey}, [this, seed](redisReply* reply) {
            if (reply && reply->type == REDIS_REPLY_STRING) {
                adopt(std::string(reply->str, reply->len));
            } else if (reply && seed) {
                auto document = config::state_document(*state_.snapshot());
                commands_.command({"SET", kConfigKey, document, "NX"}, [this](redisReply* set) {
                    if (set && set->type == REDIS_REPLY_NIL) fetch(false);  // another was first
                });
            }
        });
    }

    void announce() {
        auto document = config::state_document(*state_.snapshot());
        commands_.command({"SET", kConfigKey, document});
        commands_.command({"PUBLISH", kControlChannel, "config " + instance_});
    }

    // Control strand.
    void on_control_up() { control_.subscription_command({"SUBSCRIBE", kControlChannel}); }

    void on_control(redisReply* reply) {
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return;
        std::string_view kind(reply->element[0]->str, reply->element[0]->len);
        std::string_view text(reply->element[2]->str, reply->element[2]->len);
        if (kind != "message" || text == "config " + instance_) return;  // our own
        if (text.starts_with("config ")) commands_.post([this] { fetch(false); });
    }

    void adopt(std::string document) {
        asio::post(applier_, [this, document = std::move(document)] {
            try {
                auto current = state_.snapshot();
                auto incoming =
                    config::parse_state_document(document, std::string(kConfigKey), *current);
                adopting = true;
                bool changed = state_.replace(incoming);
                adopting = false;
                if (changed) BOOST_LOG_TRIVIAL(info) << "config: adopted the shared config";
            } catch (const std::exception& e) {
                adopting = false;
                BOOST_LOG_TRIVIAL(error)
                    << "config: the shared config in Redis is refused: " << e.what();
            }
        });
    }

    const std::string instance_;
    config::StateStore& state_;
    bus::RedisLink commands_;
    bus::RedisLink control_;
    asio::thread_pool applier_{1};
    std::atomic<bool> stopped_{false};
};

}  // namespace

std::unique_ptr<ConfigSync> make_config_sync(asio::io_context& io, bus::RedisAddress address,
                                             std::string instance, config::StateStore& state) {
    return std::make_unique<RedisConfigSync>(io, std::move(address), std::move(instance), state);
}

}  // namespace tickerd::cluster
