// One poll of one symbol: walk the ranked vendors, attempt after attempt, until one answers.
// The scheduler owns what each error class means (the plugin only classifies):
//   not_found, auth, unsupported  drop the vendor for the rest of this poll
//   rate_limited                  bench the vendor (all workers) and drop it for this poll
//   transient, permanent          try the next vendor; eligible again on the next attempt
//   timed out                     transient, and its thread is written off; a vendor whose
//                                 calls keep timing out is benched as hanging (all workers)
#include "scheduler/worker.hpp"

#include "core/log.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cmath>

namespace tickerd::scheduler::detail {

namespace {

// Bench time when a rate-limited vendor does not say how long to stay away.
constexpr std::chrono::milliseconds kDefaultRetryAfter{std::chrono::seconds(60)};
// A vendor is benched as hanging after this many calls in a row ran past their timeout, or
// as soon as every call it may hold is stuck; it is tried again after the bench.
constexpr int kTimeoutsBeforeBench = 3;
constexpr std::chrono::milliseconds kHangingBench{std::chrono::seconds(60)};

plugins::FetchOutcome fetch_safely(plugins::Instance& instance, DataType type,
                                   const std::string& symbol,
                                   std::chrono::system_clock::time_point deadline,
                                   const plugins::CancelFlag& cancel) {
    plugins::FetchOutcome outcome;
    try {
        return instance.fetch(type, symbol, deadline, cancel);
    } catch (const std::exception& e) {
        outcome.message = std::string("vendor call failed: ") + e.what();
    } catch (...) {
        outcome.message = "vendor call failed with an unknown exception";
    }
    outcome.status = TICKERD_E_PERMANENT;
    return outcome;
}

std::string describe(const plugins::FetchOutcome& outcome) {
    if (!outcome.message.empty()) return outcome.message;
    return std::string(plugins::status_name(outcome.status));
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

}  // namespace

template <class Fn>
auto Worker::guarded_poll(std::shared_ptr<Poll> poll, Fn fn) {
    return guarded([this, poll = std::move(poll), fn = std::move(fn)](auto&&... args) mutable {
        try {
            fn(std::forward<decltype(args)>(args)...);
        } catch (const std::exception& e) {
            note_unexpected(e.what());
            if (!poll->finished) fail_poll(poll, std::string("internal error: ") + e.what());
        }
    });
}

void Worker::start_poll(const std::shared_ptr<Cycle>& cycle, const std::string& symbol) {
    auto snapshot = services_->state.snapshot();
    auto poll = std::make_shared<Poll>(strand_, symbol, cycle);
    poll->cadence = snapshot->cadence(type_);
    poll->global = snapshot->global;

    auto ranked = services_->plugins.ranked_for(type_);
    if (!ranked.empty()) poll->primary = ranked.front()->name();
    if (!poll->cadence.vendor_fallback && ranked.size() > 1) ranked.resize(1);
    poll->chain = std::move(ranked);
    int retries = std::min(poll->cadence.retry_attempts, poll->global.max_retries);
    poll->attempts = 1 + std::clamp(retries, 0, 100);

    polls_[symbol] = poll;
    ++cycle->unfinished;
    begin_attempt(poll);
}

void Worker::begin_attempt(const std::shared_ptr<Poll>& poll) {
    poll->next_vendor = 0;
    if (!any_eligible(*poll)) {
        fail_poll(poll, poll->last_failure.value_or(no_vendor_message(*poll)));
        return;
    }
    call_next_vendor(poll);
}

void Worker::call_next_vendor(const std::shared_ptr<Poll>& poll) {
    while (poll->next_vendor < poll->chain.size()) {
        const auto& instance = poll->chain[poll->next_vendor++];
        if (eligible(*poll, *instance)) {
            call_vendor(poll, instance);
            return;
        }
    }
    on_attempt_failed(poll);
}

void Worker::call_vendor(const std::shared_ptr<Poll>& poll, const plugins::InstancePtr& instance) {
    auto call = std::make_shared<Call>(strand_, instance);
    poll->call = call;
    auto timeout = std::chrono::milliseconds(std::max(instance->timeout_ms(), 1));
    // Armed before the thread starts (which may take a while on a loaded machine), so it
    // expires with the deadline the plugin sees. Its handler cannot run before this returns.
    call->expires = std::chrono::steady_clock::now() + timeout;
    call->timeout.expires_at(call->expires);
    call->timeout.async_wait(guarded_poll(poll, [this, poll, call](boost::system::error_code ec) {
        if (!ec) on_call_timeout(poll, call);
    }));
    start_call_thread(poll, call, std::chrono::system_clock::now() + timeout);
}

// The blocking call runs on a thread of its instance's own; its outcome comes back to the
// strand. The thread holds only what the call needs and weak references to the worker's
// state: a call that never returns must not keep the worker (and its timers) alive.
void Worker::start_call_thread(const std::shared_ptr<Poll>& poll, const std::shared_ptr<Call>& call,
                               std::chrono::system_clock::time_point deadline) {
    auto job = [instance = call->instance, cancel = call->cancel, type = type_,
                symbol = poll->symbol,
                deadline] { return fetch_safely(*instance, type, symbol, deadline, *cancel); };
    auto deliver = [weak_self = weak_from_this(), weak_poll = std::weak_ptr<Poll>(poll),
                    weak_call = std::weak_ptr<Call>(call)](plugins::FetchOutcome outcome) {
        auto self = weak_self.lock();
        auto poll = weak_poll.lock();
        auto call = weak_call.lock();
        if (!self || !poll || !call) return;
        boost::asio::post(
            self->strand_,
            self->guarded_poll(poll, [self, poll, call, outcome = std::move(outcome)]() mutable {
                self->on_call_done(poll, call, std::move(outcome));
            }));
    };
    auto ticket = services_->threads.start(call->instance, std::move(job), std::move(deliver));
    if (ticket) {
        call->ticket = *ticket;
        return;
    }
    // Turned away at once, as the plugin's own busy answer would be: the next vendor's turn.
    call->done = true;
    call->timeout.cancel();
    plugins::FetchOutcome outcome;
    outcome.status = TICKERD_E_TRANSIENT;
    outcome.message = ticket.error().detail;
    bench_if_hanging(*call->instance, services_->threads.load(*call->instance));
    record_call(*poll, *call, outcome);
    on_call_failed(poll, *call, outcome);
}

void Worker::on_call_done(const std::shared_ptr<Poll>& poll, const std::shared_ptr<Call>& call,
                          plugins::FetchOutcome outcome) {
    if (call->done || poll->finished) return;  // it timed out earlier: ignore the late answer
    // A failure that comes after the deadline is the timeout's, whichever of the two reached
    // the strand first: the plugin saw the deadline pass (as cancellation) when the timer did.
    bool late = std::chrono::steady_clock::now() >= call->expires;
    if (late && outcome.status != TICKERD_OK) {
        on_call_timeout(poll, call);
        return;
    }
    if (!late) services_->threads.answered_in_time(*call->ticket);
    call->done = true;
    call->timeout.cancel();
    call->latency_ms = milliseconds_since(call->started);

    if (outcome.status == TICKERD_OK) {
        boost::system::error_code ec;
        auto value = boost::json::parse(outcome.json, ec);
        if (!ec && value.is_object()) {
            record_call(*poll, *call, outcome);
            publish(*poll, *call, std::move(value.get_object()));
            finish_poll(poll);
            return;
        }
        outcome.status = TICKERD_E_PERMANENT;
        outcome.message =
            "vendor returned invalid JSON: " + (ec ? ec.message() : std::string("not an object"));
    }
    record_call(*poll, *call, outcome);
    on_call_failed(poll, *call, outcome);
}

void Worker::on_call_timeout(const std::shared_ptr<Poll>& poll, const std::shared_ptr<Call>& call) {
    if (call->done || poll->finished) return;
    call->done = true;
    call->cancel->cancelled = true;  // a well-behaved plugin sees it and stops
    call->latency_ms = milliseconds_since(call->started);
    plugins::FetchOutcome outcome;
    outcome.status = TICKERD_E_TRANSIENT;
    outcome.message = "timed out after " + std::to_string(call->instance->timeout_ms()) + " ms";
    note_timeout(*poll, *call, outcome.message);
    record_call(*poll, *call, outcome);
    on_call_failed(poll, *call, outcome);
}

// Its answer is ignored from now on and its thread written off. A timeout counts as an error
// even when a fallback vendor answers the poll: a vendor that hangs is never a blip.
void Worker::note_timeout(const Poll& poll, const Call& call, const std::string& message) {
    ++status_.timeout_count;
    ++status_.error_count;
    status_.last_error = poll.symbol + ": " + call.instance->name() + ": " + message;
    bench_if_hanging(*call.instance, services_->threads.write_off(*call.ticket));
}

void Worker::bench_if_hanging(const plugins::Instance& instance, const LaneLoad& load) {
    const std::string& vendor = instance.name();
    bool all_stuck = load.limit > 0 && load.written_off >= load.limit;
    if (services_->bench.is_benched(vendor)) return;
    if (load.timeouts_in_a_row < kTimeoutsBeforeBench && !all_stuck) return;
    std::string detail =
        std::to_string(load.timeouts_in_a_row) + " call(s) in a row ran past its timeout_ms (" +
        std::to_string(instance.timeout_ms()) + " ms); " + std::to_string(load.written_off) +
        " of the " + std::to_string(load.limit) + " calls it may hold are stuck";
    services_->bench.bench(vendor, kHangingBench, BenchReason::hanging, detail);
    BOOST_LOG_TRIVIAL(warning) << id_ << ": vendor " << vendor << " benched for "
                               << kHangingBench.count() / 1000 << " s as hanging: " << detail;
}

void Worker::on_call_failed(const std::shared_ptr<Poll>& poll, const Call& call,
                            const plugins::FetchOutcome& outcome) {
    const std::string& vendor = call.instance->name();
    switch (outcome.status) {
        case TICKERD_E_NOT_FOUND:
        case TICKERD_E_AUTH:
        case TICKERD_E_UNSUPPORTED:
            poll->dropped.insert(vendor);
            break;
        case TICKERD_E_RATE_LIMITED: {
            auto retry_after = outcome.retry_after_ms > 0
                                   ? std::chrono::milliseconds(outcome.retry_after_ms)
                                   : kDefaultRetryAfter;
            services_->bench.bench(vendor, retry_after, BenchReason::rate_limited,
                                   describe(outcome));
            poll->dropped.insert(vendor);
            BOOST_LOG_TRIVIAL(info) << id_ << ": vendor " << vendor << " rate limited, benched for "
                                    << retry_after.count() << " ms";
            break;
        }
        default:  // transient, permanent, anything unknown: the next vendor
            break;
    }
    poll->last_failure = vendor + ": " + describe(outcome);
    if (!running_) {
        finish_poll(poll);  // stopped: the call in flight was allowed to end, nothing new
        return;
    }
    call_next_vendor(poll);
}

void Worker::on_attempt_failed(const std::shared_ptr<Poll>& poll) {
    if (!running_) {
        finish_poll(poll);
        return;
    }
    bool retry_left = poll->attempt + 1 < poll->attempts;
    if (!retry_left || !any_eligible(*poll)) {
        fail_poll(poll, poll->last_failure.value_or(no_vendor_message(*poll)));
        return;
    }
    auto delay =
        scaled(retry_delay(poll->attempt + 1, poll->cadence.retry_backoff_multiplier, rng_));
    poll->backoff.expires_after(delay);
    poll->backoff.async_wait(guarded_poll(poll, [this, poll](boost::system::error_code ec) {
        if (ec || !running_) {
            finish_poll(poll);  // stopped while waiting to retry
            return;
        }
        ++poll->attempt;
        begin_attempt(poll);
    }));
}

void Worker::publish(Poll& poll, const Call& call, boost::json::object data) {
    const std::string& vendor = call.instance->name();
    bus::Envelope envelope{type_,
                           poll.symbol,
                           vendor,
                           std::move(data),
                           poll.attempt,
                           vendor != poll.primary,
                           call.latency_ms,
                           services_->options.instance,
                           call.instance->simulated()};
    auto channel = channel_name(type_, poll.symbol);
    if (const auto& share = services_->options.share)
        services_->bus.sequencer().continue_after(channel, share->seq_floor(channel));
    auto published = services_->bus.sequencer().publish_next(channel, [&](uint64_t seq) {
        auto message = bus::make_message(envelope, seq, services_->options.wall_clock());
        // Counted first: a subscriber seeing the message may already read the count.
        services_->telemetry.metrics().count_published(to_string(type_), poll.symbol);
        services_->bus.publish(message, latest_ttl(poll.global, &poll.cadence));
        return message->timestamp;
    });
    if (type_ == DataType::market_data)
        services_->market_data_published(poll.symbol, envelope.data, published);

    ++status_.success_count;
    status_.current_vendor = vendor;
    status_.last_success_at = services_->options.wall_clock();
    delivering_since_ = std::chrono::steady_clock::now();
    errors_at_delivery_ = status_.error_count;
    if (auto it = failures_.find(poll.symbol); it != failures_.end()) {
        BOOST_LOG_TRIVIAL(info) << id_ << ": " << poll.symbol << ": recovered after "
                                << it->second.count << " failed poll(s)";
        failures_.erase(it);
    }
}

void Worker::record_call(const Poll& poll, const Call& call, const plugins::FetchOutcome& outcome) {
    telemetry::Record record;
    record.vendor = call.instance->name();
    record.data_type = type_;
    record.symbol = poll.symbol;
    record.timestamp = services_->options.wall_clock();
    record.success = outcome.status == TICKERD_OK;
    record.latency_ms = call.latency_ms;
    if (!record.success) {
        record.error = describe(outcome);
        record.error_class = std::string(plugins::status_name(outcome.status));
    }
    record.retry_count = poll.attempt;
    record.fallback_used = record.vendor != poll.primary;
    record.worker_id = id_;
    record.instance = services_->options.instance;
    services_->telemetry.record(std::move(record));
}

bool Worker::eligible(const Poll& poll, const plugins::Instance& instance) const {
    return !poll.dropped.contains(instance.name()) && !services_->bench.is_benched(instance.name());
}

bool Worker::any_eligible(const Poll& poll) const {
    return std::any_of(poll.chain.begin(), poll.chain.end(),
                       [&](const auto& instance) { return eligible(poll, *instance); });
}

std::string Worker::no_vendor_message(const Poll& poll) const {
    std::string message = "no vendor available for " + std::string(to_string(type_));
    if (poll.chain.empty()) return message + " (none configured)";
    std::size_t benched = 0;
    std::size_t dropped = 0;
    for (const auto& instance : poll.chain) {
        if (services_->bench.is_benched(instance->name())) {
            ++benched;
        } else if (poll.dropped.contains(instance->name())) {
            ++dropped;
        }
    }
    std::string why;
    if (benched > 0) why = std::to_string(benched) + " benched";
    if (dropped > 0) {
        if (!why.empty()) why += ", ";
        why += std::to_string(dropped) + " gave up on this symbol";
    }
    return why.empty() ? message : message + " (" + why + ")";
}

void Worker::fail_poll(const std::shared_ptr<Poll>& poll, const std::string& error) {
    ++status_.error_count;
    status_.last_error = poll->symbol + ": " + error;
    auto& complaint = failures_[poll->symbol];
    if (complaint.should_log()) {
        BOOST_LOG_TRIVIAL(warning) << id_ << ": poll failed: " << *status_.last_error << " ("
                                   << complaint.count << " failure(s) in a row)";
    }
    finish_poll(poll);
}

void Worker::finish_poll(const std::shared_ptr<Poll>& poll) {
    if (poll->finished) return;
    poll->finished = true;
    poll->backoff.cancel();
    if (auto it = polls_.find(poll->symbol); it != polls_.end() && it->second == poll) {
        polls_.erase(it);
    }
    --poll->cycle->unfinished;
    note_cycle_progress(*poll->cycle);
}

}  // namespace tickerd::scheduler::detail
