// Per-instance threads for vendor calls: admission against each instance's own limit, the
// threads that wait for their instance's next call, the written-off bookkeeping, and the gate
// that stops late outcomes once the scheduler closes.
#include "scheduler/vendor_threads.hpp"

#include <algorithm>
#include <deque>
#include <iterator>
#include <optional>
#include <thread>
#include <vector>

namespace tickerd::scheduler::detail {

struct VendorThreads::Ticket {
    std::shared_ptr<Lane> lane;
    bool queued = false;  // waiting for one of its instance's threads
    bool written_off = false;
    bool returned = false;
};

struct VendorThreads::Call {
    TicketPtr ticket;
    Job job;
    Deliver deliver;
};

// A thread waiting for its lane's next call; it lives on that thread's stack.
struct VendorThreads::Waiting {
    std::condition_variable wake;
    std::optional<Call> next;  // handed over by start()
    bool leave = false;        // the lane was replaced, or the scheduler closed
};

// One instance's share. Kept per instance object: a reloaded instance starts with a fresh
// share, while its predecessor's stuck calls stay counted on the old one.
struct VendorThreads::Lane {
    std::weak_ptr<const plugins::Instance> instance;
    LaneLoad load;
    bool retired = false;           // replaced by a reloaded instance's lane
    std::vector<Waiting*> waiting;  // the last one in has the warmest stack: it goes first
    std::deque<Call> queued;        // calls that came while all its calls were taken, in order

    void dismiss_waiting() {
        for (auto* thread : waiting) {
            thread->leave = true;
            thread->wake.notify_one();
        }
        waiting.clear();
    }
};

// Everything a call's thread touches after its job returns, kept alive by that thread.
struct VendorThreads::Shared {
    explicit Shared(std::chrono::milliseconds life) : idle_life(life) {}

    const std::chrono::milliseconds idle_life;  // of a thread waiting for its lane's next call
    mutable std::mutex mutex;
    std::condition_variable idle;
    bool open = true;
    int running = 0;  // calls on their threads
    int awaited = 0;  // calls running or in line that were not written off

    // Under the mutex: `calls` of the awaited returned, were written off or dropped.
    void no_longer_awaited(int calls = 1) {
        awaited -= calls;
        if (awaited == 0) idle.notify_all();
    }

