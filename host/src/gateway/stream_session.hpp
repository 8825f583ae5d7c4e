// What every stream shares, SSE or WebSocket: the socket and its strand, the subscriptions,
// the bounded send queue drained by one gather-write loop, the slow-consumer policy, one timer
// (keepalive while open, the closing deadline after), and how a stream ends. A protocol
// (sse_session.cpp, ws_session.cpp) adds only its framing, what it reads from the client and
// what its keepalive sends; what streams gain later (access checks, resume, deltas, filters,
// compression) is written here once. The timer is the gateway's wheel (timer_wheel.hpp).
#pragma once

#include "gateway/send_batch.hpp"
#include "gateway/send_queue.hpp"
#include "gateway/streams.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tickerd::gateway {

class StreamSession : public bus::Subscriber,
                      public Closable,
                      public WheelClient,
                      public Wakeable,
                      public BatchedSender,
                      public std::enable_shared_from_this<StreamSession> {
  public:
    using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
    ~StreamSession() override;

    void deliver(const bus::MessagePtr& message) final;  // any thread; only queues
    void close_for_shutdown() final;                     // any thread
    void due(uint64_t generation) final;                 // the wheel's strand; only posts
    void wake() final;                                   // an I/O thread: starts the writer
    void sent(int result) final;                         // a batch's end: only dispatches

  protected:
    using Clock = std::chrono::steady_clock;
    using Buffers = std::vector<boost::asio::const_buffer>;

    // A stream's life, in order; it only ever moves forward.
    enum class Phase {
        starting,    // the handshake (WS) or nothing yet sent (SSE)
        open,        // messages flow
        draining,    // no new messages; what is queued goes out, then the last words
        last_words,  // the final item (WS close frame) is being written
        closed,      // everything sent; waiting for the client to hang up, if it should
        finished,    // the socket is closed
    };

    // `protocol` prefixes log lines ("sse", "ws") and labels the metrics.
    StreamSession(std::unique_ptr<Transport> transport, const StreamContext& context,
                  telemetry::StreamProtocol protocol);

    // ---- What a protocol provides (all on the strand, bar frame_of) ----
    // The frame `message` goes out as: one of its shared, prebuilt frames. Any thread.
    virtual Outgoing frame_of(const bus::MessagePtr& message) const = 0;
    // The buffers a batch of queued items is written as, appended to `buffers`.
    virtual void frame_batch(const std::vector<Outgoing>& items, Buffers& buffers) = 0;
    // Bytes the client sent. By default they only show that it is still there.
    virtual void on_client_bytes(std::string_view) {}
    // The keepalive timer fired while open; returns when it should fire next.
    virtual Clock::time_point on_tick(Clock::time_point now) = 0;
    // The client cannot keep up: its queue overflowed. By default the stream is cut.
    virtual void on_slow_consumer() { finish("slow consumer"); }
    // The server is stopping and the stream is open.
    virtual void on_shutdown() = 0;
    // Everything, the last words included, has been sent. By default the stream ends.
    virtual void on_closed() { finish("closed"); }
    // The credential that opened the stream has expired. By default the stream just ends.
    virtual void on_expired() { finish("credential expired"); }

    // ---- What the core does for a protocol (strand only) ----
    // Starts streaming: the socket goes non-blocking, the read loop and the timer start, and
    // whatever was queued meanwhile is written.
    void open();

    // How a channel's resume went: `recovered` when everything after the client's position
    // was in the history (and is replayed); else the channel's latest message is sent with
    // `metadata.recovered: false`.
    struct Resumed {
        std::string channel;
        bool recovered;
    };
    using Settled = std::function<void(const std::vector<Resumed>&)>;

    // Subscribes to `channels`: each one's latest message is queued first, or, for a channel
    // in `from`, what the client missed since its position there. `settled` (strand) runs
    // once every resume is settled, before anything replayed is queued (at once when there
    // is none).
    // `view`: how the channels are shown (filters, deltas); plain when not given.
    void subscribe(const ChannelSet& channels, const ResumePositions& from = {},
                   Settled settled = nullptr, std::shared_ptr<const ViewSpec> view = nullptr);
    void unsubscribe(const std::string& channel);
    void unsubscribe_all();
    const ChannelSet& channels() const { return channels_; }
    // Queues session traffic (replies, keepalives); it counts against the queue's limits.
    void queue(Outgoing item);
    void send(Outgoing item);  // queue, then write
    // Ends the stream gracefully: no more messages; what is queued is kept or dropped, then
    // `last_words` (if any) go out, then on_closed(); `deadline` bounds all of it.
    void close(std::optional<Outgoing> last_words, bool discard_pending,
               std::chrono::milliseconds deadline);
    // Closes the socket now.
    void finish(std::string_view why);

    Phase phase() const { return phase_; }
    bool writing() const { return writing_; }
    Clock::time_point last_write_at() const { return last_write_at_; }
    Clock::time_point last_read_at() const { return last_read_at_; }
    const std::string& peer() const { return peer_; }
    const Limits& limits() const { return limits_; }
    const ChannelTypes& channel_types() const { return channel_types_; }
    const access::Principal& principal() const { return principal_; }
    const Strand& strand() const { return strand_; }

  private:
    struct Replay {
        std::string channel;
        bool resumed = false;  // false: a channel held only while the others resume
        bool recovered = false;
        std::vector<bus::MessagePtr> messages;
    };
    // Any thread: reads the bus (it may wait on Redis).
    std::vector<Replay> fetch_replays(
        const std::vector<std::pair<std::string, std::optional<uint64_t>>>& from,
        const std::shared_ptr<const ViewSpec>& view);
    void follow(const std::string& channel);  // on the bus, or through its view
    void unfollow(const std::string& channel);
    void settle(std::vector<Replay> replays, const Settled& settled);

    void do_read();
    void on_read(boost::system::error_code ec, std::string_view bytes);
    void do_write();
    bool sent_at_once(const boost::system::error_code& ec);
    void write_rest();  // what the socket did not take now, with an async write
    void on_write(boost::system::error_code ec);
    void on_batched_write(int result);
    void batch_sent();
    void count_deliveries();
    void arm_timer(Clock::time_point when);  // no later than the credential's expiry
    void on_timer();
    void on_overflow();

    std::unique_ptr<Transport> transport_;
    // What a batched write sends to (Transport::sendmsg_socket), or -1. Read once here: asking
    // the transport each write cost two cache misses per delivery to an idle stream.
    const int batch_socket_;
    // The socket's. Kept as the strand it is, not type-erased: waking a writer through an
    // any_io_executor copied the strand on every delivery (3.7 % of an idle daemon's CPU).
    const Strand strand_;
    const std::shared_ptr<TimerWheel> wheel_;
    const std::shared_ptr<WriterWakeups> wakeups_;
    const std::size_t wake_list_;  // which of wakeups_'s lists this stream is on
    bus::Bus& bus_;
    const std::shared_ptr<ViewHub> views_;
    const boost::asio::any_io_executor bus_threads_;
    const Limits limits_;
    const ChannelTypes channel_types_;  // what a subscription may name
    const char* const protocol_;
    const std::string peer_;
    const access::Principal principal_;
    const std::shared_ptr<void> slot_;  // counted as an open connection while it lives
    const std::optional<Clock::time_point> expires_at_;  // the principal's, on this clock
    telemetry::Metrics& metrics_;
    telemetry::StreamCounters& counters_;  // this protocol's
    SendQueue queue_;

    // Owned by the strand.
    Phase phase_ = Phase::starting;
    ChannelSet channels_;
    // The channels followed through a view, and which (none for a plain subscription).
    std::unordered_map<std::string, std::shared_ptr<const ViewSpec>> channel_views_;
    std::optional<Outgoing> last_words_;
    std::vector<Outgoing> in_flight_;
    Buffers buffers_;
    bool writing_ = false;  // an async or batched write is in flight
    // A batched write is queued or in flight: the socket is closed only once it returns, so
    // that its descriptor cannot be another connection's when the batch is submitted.
    bool in_batch_ = false;
    uint64_t timer_generation_ = 0;  // the wheel entry that counts; older ones are stale
    Clock::time_point last_write_at_;
    Clock::time_point last_read_at_;
};

}  // namespace tickerd::gateway
