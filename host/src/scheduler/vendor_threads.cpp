// Per-instance threads for vendor calls: admission against each instance's own limit, the
// written-off bookkeeping, and the gate that stops late outcomes once the scheduler closes.
#include "scheduler/vendor_threads.hpp"

#include <thread>

namespace tickerd::scheduler::detail {

// One instance's share. Kept per instance object: a reloaded instance starts with a fresh
// share, while its predecessor's stuck calls stay counted on the old one.
struct VendorThreads::Lane {
    std::weak_ptr<const plugins::Instance> instance;
    LaneLoad load;
};

struct VendorThreads::Ticket {
    std::shared_ptr<Lane> lane;
    bool written_off = false;
    bool returned = false;
};

// Everything a call's thread touches after its job returns, kept alive by that thread.
struct VendorThreads::Shared {
    mutable std::mutex mutex;
    std::condition_variable idle;
    bool open = true;
    int running = 0;  // calls on their threads
    int awaited = 0;  // of them, the ones not written off

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

VendorThreads::VendorThreads() : shared_(std::make_shared<Shared>()) {}

VendorThreads::~VendorThreads() {
    close();
}

std::shared_ptr<VendorThreads::Lane> VendorThreads::lane_for(const plugins::InstancePtr& instance) {
    auto& lane = shared_->lanes[instance->name()];
    if (!lane || lane->instance.lock() != instance) {
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
    if (load.running >= load.limit) {
        if (load.written_off >= load.limit) {
            return Error::unavailable("all " + std::to_string(load.limit) +
                                      " of its calls are stuck past their timeout");
        }
        return Error::unavailable("busy: " + std::to_string(load.limit) +
                                  " calls already in flight");
    }
    auto ticket = std::make_shared<Ticket>();
    ticket->lane = lane;
    try {
        std::thread(&VendorThreads::run_call, shared_, ticket, std::move(job), std::move(deliver))
            .detach();
    } catch (const std::system_error& e) {
        return Error::unavailable(std::string("no thread for the call: ") + e.what());
    }
    ++load.running;
    ++shared_->running;
    ++shared_->awaited;
    return ticket;
}

void VendorThreads::run_call(std::shared_ptr<Shared> shared, TicketPtr ticket, Job job,
                             Deliver deliver) {
    auto outcome = job();
    // The instance (and its library) goes here, outside the lock: its destructor runs plugin
    // code when it was replaced while the call ran.
    job = nullptr;
    std::lock_guard lock(shared->mutex);
    auto& load = ticket->lane->load;
    ticket->returned = true;
    if (ticket->written_off) {
        --load.written_off;
    } else {
        if (shared->open) deliver_safely(deliver, std::move(outcome));
        if (--shared->awaited == 0) shared->idle.notify_all();
    }
    // What `deliver` holds goes under the lock too, while the caller's state still exists.
    deliver = nullptr;
    --load.running;
    --shared->running;
}

LaneLoad VendorThreads::write_off(Ticket& ticket) {
    std::lock_guard lock(shared_->mutex);
    auto& load = ticket.lane->load;
    ++load.timeouts_in_a_row;
    if (!ticket.returned && !ticket.written_off) {
        ticket.written_off = true;
        ++load.written_off;
        if (--shared_->awaited == 0) shared_->idle.notify_all();
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
    std::lock_guard lock(shared_->mutex);
    shared_->open = false;
    return shared_->running;
}

}  // namespace tickerd::scheduler::detail
