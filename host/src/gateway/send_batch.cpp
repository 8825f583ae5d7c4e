#include "gateway/send_batch.hpp"

#include "core/log.hpp"

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <mutex>
#include <utility>

namespace tickerd::gateway {

namespace {

std::atomic<bool> g_enabled{true};
std::atomic<std::uint64_t> g_sends_batched{0};  // counted once a batch, not once a send

// Sends one batch holds at most: a chunk of wake-ups (writer_wakeups.hpp, 256 streams) starts
// one write each. The submission queue has as many entries, the completion queue twice that.
constexpr unsigned kCapacity = 256;

// With MSG_DONTWAIT the kernel completes every send during the submission itself; this only
// bounds the wait for one it did not, which would be a kernel's bug.
constexpr auto kCompletionWait = std::chrono::seconds(1);

// One I/O thread's ring, opened on the thread's first batch.
class Ring {
  public:
    static Ring* of_this_thread();  // null when io_uring cannot be used here
    ~Ring() {
        if (!broken_) io_uring_queue_exit(&ring_);
    }

    bool queue(int socket, const std::vector<boost::asio::const_buffer>& buffers,
               std::shared_ptr<BatchedSender> sender);
    void flush();  // submits what is queued, then reports to each sender

    int depth = 0;  // batches open on this thread; the outermost flushes
    bool usable() const { return !broken_; }

  private:
    struct Entry {
        int socket = -1;
        std::vector<iovec> iov;  // kept between batches, with its storage
        msghdr message{};
        std::shared_ptr<BatchedSender> sender;
        int result = 0;
        bool done = false;
    };
    using Report = std::pair<std::shared_ptr<BatchedSender>, int>;

    Ring() : entries_(kCapacity) {}
    std::size_t submit(std::size_t count);
    std::size_t reap(std::size_t pending);
    void give_up_on(std::size_t count);

    io_uring ring_{};
    std::vector<Entry> entries_;
    std::size_t used_ = 0;
    std::vector<Report> reports_;  // storage kept between batches
    bool broken_ = false;          // a completion never came: the ring is left alone for good
};

struct ThreadRing {
    bool tried = false;
    std::unique_ptr<Ring> ring;
};
thread_local ThreadRing t_ring;

Ring* Ring::of_this_thread() {
    if (!t_ring.tried) {
        t_ring.tried = true;
        std::unique_ptr<Ring> ring(new Ring());
        int failed = io_uring_queue_init(kCapacity, &ring->ring_, 0);
        static std::once_flag logged;
        std::call_once(logged, [failed] {
            if (failed == 0) {
                BOOST_LOG_TRIVIAL(info) << "stream writes go out in io_uring batches";
            } else {
                BOOST_LOG_TRIVIAL(warning) << "io_uring unavailable (" << std::strerror(-failed)
                                           << "): stream writes go out with one sendmsg() each";
            }
        });
        if (failed == 0) t_ring.ring = std::move(ring);
    }
    return t_ring.ring && t_ring.ring->usable() ? t_ring.ring.get() : nullptr;
}

bool Ring::queue(int socket, const std::vector<boost::asio::const_buffer>& buffers,
                 std::shared_ptr<BatchedSender> sender) {
    if (depth == 0 || broken_ || used_ == entries_.size() || buffers.size() > IOV_MAX) return false;
    auto& entry = entries_[used_++];
    entry.socket = socket;
    entry.iov.clear();
    for (const auto& buffer : buffers)
        entry.iov.push_back({const_cast<void*>(buffer.data()), buffer.size()});
    entry.sender = std::move(sender);
    return true;
}

void Ring::flush() {
    std::size_t count = std::exchange(used_, 0);
    if (count == 0) return;
    std::size_t submitted = submit(count);
    g_sends_batched.fetch_add(submitted, std::memory_order_relaxed);
    std::size_t pending = reap(submitted);
    // Sends the kernel never took (io_uring_enter refused them): the streams write those
    // bytes themselves, as after a send that found the socket full.
    for (std::size_t i = submitted; i < count; ++i) {
        entries_[i].result = -EAGAIN;
        entries_[i].done = true;
    }
    if (pending > 0 || submitted < count) give_up_on(count);
    // Reported after the batch is closed and its entries free: a sender that writes again
    // writes directly, and nothing it does can reach these entries.
    reports_.clear();
    for (std::size_t i = 0; i < count; ++i) {
        auto& entry = entries_[i];
        if (entry.sender) reports_.emplace_back(std::move(entry.sender), entry.result);
    }
    // Moved out while the senders run: one that opened and ended a batch of its own here
    // would otherwise clear the list under this loop.
    auto reports = std::move(reports_);
    for (auto& [sender, result] : reports)
        sender->sent(result);
    reports.clear();
    reports_ = std::move(reports);
}

std::size_t Ring::submit(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        auto& entry = entries_[i];
        entry.message = msghdr{};
        entry.message.msg_iov = entry.iov.data();
        entry.message.msg_iovlen = entry.iov.size();
        entry.done = false;
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);  // never null: count <= the ring's size
        io_uring_prep_sendmsg(sqe, entry.socket, &entry.message, MSG_DONTWAIT | MSG_NOSIGNAL);
        sqe->user_data = i;
    }
    std::size_t submitted = 0;
    while (submitted < count) {
        int n = io_uring_submit(&ring_);
        if (n <= 0) break;
        submitted += static_cast<std::size_t>(n);
    }
    return submitted;
}

