#include "gateway/admission.hpp"

#include <algorithm>
#include <cmath>

namespace tickerd::gateway {

ConnectionCounter::ConnectionCounter(std::size_t max_total, std::size_t max_per_address,
                                     telemetry::ConnectionCounters& metrics)
    : max_total_(max_total), max_per_address_(max_per_address), metrics_(metrics) {}

Result<ConnectionCounter::Slot> ConnectionCounter::admit(const boost::asio::ip::address& address) {
    auto key = address.to_string();
    {
        std::lock_guard lock(mutex_);
        if (total_ >= max_total_) {
            metrics_.refused.add();
            return Error::unavailable("too many connections (limits.max_connections: " +
                                      std::to_string(max_total_) + ")");
        }
        auto& from_here = by_address_[key];
        if (from_here >= max_per_address_) {
            metrics_.refused.add();
            return Error::unavailable(
                "too many connections from " + key +
                " (limits.max_connections_per_ip: " + std::to_string(max_per_address_) + ")");
        }
        ++from_here;
        ++total_;
    }
    metrics_.accepted.add();
    metrics_.open.add(1);
    // The slot keeps the counter alive: a connection may outlive the server by a moment.
    return Slot(nullptr, [self = shared_from_this(), key](void*) { self->release(key); });
}

void ConnectionCounter::release(const std::string& address) {
    metrics_.open.add(-1);
    std::lock_guard lock(mutex_);
    --total_;
    auto it = by_address_.find(address);
    if (it != by_address_.end() && --it->second == 0) by_address_.erase(it);
}

std::size_t ConnectionCounter::open() const {
    std::lock_guard lock(mutex_);
    return total_;
}

TokenBucket::TokenBucket(int per_minute, Clock::time_point now)
    : per_minute_(per_minute), tokens_(per_minute), last_(now) {}

double TokenBucket::refill(Clock::time_point now) const {
    double minutes = std::chrono::duration<double, std::ratio<60>>(now - last_).count();
    return std::min<double>(per_minute_, tokens_ + minutes * per_minute_);
}

std::chrono::milliseconds TokenBucket::take(Clock::time_point now) {
    tokens_ = refill(now);
    last_ = now;
    if (tokens_ >= 1) {
        tokens_ -= 1;
        return std::chrono::milliseconds(0);
    }
    double wait_minutes = (1 - tokens_) / per_minute_;
    return std::chrono::milliseconds(static_cast<long>(std::ceil(wait_minutes * 60'000)));
}

bool TokenBucket::full(Clock::time_point now) const {
    return refill(now) >= per_minute_;
}

RateLimiter::RateLimiter(int per_minute) : per_minute_(per_minute) {}

std::chrono::milliseconds RateLimiter::take(const std::string& key) {
    auto now = TokenBucket::Clock::now();
    std::lock_guard lock(mutex_);
    if (buckets_.size() >= sweep_at_) forget_idle(now);
    auto [it, added] = buckets_.try_emplace(key, per_minute_, now);
    return it->second.take(now);
}

void RateLimiter::forget_idle(TokenBucket::Clock::time_point now) {
    std::erase_if(buckets_, [now](const auto& entry) { return entry.second.full(now); });
    // Sweep again when the table has doubled, so sweeping stays linear in the requests.
    sweep_at_ = std::max<std::size_t>(1024, 2 * buckets_.size());
}

}  // namespace tickerd::gateway
