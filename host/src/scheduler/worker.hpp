// One worker: polls every enabled instrument of one data type once per cadence interval.
// Internal to the scheduler; WorkerManager is the public face.
//
// Threads: the worker's handlers run on its strand; vendor calls run on threads of their
// instance's own (vendor_threads.hpp) and post their results back to the strand. The mutex
// exists because the API (start, stop, status, shutdown) comes from other threads: every
// handler holds it while it runs, which is cheap because nothing under it blocks (no vendor
// call, no I/O wait).
#pragma once

#include "scheduler/bar_feed.hpp"
#include "scheduler/scheduler.hpp"
#include "scheduler/vendor_threads.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <set>

namespace tickerd::scheduler::detail {

// What every worker shares. Owned by the manager; workers keep it alive while handlers of
// theirs are still queued.
struct Services {
    Services(config::StateStore& state_, plugins::PluginHost& plugins_, bus::Bus& bus_,
             telemetry::Store& telemetry_, Options options_)
        : state(state_),
          plugins(plugins_),
          bus(bus_),
          telemetry(telemetry_),
          options(std::move(options_)) {}

    config::StateStore& state;
    plugins::PluginHost& plugins;
    bus::Bus& bus;
    telemetry::Store& telemetry;
    Options options;
    VendorThreads threads;
    Bench bench{[] { return std::chrono::steady_clock::now(); }};
    std::shared_ptr<BarFeed> bars;  // set by the manager before any worker starts

    // What follows a market_data message's publication, polled or published through the API:
    // the bars and the price alerts are made from what subscribers got (the same data, the
    // same timestamp).
    void market_data_published(const std::string& symbol, const boost::json::object& data,
                               std::chrono::system_clock::time_point at) {
        if (bars) bars->on_market_data(symbol, data, at);
        if (options.on_market_data) options.on_market_data(symbol, data, at);
    }
};

// Logs the first occurrence of a repeated problem, then at growing intervals (the 1st, 2nd,
// 4th, 8th … time), like collectd's c_complain, so a broken vendor cannot flood the log.
struct Complaint {
    uint64_t count = 0;
    bool should_log() {
        ++count;
        return (count & (count - 1)) == 0;
    }
};

class Worker : public std::enable_shared_from_this<Worker> {
  public:
    Worker(boost::asio::io_context& io, DataType type, std::shared_ptr<Services> services,
           uint64_t seed);

    void start();  // idempotent
    void stop();   // idempotent: calls in flight finish, nothing new starts
    void close();  // stop for good and cancel the calls in flight
    WorkerStatus status() const;
    void config_changed();  // any thread

  private:
    using SteadyTime = std::chrono::steady_clock::time_point;

    // What a cycle is built from. When a config change alters it, the cycle restarts at once
    // instead of waiting out a possibly long interval.
    struct Plan {
        bool enabled = false;
        double interval_seconds = 0;
        std::vector<std::string> symbols;  // sorted
        bool operator==(const Plan&) const = default;
    };

    struct Cycle {
        SteadyTime start;
        std::vector<std::string> symbols;
        std::vector<std::chrono::milliseconds> offsets;  // when each poll is due (its cell's)
        std::size_t next = 0;                            // the next poll to start
        std::size_t unfinished = 0;                      // started, not yet finished
        bool reported = false;                           // last_run set for it
    };

    // One vendor call. Its thread and the timeout race; `done` says who came first.
    struct Call {
        Call(const boost::asio::any_io_executor& strand, plugins::InstancePtr vendor)
            : instance(std::move(vendor)), timeout(strand) {}
        plugins::InstancePtr instance;
        // Shared with the call's thread, which may outlive the call (and the worker).
        std::shared_ptr<plugins::CancelFlag> cancel = std::make_shared<plugins::CancelFlag>();
        VendorThreads::TicketPtr ticket;  // set once its thread started
        boost::asio::steady_timer timeout;
        SteadyTime expires{};  // when `timeout` fires
        SteadyTime started = std::chrono::steady_clock::now();
        double latency_ms = 0;
        bool done = false;
    };

    // One poll of one symbol: attempts over the vendor chain until one answers.
    struct Poll {
        Poll(const boost::asio::any_io_executor& strand, std::string symbol_,
             std::shared_ptr<Cycle> cycle_)
            : symbol(std::move(symbol_)), cycle(std::move(cycle_)), backoff(strand) {}
        std::string symbol;
        std::shared_ptr<Cycle> cycle;
        Cadence cadence;
        GlobalSettings global;
        std::vector<plugins::InstancePtr> chain;  // cut to the first without vendor_fallback
        std::string primary;                      // first of the full ranked chain
        std::set<std::string> dropped;            // vendors given up on for this poll
        int attempt = 0;                          // 0 for the first
        int attempts = 1;
        std::size_t next_vendor = 0;
        std::optional<std::string> last_failure;  // "<vendor>: <message>"
        std::shared_ptr<Call> call;
        boost::asio::steady_timer backoff;
        bool finished = false;
    };

