// The threads vendor calls run on, each instance its own: a call runs on one of its
// instance's threads, and an instance holds at most its concurrency limit of calls, the ones
// stuck past their timeout included. So however many of one instance's calls hang, every other
// instance still gets its threads (the fallback vendor too), and the calls one broken plugin
// can hold are bounded by its own max_concurrency.
//
// A thread whose call returned waits for its instance's next call (up to the idle life, and at
// most the instance's limit of them wait), so a busy instance's calls do not each pay for
// starting and ending a thread. A waiting thread holds no instance: its library can go.
//
// A call the host gave up on (its timeout) is written off: nobody waits for it, its thread is
// left to the plugin, and when it returns at last its outcome is dropped. Internal to the
// scheduler.
#pragma once

#include "core/result.hpp"
#include "plugins/plugins.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace tickerd::scheduler::detail {

// What one instance's calls are doing now.
struct LaneLoad {
    int limit = 0;              // calls it may hold at once (its concurrency limit)
    int running = 0;            // calls on its threads, the written-off ones included
    int written_off = 0;        // calls given up on that have not returned
    int timeouts_in_a_row = 0;  // since its last call that answered in time
};

class VendorThreads {
  public:
    using Job = std::function<plugins::FetchOutcome()>;  // must not throw
    using Deliver = std::function<void(plugins::FetchOutcome)>;
    struct Ticket;  // one call handed to a thread
    using TicketPtr = std::shared_ptr<Ticket>;

    static constexpr std::chrono::milliseconds kIdleLife{30'000};

    explicit VendorThreads(std::chrono::milliseconds idle_life = kIdleLife);
    ~VendorThreads();
    VendorThreads(const VendorThreads&) = delete;
    VendorThreads& operator=(const VendorThreads&) = delete;

    // Runs `job` on a thread of `instance`'s own (one waiting, else a new one) and hands its
    // outcome to `deliver`, on that thread, unless the call was written off or close() came
    // first. When the instance holds its limit of calls, the call waits in line for the first
    // of its threads to finish (write_off takes it out). Refused when that line is as long as
    // the limit, when every call the instance may hold is stuck, or when no thread can start.
    Result<TicketPtr> start(const plugins::InstancePtr& instance, Job job, Deliver deliver);
    // The host stopped waiting for the call. Returns its instance's load afterwards.
    LaneLoad write_off(Ticket& ticket);
    // The call answered before its timeout: its instance's run of timeouts ends.
    void answered_in_time(Ticket& ticket);
    LaneLoad load(const plugins::Instance& instance) const;
    // Calls written off that have not returned, by instance name (only those with any).
    std::map<std::string, int> stuck_calls() const;

    // Waits (at most `limit`) until every call not written off has returned; false when some
    // have not. Written-off calls are not waited for: they are past their timeout already.
    bool wait_idle(std::chrono::milliseconds limit);
    // From now on no outcome is delivered, so the caller's state may go, and waiting threads
    // end; calls still running keep only their instance (and its library) alive. Returns how
    // many still run.
    int close();

  private:
    struct Lane;
    struct Shared;
    struct Call;
    struct Waiting;
    std::shared_ptr<Lane> lane_for(const plugins::InstancePtr& instance);
    static void serve(std::shared_ptr<Shared> shared, Call call);
    static void run_call(Shared& shared, Call& call);
    static bool wait_for_next(Shared& shared, Call& call);

    std::shared_ptr<Shared> shared_;  // also held by every running call's thread
};

}  // namespace tickerd::scheduler::detail
