// Capped exponential backoff with equal jitter — half of each delay fixed, half random — so
// several instances failing together do not retry in step. The Redis links reconnect with it,
// the shared config's refused writes are retried with it.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace tickerd {

class Backoff {
  public:
    Backoff(std::chrono::milliseconds first, std::chrono::milliseconds cap)
        : first_(first), cap_(cap), current_(first) {}

    // The delay before the next attempt; the one after it will be twice as long, up to the cap.
    std::chrono::milliseconds next() {
        auto half = current_ / 2;
        std::uniform_int_distribution<long long> jitter(0, (current_ - half).count());
        auto delay = half + std::chrono::milliseconds(jitter(rng_));
        current_ = std::min(current_ * 2, cap_);
        return delay;
    }
    void reset() { current_ = first_; }
    // Whether a delay was handed out since the last reset (attempts are failing).
    bool backing_off() const { return current_ != first_; }

  private:
    std::chrono::milliseconds first_, cap_, current_;
    std::mt19937 rng_{std::random_device{}()};
};

}  // namespace tickerd
