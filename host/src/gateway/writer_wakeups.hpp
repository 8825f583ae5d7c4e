// Starting stream writers in bulk. A publish used to post each subscriber's writer to the
// subscriber's strand: with 1,000 subscribers, 1,000 handlers allocated on the publishing
// thread and freed on an I/O thread, and as many chances to wake an idle I/O thread. Now a
// delivery that finds its stream's writer idle only puts the stream on one of a few lists
// (one per I/O thread); a list is handed to the I/O threads once, when it gets its first
// entry, and the thread that runs it starts each writer on its strand in place (inline when
// the strand is free). So a message is handed over once per list, however many follow it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace tickerd::gateway {

// What a list starts: wake() runs on an I/O thread, outside any strand.
class Wakeable {
  public:
    virtual ~Wakeable() = default;
    virtual void wake() = 0;
};

class WriterWakeups : public std::enable_shared_from_this<WriterWakeups> {
  public:
    WriterWakeups(boost::asio::io_context& io, std::size_t lists);

    // The list a new stream uses for its life (in turn, so the lists share the streams).
    std::size_t assign();
    // Any thread: `stream` is woken by the next run of `list`, if it still lives then. Held
    // weakly: a stream holds the wake-ups, and a run dropped unrun at shutdown must not leave
    // the two holding each other.
    void add(std::size_t list, std::weak_ptr<Wakeable> stream);

  private:
    using Batch = std::vector<std::weak_ptr<Wakeable>>;
    using Clock = std::chrono::steady_clock;
    struct List {
        explicit List(boost::asio::io_context& io) : timer(io) {}
        std::mutex mutex;
        Batch waiting;
        Batch spare;                      // empty; storage for the next `waiting`
        bool posted = false;              // a run is on its way; later entries join it
        Clock::time_point last_run{};     // when the last run began
        boost::asio::steady_timer timer;  // holds a run back to kLeastGap after the last
    };
    // Runs of one list at most this often: at 3,000 messages a second to 100 streams, a run
    // per message meant a system call per delivery (0.8 per delivery measured).
    static constexpr auto kLeastGap = std::chrono::milliseconds(1);
    // Streams woken by one handler before the rest is posted again (about a millisecond of
    // writes; see chunks.hpp).
    static constexpr std::size_t kChunk = 256;

    void run_soon(List& list);  // a list with its first entry (not held back)
    void run_due();
    void run(List& list);

    boost::asio::io_context& io_;
    std::vector<std::unique_ptr<List>> lists_;
    std::mutex due_mutex_;
    std::vector<List*> due_;     // lists waiting for the one handler that runs them
    bool due_deferred_ = false;  // that handler is on its way
    std::atomic<std::size_t> next_{0};
};

}  // namespace tickerd::gateway
