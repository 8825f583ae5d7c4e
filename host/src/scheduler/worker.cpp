// A worker's life and its cycles: start/stop, the drift-free cycle timer, the stagger of the
// polls inside a cycle, and restarting the cycle when the configuration changes.
#include "scheduler/worker.hpp"

#include "core/log.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace tickerd::scheduler::detail {

namespace {

// How often a disabled worker looks again without being told about a change.
constexpr std::chrono::seconds kIdleRecheck{10};
// The same floor the API enforces (core/model.cpp); repeated here in case a plan bypasses it.
constexpr double kMinIntervalSeconds = 0.01;
// A worker that published nothing for this many intervals says it is stalled: long enough
// for a poll's retries and fallback to run their course, short enough to notice in minutes.
constexpr double kStalledAfterIntervals = 3;
// Polls start a cell of the steady clock at a time: every poll due in one cell starts at the
// cell's beginning, so the worker thread wakes once per cell for all of them, and for every
// worker at once (the cells are the clock's, not a worker's). One wake-up per poll made a
// poll's hand-overs between threads most of its cost. A poll starts at most a cell early;
// a vendor still sees its calls spread over the interval, in steps of a cell.
constexpr std::chrono::milliseconds kPollCell{20};

std::chrono::steady_clock::time_point cell_start(std::chrono::steady_clock::time_point when,
                                                 std::chrono::milliseconds cell) {
    return when - when.time_since_epoch() % cell;
}

}  // namespace

Worker::Worker(boost::asio::io_context& io, DataType type, std::shared_ptr<Services> services,
               uint64_t seed)
    : type_(type),
      id_(worker_id(type)),
      services_(std::move(services)),
      strand_(boost::asio::make_strand(io)),
      cycle_timer_(strand_),
      stagger_timer_(strand_),
      rng_(seed) {
    status_.worker_id = id_;
    status_.data_type = type;
}

void Worker::start() {
    std::lock_guard lock(mutex_);
    if (closed_ || running_) return;
    running_ = true;
    status_.status = WorkerState::running;
    delivering_since_ = std::chrono::steady_clock::now();
    errors_at_delivery_ = status_.error_count;
    BOOST_LOG_TRIVIAL(info) << id_ << ": started";
    try {
        restart_cycle();
    } catch (const std::exception& e) {
        note_unexpected(e.what());
    }
}

void Worker::stop() {
    std::lock_guard lock(mutex_);
    if (!running_) return;
    halt();
    BOOST_LOG_TRIVIAL(info) << id_ << ": stopped";
}

void Worker::close() {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    halt();
    for (auto& [symbol, poll] : polls_) {
        if (!poll->call) continue;
        poll->call->cancel->cancelled = true;
        poll->call->timeout.cancel();
    }
    polls_.clear();
}

// Nothing new starts: polls waiting to retry give up now; a vendor call already running
// finishes (and publishes when it succeeds) unless close() cancels it too.
void Worker::halt() {
    running_ = false;
    status_.status = WorkerState::stopped;
    status_.next_run.reset();
    cancel_timers();
    for (auto& [symbol, poll] : polls_)
        poll->backoff.cancel();
}

WorkerStatus Worker::status() const {
    std::lock_guard lock(mutex_);
    WorkerStatus copy = status_;
    copy.polls_in_flight = static_cast<int>(polls_.size());
    copy.stalled = stalled(std::chrono::steady_clock::now());
    if (running_ && plan_) {
        for (const auto& [symbol, complaint] : failures_) {
            if (std::binary_search(plan_->symbols.begin(), plan_->symbols.end(), symbol))
                copy.failing_symbols.emplace(symbol, complaint.count);
        }
    }
    if (const auto& share = services_->options.share) {
        copy.instance = services_->options.instance;
        copy.leases_held = share->held();
    }
    return copy;
}

