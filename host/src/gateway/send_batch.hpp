// Internal to the gateway: the writes one run of writer wake-ups starts, sent with one system
// call. A message to 1,000 streams used to cost 1,000 sendmsg() calls; each call's entry and
// exit, not the TCP work behind it, was a third of the kernel's cost per delivery on these
// machines (bench/sendmsg_floor --io-uring). So while a batch is open on a thread, a stream's
// writer queues its gather-write here instead, and the batch's end submits them all as one
// io_uring submission. A send that cannot go out at once completes with -EAGAIN (MSG_DONTWAIT)
// rather than waiting in the kernel, and the stream writes it the usual way.
//
// Where io_uring is missing or refused (an old kernel, a seccomp filter, the `io_uring`
// setting off), nothing opens a batch and every write is a plain sendmsg(), as before.
#pragma once

#include <boost/asio/buffer.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace tickerd::gateway {

// What a batched send reports to: sent() runs on the thread that ran the batch, outside any
// strand, once the whole batch went out, with sendmsg()'s result: bytes sent, or -errno.
class BatchedSender {
  public:
    virtual ~BatchedSender() = default;
    virtual void sent(int result) = 0;
};

// Opens a batch on this thread for its lifetime, when io_uring is on and works here; the
// outermost one sends at its end. One thread's batch is that thread's alone.
class SendBatch {
  public:
    SendBatch();
    ~SendBatch();
    SendBatch(const SendBatch&) = delete;
    SendBatch& operator=(const SendBatch&) = delete;

    // Whether batches use io_uring (the `io_uring` setting; on by default). Set before
    // streams start; a ring already open on a thread is kept, but no batch opens once off.
    static void enable(bool on);
    static bool enabled();

    // In an open batch on this thread: queues sendmsg(socket, buffers) for the batch's end
    // and returns true; `sender` is kept alive until its sent() has run, and `buffers`' bytes
    // must stay alive and unchanged until then too (the list itself is copied). False when
    // no batch is open here or it is full: write now instead.
    static bool queue(int socket, const std::vector<boost::asio::const_buffer>& buffers,
                      std::shared_ptr<BatchedSender> sender);

    // Whether this thread sends its batches with io_uring (its ring opened); for the tests.
    static bool ring_open_on_this_thread();
    // Sends that went out in batches since start, all threads; for the tests.
    static std::uint64_t sends_batched();

  private:
    bool open_ = false;  // counted in this thread's open batches
};

}  // namespace tickerd::gateway
