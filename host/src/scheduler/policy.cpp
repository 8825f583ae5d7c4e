// The scheduler's pure policy: worker states, backoff, stagger, the rate-limit bench and the
// status JSON. Nothing here waits or touches the I/O threads.
#include "core/enum_names.hpp"
#include "scheduler/scheduler.hpp"

#include <algorithm>
#include <cmath>

namespace tickerd::scheduler {

namespace {

constexpr double kMaxRetryDelaySeconds = 60;

boost::json::value optional_time(const std::optional<std::chrono::system_clock::time_point>& t) {
    if (!t) return nullptr;
    return boost::json::string(iso8601_utc(*t));
}

boost::json::value optional_text(const std::optional<std::string>& text) {
    if (!text) return nullptr;
    return boost::json::string(*text);
}

}  // namespace

std::string_view to_string(WorkerState state) {
    return name_of(kWorkerStateNames, state);
}

boost::json::object to_json(const WorkerStatus& status) {
    boost::json::object out{
        {"worker_id", status.worker_id},
        {"data_type", to_string(status.data_type)},
        {"status", to_string(status.status)},
        {"last_run", optional_time(status.last_run)},
        {"next_run", optional_time(status.next_run)},
        {"success_count", status.success_count},
        {"error_count", status.error_count},
        {"current_vendor", optional_text(status.current_vendor)},
        {"last_error", optional_text(status.last_error)},
        {"polls_in_flight", status.polls_in_flight},
    };
    if (status.instance) out["instance"] = *status.instance;
    if (status.leases_held) out["leases_held"] = *status.leases_held;
    return out;
}

std::chrono::milliseconds retry_delay_without_jitter(int retry, double multiplier) {
    double seconds = std::pow(multiplier, std::max(retry, 1));
    // NaN (a nonsense multiplier) and anything past the cap both end up at the cap.
    if (!(seconds <= kMaxRetryDelaySeconds)) seconds = kMaxRetryDelaySeconds;
    seconds = std::max(seconds, 0.0);
    return std::chrono::milliseconds(std::llround(seconds * 1000));
}

std::chrono::milliseconds retry_delay(int retry, double multiplier, std::mt19937_64& rng) {
    // Equal jitter: half the delay is fixed so retries never come back at once, the other
    // half is random so vendors are not hit by every worker in lockstep.
    auto base = retry_delay_without_jitter(retry, multiplier).count();
    auto half = base / 2;
    std::uniform_int_distribution<long long> jitter(0, base - half);
    return std::chrono::milliseconds(half + jitter(rng));
}

std::vector<std::chrono::milliseconds> stagger_offsets(std::size_t polls,
                                                       std::chrono::milliseconds interval) {
    std::vector<std::chrono::milliseconds> offsets;
    offsets.reserve(polls);
    for (std::size_t i = 0; i < polls; ++i) {
        offsets.emplace_back(interval.count() * static_cast<long long>(i) /
                             static_cast<long long>(polls));
    }
    return offsets;
}

std::chrono::milliseconds scale_delay(std::chrono::milliseconds delay, double time_scale) {
    auto scaled = std::llround(static_cast<double>(delay.count()) * time_scale);
    return std::chrono::milliseconds(std::max<long long>(scaled, 1));
}

Bench::Bench(Clock clock) : clock_(std::move(clock)) {}

void Bench::bench(const std::string& vendor, std::chrono::milliseconds retry_after) {
    auto until = clock_() + retry_after;
    std::lock_guard lock(mutex_);
    auto& current = until_[vendor];
    current = std::max(current, until);
}

bool Bench::is_benched(const std::string& vendor) const {
    auto now = clock_();
    std::lock_guard lock(mutex_);
    auto it = until_.find(vendor);
    return it != until_.end() && it->second > now;
}

}  // namespace tickerd::scheduler
