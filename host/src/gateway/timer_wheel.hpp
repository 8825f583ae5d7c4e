// One clock for every stream's keepalive and closing deadline: a timing wheel that ticks
// every kTick while anything is scheduled, instead of a timer per connection. With a timer
// each, 10,000 idle streams meant an epoll wake-up, a timerfd re-arm and a timer-heap
// operation per keepalive (about 700 a second); the wheel wakes four times a second and
// hands every stream due at once to its own strand. Precision is a tick, which keepalives
// (seconds) and deadlines (seconds) do not notice.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace tickerd::gateway {

// What the wheel calls back: `due` runs on the wheel's strand, on an I/O thread; it may run
// its work there and then (on a strand of its own) or hand it over. `generation` is the one
// given to schedule(); a newer schedule (or a cancellation) makes an older one stale, which
// the callee checks.
class WheelClient {
  public:
    virtual ~WheelClient() = default;
    virtual void due(uint64_t generation) = 0;
};

class TimerWheel : public std::enable_shared_from_this<TimerWheel> {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kTick = std::chrono::milliseconds(250);

    explicit TimerWheel(boost::asio::io_context& io);

    // Any thread: calls `client->due(generation)` in the first tick at or after `when`
    // (unless the client is gone by then).
    void schedule(std::weak_ptr<WheelClient> client, uint64_t generation, Clock::time_point when);
    std::size_t scheduled() const;  // entries waiting, stale ones included

  private:
    struct Entry {
        std::weak_ptr<WheelClient> client;
        uint64_t generation;
        uint64_t tick;  // the tick it is due in
    };
    // 256 slots of 250 ms: a minute and more per turn; an entry further out waits in its
    // slot for the turns in between.
    static constexpr std::size_t kSlots = 256;
    static constexpr std::size_t kChunk = 256;  // clients called by one handler (chunks.hpp)

    uint64_t tick_of(Clock::time_point when) const;  // rounded up
    void arm();                                      // under mutex_
    void on_tick();

    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    boost::asio::steady_timer timer_;
    const Clock::time_point epoch_ = Clock::now();

    mutable std::mutex mutex_;
    std::vector<std::vector<Entry>> slots_{kSlots};
    uint64_t done_ = 0;  // ticks handled so far
    std::size_t count_ = 0;
    bool ticking_ = false;
};

}  // namespace tickerd::gateway