    std::map<std::string, std::shared_ptr<Lane>> lanes;  // by instance name
};

namespace {

// The vendor-call thread's net: nothing may escape a detached thread (it would end the
// daemon). Should handing the outcome over fail (out of memory), the call's timeout ends
// its poll instead.
void deliver_safely(const VendorThreads::Deliver& deliver, plugins::FetchOutcome outcome) {
    try {
        deliver(std::move(outcome));
    } catch (...) {
    }
}

}  // namespace

VendorThreads::VendorThreads(std::chrono::milliseconds idle_life)
    : shared_(std::make_shared<Shared>(idle_life)) {}

VendorThreads::~VendorThreads() {
    close();
}

std::shared_ptr<VendorThreads::Lane> VendorThreads::lane_for(const plugins::InstancePtr& instance) {
    auto& lane = shared_->lanes[instance->name()];
    if (!lane || lane->instance.lock() != instance) {
        if (lane) {
            lane->retired = true;
            lane->dismiss_waiting();
        }
        lane = std::make_shared<Lane>();
        lane->instance = instance;
        lane->load.limit = instance->concurrency_limit();
    }
    return lane;
}

Result<VendorThreads::TicketPtr> VendorThreads::start(const plugins::InstancePtr& instance, Job job,
                                                      Deliver deliver) {
    std::lock_guard lock(shared_->mutex);
    if (!shared_->open) return Error::unavailable("the scheduler is shutting down");
    auto lane = lane_for(instance);
    auto& load = lane->load;
    if (load.written_off >= load.limit) {
        return Error::unavailable("all " + std::to_string(load.limit) +
                                  " of its calls are stuck past their timeout");
    }
    bool full = load.running >= load.limit || !lane->queued.empty();
    if (full && static_cast<int>(lane->queued.size()) >= load.limit) {
        return Error::unavailable("busy: " + std::to_string(load.limit) +
                                  " calls already in flight and as many waiting");
    }
    Call call{std::make_shared<Ticket>(), std::move(job), std::move(deliver)};
    call.ticket->lane = lane;
    auto ticket = call.ticket;
    if (full) {
        // The first of its threads to finish a call takes it (wait_for_next); its timeout runs
        // meanwhile, and one that passes while it waits drops it from the line.
        ticket->queued = true;
        lane->queued.push_back(std::move(call));
        ++shared_->awaited;
        return ticket;
    }
    if (!lane->waiting.empty()) {
        Waiting* thread = lane->waiting.back();
        lane->waiting.pop_back();
        thread->next = std::move(call);
        thread->wake.notify_one();
    } else {
        try {
            std::thread(&VendorThreads::serve, shared_, std::move(call)).detach();
        } catch (const std::system_error& e) {
            return Error::unavailable(std::string("no thread for the call: ") + e.what());
        }
    }
    ++load.running;
    ++shared_->running;
    ++shared_->awaited;
    return ticket;
}

void VendorThreads::serve(std::shared_ptr<Shared> shared, Call call) {
    do {
        run_call(*shared, call);
    } while (wait_for_next(*shared, call));
}

void VendorThreads::run_call(Shared& shared, Call& call) {
    auto outcome = call.job();
    // The instance (and its library) goes here, outside the lock: its destructor runs plugin
    // code when it was replaced while the call ran.
    call.job = nullptr;
    std::lock_guard lock(shared.mutex);
    auto& load = call.ticket->lane->load;
    call.ticket->returned = true;
    if (call.ticket->written_off) {
        --load.written_off;
    } else {
        if (shared.open) deliver_safely(call.deliver, std::move(outcome));
        shared.no_longer_awaited();
    }
    // What `deliver` holds goes under the lock too, while the caller's state still exists.
    call.deliver = nullptr;
    --load.running;
    --shared.running;
}

// After a call: takes the lane's first queued call, else waits for its next one unless
// enough of its threads wait already. False when the thread should end (its idle life is
// over, the lane retired or closed).
bool VendorThreads::wait_for_next(Shared& shared, Call& call) {
    std::unique_lock lock(shared.mutex);
    auto lane = call.ticket->lane;
    call.ticket = nullptr;
    if (shared.open && !lane->queued.empty()) {
        call = std::move(lane->queued.front());
        lane->queued.pop_front();
        call.ticket->queued = false;
        ++lane->load.running;
        ++shared.running;
        return true;
    }
    if (!shared.open || lane->retired ||
        static_cast<int>(lane->waiting.size()) >= lane->load.limit) {
        return false;
    }
    Waiting me;
    try {
        lane->waiting.push_back(&me);
    } catch (const std::bad_alloc&) {
        return false;  // out of memory: end the thread rather than let anything escape it
    }
    me.wake.wait_for(lock, shared.idle_life, [&me] { return me.next || me.leave; });
    if (!me.next) {
        std::erase(lane->waiting, &me);  // idle life over (one told to leave is gone already)
        return false;
    }
    call = std::move(*me.next);
    return true;
}

LaneLoad VendorThreads::write_off(Ticket& ticket) {
    std::deque<Call> dropped;  // a queued call's instance goes after the lock, as in run_call
    std::lock_guard lock(shared_->mutex);
    auto& load = ticket.lane->load;
    ++load.timeouts_in_a_row;
    if (ticket.queued) {  // never started: out of the line, and no thread holds it
        auto& line = ticket.lane->queued;
        auto it = std::find_if(line.begin(), line.end(), [&ticket](const Call& call) {
            return call.ticket.get() == &ticket;
        });
        if (it != line.end()) {
            dropped.push_back(std::move(*it));
            line.erase(it);
        }
        ticket.queued = false;
        ticket.returned = true;
        shared_->no_longer_awaited();
        return load;
    }
    if (!ticket.returned && !ticket.written_off) {
        ticket.written_off = true;
        ++load.written_off;
        shared_->no_longer_awaited();
    }
    return load;
}

void VendorThreads::answered_in_time(Ticket& ticket) {
    std::lock_guard lock(shared_->mutex);
    ticket.lane->load.timeouts_in_a_row = 0;
}

LaneLoad VendorThreads::load(const plugins::Instance& instance) const {
    std::lock_guard lock(shared_->mutex);
    auto it = shared_->lanes.find(instance.name());
    if (it == shared_->lanes.end() || it->second->instance.lock().get() != &instance) {
        return LaneLoad{instance.concurrency_limit()};
    }
    return it->second->load;
}

std::map<std::string, int> VendorThreads::stuck_calls() const {
    std::lock_guard lock(shared_->mutex);
    std::map<std::string, int> stuck;
    for (const auto& [name, lane] : shared_->lanes) {
        if (lane->load.written_off > 0) stuck[name] = lane->load.written_off;
    }
    return stuck;
}

bool VendorThreads::wait_idle(std::chrono::milliseconds limit) {
    std::unique_lock lock(shared_->mutex);
    return shared_->idle.wait_for(lock, limit, [this] { return shared_->awaited == 0; });
}

int VendorThreads::close() {
    std::deque<Call> dropped;  // never started: their outcomes are nobody's now
    std::lock_guard lock(shared_->mutex);
    shared_->open = false;
    for (auto& [name, lane] : shared_->lanes) {
        lane->dismiss_waiting();
        shared_->no_longer_awaited(static_cast<int>(lane->queued.size()));
        std::move(lane->queued.begin(), lane->queued.end(), std::back_inserter(dropped));
        lane->queued.clear();
    }
    return shared_->running;
}

}  // namespace tickerd::scheduler::detail