    // Cycles (worker.cpp).
    Plan make_plan(const config::RuntimeConfig& config) const;
    void apply_plan(Plan plan);
    void begin_cycle(SteadyTime start);
    void arm_cycle_timer(SteadyTime when);
    void restart_cycle();
    void halt();  // stop() and close() both; under the mutex
    void cancel_timers();
    void dispatch_next_poll(const std::shared_ptr<Cycle>& cycle);
    void start_or_skip(const std::shared_ptr<Cycle>& cycle, const std::string& symbol);
    void skip_poll(Cycle& cycle, const std::string& symbol);
    void note_cycle_progress(Cycle& cycle);
    void note_unexpected(const std::string& what);
    bool stalled(SteadyTime now) const;
    std::chrono::milliseconds scaled(std::chrono::milliseconds delay) const;

    // Polls (poll.cpp).
    void start_poll(const std::shared_ptr<Cycle>& cycle, const std::string& symbol);
    void begin_attempt(const std::shared_ptr<Poll>& poll);
    void call_next_vendor(const std::shared_ptr<Poll>& poll);
    void call_vendor(const std::shared_ptr<Poll>& poll, const plugins::InstancePtr& instance);
    void on_call_done(const std::shared_ptr<Poll>& poll, const std::shared_ptr<Call>& call,
                      plugins::FetchOutcome outcome);
    void on_call_timeout(const std::shared_ptr<Poll>& poll, const std::shared_ptr<Call>& call);
    void on_call_failed(const std::shared_ptr<Poll>& poll, const Call& call,
                        const plugins::FetchOutcome& outcome);
    void start_call_thread(const std::shared_ptr<Poll>& poll, const std::shared_ptr<Call>& call,
                           std::chrono::system_clock::time_point deadline);
    void note_timeout(const Poll& poll, const Call& call, const std::string& message);
    void bench_if_hanging(const plugins::Instance& instance, const LaneLoad& load);
    void on_attempt_failed(const std::shared_ptr<Poll>& poll);
    void publish(Poll& poll, const Call& call, boost::json::object data);
    void record_call(const Poll& poll, const Call& call, const plugins::FetchOutcome& outcome);
    bool eligible(const Poll& poll, const plugins::Instance& instance) const;
    bool any_eligible(const Poll& poll) const;
    std::string no_vendor_message(const Poll& poll) const;
    void fail_poll(const std::shared_ptr<Poll>& poll, const std::string& error);
    void finish_poll(const std::shared_ptr<Poll>& poll);

    // Wraps a handler: it runs under the mutex, does nothing once the worker is closed, and
    // an exception escaping it marks the worker "error" instead of reaching the io_context.
    template <class Fn>
    auto guarded(Fn fn) {
        return [self = shared_from_this(), fn = std::move(fn)](auto&&... args) mutable {
            std::lock_guard lock(self->mutex_);
            if (self->closed_) return;
            try {
                fn(std::forward<decltype(args)>(args)...);
            } catch (const std::exception& e) {
                self->note_unexpected(e.what());
            }
        };
    }
    // The same for a handler belonging to one poll: on an exception the poll also ends, so
    // its symbol is not stuck "in flight" forever.
    template <class Fn>
    auto guarded_poll(std::shared_ptr<Poll> poll, Fn fn);

    const DataType type_;
    const std::string id_;
    std::shared_ptr<Services> services_;
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    boost::asio::steady_timer cycle_timer_;    // the next cycle (or the idle re-check)
    boost::asio::steady_timer stagger_timer_;  // the next cell of this cycle's polls
    std::mt19937_64 rng_;
    // A re-plan is queued on the strand and has not read the config yet: further changes
    // need no re-plan of their own (a burst of API changes would otherwise queue one O(n)
    // re-plan each).
    std::atomic<bool> replan_queued_{false};

    mutable std::mutex mutex_;
    bool closed_ = false;
    bool running_ = false;
    uint64_t generation_ = 0;  // bumped on start/stop/restart: older timer handlers do nothing
    std::optional<Plan> plan_;
    std::shared_ptr<Cycle> cycle_;
    std::map<std::string, std::shared_ptr<Poll>> polls_;  // in flight, by symbol
    std::map<std::string, Complaint> skips_;              // by symbol
    std::map<std::string, Complaint> failures_;           // by symbol, until it recovers
    bool cycle_had_exception_ = false;
    SteadyTime delivering_since_{};    // the last publish, or the start when none since
    uint64_t errors_at_delivery_ = 0;  // error_count then
    WorkerStatus status_;
};

}  // namespace tickerd::scheduler::detail