// Stalled: polls fail, and none succeeded for a while. Polling nothing (no instruments, or
// another instance holding every lease) is not stalling.
bool Worker::stalled(SteadyTime now) const {
    if (!running_ || !plan_ || !plan_->enabled || plan_->symbols.empty()) return false;
    if (status_.error_count == errors_at_delivery_) return false;
    auto interval_seconds = std::max(plan_->interval_seconds, kMinIntervalSeconds);
    auto patience = scaled(
        std::chrono::milliseconds(std::llround(interval_seconds * kStalledAfterIntervals * 1000)));
    return now - delivering_since_ > patience;
}

void Worker::config_changed() {
    // Called from whichever thread changed the state store: hop onto the strand.
    if (replan_queued_.exchange(true)) return;
    boost::asio::post(strand_, guarded([this] {
                          replan_queued_ = false;  // before reading: a later change queues again
                          if (running_) apply_plan(make_plan(*services_->state.snapshot()));
                      }));
}

void Worker::apply_plan(Plan plan) {
    if (plan == plan_) return;
    bool same_cadence = plan_ && cycle_ && plan.enabled == plan_->enabled &&
                        plan.interval_seconds == plan_->interval_seconds;
    if (!same_cadence) {
        // A new interval (or switching on) must not wait out a possibly long old interval.
        restart_cycle();
        return;
    }
    // Only the instruments changed: poll the new ones now and let the cycle go on; removed
    // ones are left out when their turn comes, and the next cycle is built from the new plan.
    std::vector<std::string> added;
    std::set_difference(plan.symbols.begin(), plan.symbols.end(), plan_->symbols.begin(),
                        plan_->symbols.end(), std::back_inserter(added));
    plan_ = std::move(plan);
    for (const auto& symbol : added) {
        if (!polls_.contains(symbol)) start_poll(cycle_, symbol);
    }
}

Worker::Plan Worker::make_plan(const config::RuntimeConfig& config) const {
    Plan plan;
    auto cadence = config.cadence(type_);
    plan.enabled = config.global.global_enabled && cadence.enabled;
    if (!plan.enabled) return plan;
    plan.interval_seconds = cadence.interval_seconds;
    plan.symbols = config.polled_symbols(type_);
    return plan;
}

void Worker::restart_cycle() {
    cancel_timers();
    begin_cycle(std::chrono::steady_clock::now());
}

void Worker::cancel_timers() {
    ++generation_;
    cycle_timer_.cancel();
    stagger_timer_.cancel();
    cycle_.reset();
}

void Worker::begin_cycle(SteadyTime start) {
    if (!running_) return;
    // "error" lasts until a cycle runs through without an unexpected exception.
    if (status_.status == WorkerState::error && !cycle_had_exception_)
        status_.status = WorkerState::running;
    cycle_had_exception_ = false;

    std::vector<std::string> previous_symbols;
    if (plan_) previous_symbols = plan_->symbols;
    plan_ = make_plan(*services_->state.snapshot());
    auto now = std::chrono::steady_clock::now();
    if (!plan_->enabled) {
        cycle_.reset();
        status_.next_run.reset();
        arm_cycle_timer(now + scaled(kIdleRecheck));
        return;
    }

    // The API validates intervals; the floor only guards against a cycle that would spin.
    auto interval_seconds = std::max(plan_->interval_seconds, kMinIntervalSeconds);
    auto interval = scaled(std::chrono::milliseconds(std::llround(interval_seconds * 1000)));
    auto cycle = std::make_shared<Cycle>();
    cycle->start = start;
    cycle->symbols = plan_->symbols;
    // Instruments added since the last cycle go first, so a new instrument is served
    // promptly even when the cycle restarts for another change at the same time.
    std::stable_partition(cycle->symbols.begin(), cycle->symbols.end(), [&](const auto& symbol) {
        return !std::binary_search(previous_symbols.begin(), previous_symbols.end(), symbol);
    });
    cycle->offsets = stagger_offsets(cycle->symbols.size(), interval);
    cycle_ = cycle;

    // Drift-free: the next cycle starts one interval after this one started, not after its
    // polls finished. Only when we are more than an interval behind do we start afresh.
    auto next_start = std::max(start + interval, now);
    status_.next_run =
        services_->options.wall_clock() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(next_start - now);
    arm_cycle_timer(next_start);

    note_cycle_progress(*cycle);  // an empty cycle is complete at once
    dispatch_next_poll(cycle);
}

