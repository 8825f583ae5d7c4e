// Internal to the gateway: what one client may take — connections at once (in all and per
// address, counted from accept to close) and requests per minute (token buckets).
#pragma once

#include "core/result.hpp"
#include "telemetry/telemetry.hpp"

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tickerd::gateway {

// Counts open connections; a connection holds its slot until it closes, whether it stays
// an HTTP connection or becomes a stream.
class ConnectionCounter : public std::enable_shared_from_this<ConnectionCounter> {
  public:
    using Slot = std::shared_ptr<void>;  // releases the count when the last holder lets go

    // `metrics` (owned by the telemetry store, which outlives every connection) is kept in
    // step with the count.
    ConnectionCounter(std::size_t max_total, std::size_t max_per_address,
                      telemetry::ConnectionCounters& metrics);
    // A slot for a connection from `address`, or a 503 naming the limit it is over.
    Result<Slot> admit(const boost::asio::ip::address& address);
    std::size_t open() const;

  private:
    void release(const std::string& address);

    const std::size_t max_total_;
    const std::size_t max_per_address_;
    telemetry::ConnectionCounters& metrics_;
    mutable std::mutex mutex_;
    std::size_t total_ = 0;
    std::unordered_map<std::string, std::size_t> by_address_;
};

// `per_minute` requests, refilled evenly; a minute's worth can be spent at once.
class TokenBucket {
  public:
    using Clock = std::chrono::steady_clock;
    explicit TokenBucket(int per_minute, Clock::time_point now = Clock::now());
    // Zero when the request may go (it is counted); else how long until one may.
    std::chrono::milliseconds take(Clock::time_point now);
    bool full(Clock::time_point now) const;  // unused for a minute: nothing to remember

  private:
    double refill(Clock::time_point now) const;

    int per_minute_;
    double tokens_;
    Clock::time_point last_;
};

// A bucket per key (a credential's name, or an address), shared by every connection. Buckets
// that filled up again are forgotten, so the table stays as small as the active clients.
class RateLimiter {
  public:
    explicit RateLimiter(int per_minute);
    bool enabled() const { return per_minute_ > 0; }
    std::chrono::milliseconds take(const std::string& key);

  private:
    void forget_idle(TokenBucket::Clock::time_point now);

    const int per_minute_;
    std::mutex mutex_;
    std::unordered_map<std::string, TokenBucket> buckets_;
    std::size_t sweep_at_ = 1024;  // table size at which idle buckets are swept
};

}  // namespace tickerd::gateway
