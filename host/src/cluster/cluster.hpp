// What instances sharing one Redis keep in common beyond the stream: the work (leases
// deciding which instance polls what) and the runtime config (instruments, cadences, global
// settings). With Redis on, it lives in `tickerd:config` (the
// state file's document); a change made through any instance's API is written there and
// announced on the `tickerd:control` channel, and every other instance adopts it, which
// reaches its workers like a local change. The state folder keeps a local copy.
#pragma once

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "scheduler/scheduler.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>

namespace tickerd::cluster {

class ConfigSync {
  public:
    virtual ~ConfigSync() = default;
    virtual void start() = 0;
    virtual void stop() = 0;  // call while the io_context still runs
    // Thread-safe.
    virtual config::SharedConfigState state() const = 0;
};

// Merges two changed versions of a shared-config document (the state file's JSON) made
// from `base`: per instrument, cadence and global setting, a change on one side is kept;
// a change on both sides takes `ours`. Fails for a document that is not a JSON object.
Result<std::string> merge_documents(const std::string& base, const std::string& ours,
                                    const std::string& theirs);

// Leases in Redis: each (data type, symbol) is polled by the one instance holding
// `tickerd:lease:{data_type}:{symbol}` (SET NX PX `lease`, renewed every lease/3). Live
// instances heartbeat in `tickerd:instances`; each takes its fair share, so a dead
// instance's share is taken over within two lease periods. `state` lists what to poll.
// `bar_types` ("bars_1m", …): taking a market_data lease also reads those channels' latest
// bar, so the bars continue their numbering and series (WorkShare::handed_over). In a
// Redis Cluster the keys are `{tickerd}:lease:…`, and those latest messages are read with
// `read_latest` (the bus's latest(): it blocks, so it is called off the I/O threads).
using LatestReader = std::function<bus::MessagePtr(const std::string& channel)>;
std::shared_ptr<scheduler::WorkShare> make_redis_work_share(
    boost::asio::io_context& io, bus::RedisAddress address, std::string instance,
    std::chrono::milliseconds lease, config::StateStore& state,
    std::vector<std::string> bar_types = {}, LatestReader read_latest = {});

// At first contact: adopts `tickerd:config` (`{tickerd}:config` in a Redis Cluster) when it
// exists, else seeds it from `state`.
std::unique_ptr<ConfigSync> make_config_sync(boost::asio::io_context& io, bus::RedisAddress address,
                                             std::string instance, config::StateStore& state);

}  // namespace tickerd::cluster