void Worker::arm_cycle_timer(SteadyTime when) {
    cycle_timer_.expires_at(when);
    cycle_timer_.async_wait(
        guarded([this, generation = generation_, when](boost::system::error_code ec) {
            if (ec || generation != generation_ || !running_) return;
            begin_cycle(when);
        }));
}

void Worker::dispatch_next_poll(const std::shared_ptr<Cycle>& cycle) {
    if (cycle->next >= cycle->symbols.size()) return;
    auto cell = scaled(kPollCell);
    auto begins = cell_start(cycle->start + cycle->offsets[cycle->next], cell);
    stagger_timer_.expires_at(begins);
    stagger_timer_.async_wait(guarded([this, cycle, ends = begins + cell,
                                       generation = generation_](boost::system::error_code ec) {
        if (ec || generation != generation_ || !running_) return;
        auto first = cycle->next;
        while (cycle->next < cycle->symbols.size() &&
               cycle->start + cycle->offsets[cycle->next] < ends) {
            ++cycle->next;
        }
        auto last = cycle->next;
        // Arm the next cell first, so a failure starting these cannot stall the cycle.
        dispatch_next_poll(cycle);
        // One symbol's failure to start costs only its own poll, as when each had a cell.
        for (auto i = first; i < last; ++i) {
            const auto& symbol = cycle->symbols[i];  // a cycle's symbols never change
            try {
                start_or_skip(cycle, symbol);
            } catch (const std::exception& e) {
                note_unexpected(symbol + ": " + e.what());
            }
        }
    }));
}

void Worker::start_or_skip(const std::shared_ptr<Cycle>& cycle, const std::string& symbol) {
    if (!std::binary_search(plan_->symbols.begin(), plan_->symbols.end(), symbol)) {
        note_cycle_progress(*cycle);  // removed from the configuration meanwhile
    } else if (services_->options.share && !services_->options.share->owns(type_, symbol)) {
        note_cycle_progress(*cycle);  // another instance holds it
    } else if (polls_.contains(symbol)) {
        skip_poll(*cycle, symbol);
    } else {
        start_poll(cycle, symbol);
    }
}

// A skipped poll is a symbol without its update this cycle: it counts as an error.
void Worker::skip_poll(Cycle& cycle, const std::string& symbol) {
    ++status_.error_count;
    status_.last_error = symbol + ": previous poll still running, skipped this cycle";
    auto& complaint = skips_[symbol];
    if (complaint.should_log()) {
        BOOST_LOG_TRIVIAL(warning)
            << id_ << ": " << symbol << ": previous poll still running, skipping it this cycle ("
            << complaint.count << " time(s) so far)";
    }
    note_cycle_progress(cycle);
}

void Worker::note_cycle_progress(Cycle& cycle) {
    if (cycle.reported || cycle.next < cycle.symbols.size() || cycle.unfinished > 0) return;
    cycle.reported = true;
    status_.last_run = services_->options.wall_clock();
}

void Worker::note_unexpected(const std::string& what) {
    BOOST_LOG_TRIVIAL(error) << id_ << ": unexpected error: " << what;
    ++status_.error_count;
    status_.last_error = what;
    cycle_had_exception_ = true;
    if (running_) status_.status = WorkerState::error;
}

std::chrono::milliseconds Worker::scaled(std::chrono::milliseconds delay) const {
    return scale_delay(delay, services_->options.time_scale);
}

}  // namespace tickerd::scheduler::detail
