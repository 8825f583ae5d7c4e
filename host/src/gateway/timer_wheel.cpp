#include "gateway/timer_wheel.hpp"

#include "gateway/chunks.hpp"
#include "gateway/send_batch.hpp"

namespace tickerd::gateway {

namespace asio = boost::asio;

TimerWheel::TimerWheel(asio::io_context& io) : strand_(asio::make_strand(io)), timer_(strand_) {}

uint64_t TimerWheel::tick_of(Clock::time_point when) const {
    if (when <= epoch_) return 0;
    auto ticks = (when - epoch_ + kTick - Clock::duration(1)) / kTick;
    return static_cast<uint64_t>(ticks);
}

void TimerWheel::schedule(std::weak_ptr<WheelClient> client, uint64_t generation,
                          Clock::time_point when) {
    std::lock_guard lock(mutex_);
    // Never in a tick already handled: the next one at the earliest.
    auto tick = std::max(tick_of(when), done_ + 1);
    slots_[tick % kSlots].push_back({std::move(client), generation, tick});
    ++count_;
    arm();
}

std::size_t TimerWheel::scheduled() const {
    std::lock_guard lock(mutex_);
    return count_;
}

// The timer runs only while entries wait, so an idle daemon has nothing ticking.
void TimerWheel::arm() {
    if (ticking_ || count_ == 0) return;
    ticking_ = true;
    timer_.expires_at(epoch_ + kTick * static_cast<int64_t>(done_ + 1));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->on_tick();
    });
}

// Handles every tick up to now (several after a stall), then calls what is due outside the
// lock: a client may schedule again from its callback.
void TimerWheel::on_tick() {
    auto firing = std::make_shared<std::vector<Entry>>();
    {
        std::lock_guard lock(mutex_);
        ticking_ = false;
        auto now = static_cast<uint64_t>((Clock::now() - epoch_) / kTick);  // the last begun
        while (done_ < now) {
            ++done_;
            std::erase_if(slots_[done_ % kSlots], [&](Entry& entry) {
                if (entry.tick > done_) return false;  // a later turn
                firing->push_back(std::move(entry));
                return true;
            });
        }
        count_ -= firing->size();
        arm();
    }
    // Inside a send batch, as a writer list runs: the pings of the quiet links due in one
    // tick go out in one submission, not a sendmsg() each.
    run_in_chunks<SendBatch>(
        strand_, std::move(firing), 0, kChunk,
        [](const Entry& entry) {
            if (auto client = entry.client.lock()) client->due(entry.generation);
        },
        [](const std::vector<Entry>&) {});
}

}  // namespace tickerd::gateway