// Takes the completions of `pending` sends; returns how many never came.
std::size_t Ring::reap(std::size_t pending) {
    auto take = [&] {
        io_uring_cqe* cqe = nullptr;
        unsigned head = 0;
        unsigned seen = 0;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            auto& entry = entries_[cqe->user_data];
            entry.result = cqe->res;
            entry.done = true;
            ++seen;
        }
        io_uring_cq_advance(&ring_, seen);
        pending -= std::min<std::size_t>(seen, pending);
    };
    take();
    auto deadline = std::chrono::steady_clock::now() + kCompletionWait;
    while (pending > 0) {
        auto left = deadline - std::chrono::steady_clock::now();
        if (left <= decltype(left)::zero()) break;
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        __kernel_timespec timeout{ns / 1'000'000'000, ns % 1'000'000'000};
        io_uring_cqe* cqe = nullptr;
        int waited = io_uring_wait_cqe_timeout(&ring_, &cqe, &timeout);
        if (waited < 0 && waited != -ETIME && waited != -EINTR) break;
        take();
    }
    return pending;
}

// A submission refused, or a send not completed in time: the ring is never used again. The
// kernel may still read what a send it took points at, so those senders (and the frames they
// hold) are kept for good and each such stream is ended (its sent() gets an error): a client
// then reconnects and resumes, and no byte of its stream can be sent twice.
void Ring::give_up_on(std::size_t count) {
    static std::vector<std::shared_ptr<BatchedSender>> kept_for_the_kernel;
    static std::mutex kept_mutex;
    broken_ = true;
    BOOST_LOG_TRIVIAL(error) << "io_uring: a batch of stream writes was refused or did not "
                                "complete; this thread writes with sendmsg() from now on";
    std::lock_guard lock(kept_mutex);
    for (std::size_t i = 0; i < count; ++i) {
        auto& entry = entries_[i];
        if (entry.done) continue;
        kept_for_the_kernel.push_back(entry.sender);
        entry.result = -ETIMEDOUT;
    }
}

}  // namespace

SendBatch::SendBatch() {
    if (!g_enabled.load(std::memory_order_relaxed)) return;
    auto* ring = Ring::of_this_thread();
    if (!ring) return;
    ++ring->depth;
    open_ = true;
}

SendBatch::~SendBatch() {
    if (!open_) return;
    auto* ring = t_ring.ring.get();
    if (--ring->depth == 0) ring->flush();
}

void SendBatch::enable(bool on) {
    g_enabled.store(on, std::memory_order_relaxed);
}

bool SendBatch::enabled() {
    return g_enabled.load(std::memory_order_relaxed);
}

bool SendBatch::queue(int socket, const std::vector<boost::asio::const_buffer>& buffers,
                      std::shared_ptr<BatchedSender> sender) {
    auto* ring = t_ring.ring.get();
    return ring && ring->queue(socket, buffers, std::move(sender));
}

bool SendBatch::ring_open_on_this_thread() {
    return Ring::of_this_thread() != nullptr;
}

std::uint64_t SendBatch::sends_batched() {
    return g_sends_batched.load(std::memory_order_relaxed);
}

}  // namespace tickerd::gateway
