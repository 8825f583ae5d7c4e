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
        {"timeout_count", status.timeout_count},
        {"current_vendor", optional_text(status.current_vendor)},
        {"last_error", optional_text(status.last_error)},
        {"last_success_at", optional_time(status.last_success_at)},
        {"stalled", status.stalled},
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

std::string_view to_string(BenchReason reason) {
    return name_of(kBenchReasonNames, reason);
}

Bench::Bench(Clock clock) : clock_(std::move(clock)) {}

void Bench::bench(const std::string& vendor, std::chrono::milliseconds duration, BenchReason reason,
                  std::string detail) {
    auto until = clock_() + duration;
    std::lock_guard lock(mutex_);
    auto& entry = entries_[vendor];
    entry.vendor = vendor;
    entry.until = std::max(entry.until, until);
    entry.reason = reason;
    entry.detail = std::move(detail);
}

bool Bench::is_benched(const std::string& vendor) const {
    auto now = clock_();
    std::lock_guard lock(mutex_);
    auto it = entries_.find(vendor);
    return it != entries_.end() && it->second.until > now;
}

std::vector<Benched> Bench::benched() const {
    auto now = clock_();
    std::lock_guard lock(mutex_);
    std::vector<Benched> now_benched;
    for (const auto& [vendor, entry] : entries_) {
        if (entry.until > now) now_benched.push_back(entry);
    }
    return now_benched;
}

void add_health(boost::json::object& instance_json, const VendorHealth& health,
                std::chrono::system_clock::time_point wall_now) {
    instance_json["stuck_calls"] = health.stuck_calls;
    if (!health.benched) {
        instance_json["benched"] = nullptr;
        return;
    }
    auto left = health.benched->until - std::chrono::steady_clock::now();
    auto until = wall_now + std::chrono::duration_cast<std::chrono::system_clock::duration>(left);
    instance_json["benched"] = {{"reason", to_string(health.benched->reason)},
                                {"detail", health.benched->detail},
                                {"until", iso8601_utc(until)}};
}

}  // namespace tickerd::scheduler
