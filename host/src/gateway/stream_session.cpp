// The stream core. Everything but deliver() runs on the connection's strand (the socket's
// executor, a strand since accept). Deliveries arrive on publisher threads and only append to
// the queue; the writer, on the strand, takes everything pending at once and sends it with one
// gather-write straight from the shared frames: at once when the socket takes it all (the usual
// case), else the rest with an async write.
#include "gateway/stream_session.hpp"

#include "core/log.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <stdexcept>

namespace tickerd::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

std::optional<std::chrono::steady_clock::time_point> steady_expiry(
    const access::Principal& principal) {
    if (!principal.expires_at) return std::nullopt;
    auto left = *principal.expires_at - std::chrono::system_clock::now();
    return std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
}

// One write takes at most this much; the rest waits in the queue, where a slow consumer's
// backlog is dropped at once, rather than in a write that has to finish first.
constexpr std::size_t kMaxBatchBytes = 256 * 1024;
// A client gone without a word (its machine off, its network cut) is dropped by the kernel
// once what was sent to it stays unacknowledged for this many keepalive intervals.
constexpr int kUnacknowledgedIntervals = 3;

// A stream's transport was accepted onto (or moved to) a strand of the stream threads.
StreamSession::Strand strand_of(Transport& transport) {
    auto executor = transport.get_executor();
    auto* strand = executor.target<StreamSession::Strand>();
    if (!strand) throw std::logic_error("a stream's transport must run on a strand");
    return *strand;
}

std::string describe_peer(const Transport& transport) {
    auto endpoint = transport.remote_endpoint();
    return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace

StreamSession::StreamSession(std::unique_ptr<Transport> transport, const StreamContext& context,
                             telemetry::StreamProtocol protocol)
    : transport_(std::move(transport)),
      batch_socket_(transport_->sendmsg_socket()),
      strand_(strand_of(*transport_)),
      wheel_(context.wheel),
      wakeups_(context.wakeups),
      wake_list_(wakeups_->assign()),
      bus_(context.services.bus),
      views_(context.views),
      bus_threads_(context.bus_threads),
      limits_(context.limits),
      channel_types_(context.services.config.published_types,
                     context.services.config.bars.intervals),
      protocol_(protocol == telemetry::StreamProtocol::sse ? "sse" : "ws"),
      peer_(describe_peer(*transport_)),
      principal_(context.principal),
      slot_(context.slot),
      expires_at_(steady_expiry(principal_)),
      metrics_(context.services.telemetry.metrics()),
      counters_(metrics_.streams(protocol)),
      queue_(limits_.max_queued_messages, limits_.max_queued_bytes) {
    counters_.opened.add();
    counters_.open.add(1);
}

StreamSession::~StreamSession() {
    counters_.open.add(-1);
}

void StreamSession::deliver(const bus::MessagePtr& message) {
    auto result = queue_.push_message(message, frame_of(message));
    if (result == SendQueue::Push::wake_writer) {
        wakeups_->add(wake_list_, weak_from_this());
    } else if (result == SendQueue::Push::overflow) {
        asio::post(strand_, [self = shared_from_this()] { self->on_overflow(); });
    }
}

// The strand's own execute() (inline when the strand is free here), as asio::dispatch would,
// minus the copy of the strand that dispatch makes.
void StreamSession::wake() {
    strand_.execute([self = shared_from_this()] { self->do_write(); });
}

void StreamSession::sent(int result) {
    strand_.execute([self = shared_from_this(), result] { self->on_batched_write(result); });
}

void StreamSession::close_for_shutdown() {
    asio::dispatch(strand_, [self = shared_from_this()] {
        if (self->phase_ == Phase::starting) return self->finish("server shutting down");
        if (self->phase_ == Phase::open) self->on_shutdown();
    });
}

void StreamSession::open() {
    if (phase_ != Phase::starting) return;  // closed for shutdown before it could start
    // From here on the connection is the stream's: the HTTP side's timeouts no longer apply.
    transport_->expires_never();
    phase_ = Phase::open;
    last_read_at_ = last_write_at_ = Clock::now();
    transport_->limit_unacknowledged(kUnacknowledgedIntervals * limits_.keepalive_interval);
    BOOST_LOG_TRIVIAL(debug) << protocol_ << " " << peer_ << ": open, " << channels_.size()
                             << " channel(s)";
    do_read();
    arm_timer(Clock::now() + limits_.keepalive_interval);
    do_write();
}

// ---- Subscriptions -------------------------------------------------------------------

void StreamSession::subscribe(const ChannelSet& channels, const ResumePositions& from,
                              Settled settled, std::shared_ptr<const ViewSpec> view) {
    if (view && (view->plain() || !views_)) view.reset();
    bool resuming = std::any_of(channels.begin(), channels.end(),
                                [&](const std::string& channel) { return from.contains(channel); });
    // With someone to tell (`settled`: the WebSocket's acknowledgement) or a resume to
    // settle, every channel of the subscription is held until the subscription is in place
    // and `settled` has spoken: a client told "subscribed" misses nothing published after it,
    // and nothing of the channels goes out before the acknowledgement.
    bool hold = resuming || settled;
    std::vector<std::pair<std::string, std::optional<uint64_t>>> resumes;
    for (const auto& channel : channels) {
        channels_.push_back(channel);
        // Tracked first, so the queue accepts the latest message the bus hands over.
        auto position = from.find(channel);
        if (!hold) {
            queue_.track(channel);
        } else if (position != from.end()) {
            queue_.track_held(channel, position->second);
            resumes.emplace_back(channel, position->second);
        } else {
            queue_.track_held(channel, 0);
            resumes.emplace_back(channel, std::nullopt);
        }
        if (view) channel_views_[channel] = view;
        follow(channel);
    }
    if (!hold) return;
    // The history is read after subscribing: what it lacks comes live, and is held.
    auto fetch = [self = shared_from_this(), resumes = std::move(resumes),
                  settled = std::move(settled), view = std::move(view)]() mutable {
        auto replays = self->fetch_replays(resumes, view);
        asio::dispatch(self->strand_, [self, replays = std::move(replays),
                                       settled = std::move(settled)]() mutable {
            self->settle(std::move(replays), settled);
        });
    };
    if (resuming && bus_.may_block() && bus_threads_) {
        asio::post(bus_threads_, std::move(fetch));
    } else {
        fetch();  // the embedded bus, or nothing to read: settled at once, on the strand
    }
}

void StreamSession::follow(const std::string& channel) {
    auto view = channel_views_.find(channel);
    if (view == channel_views_.end()) {
        bus_.subscribe(channel, shared_from_this());
    } else {
        views_->subscribe(channel, *view->second, shared_from_this());
    }
}

void StreamSession::unfollow(const std::string& channel) {
    auto view = channel_views_.find(channel);
    if (view == channel_views_.end()) {
        bus_.unsubscribe(channel, this);
        return;
    }
    views_->unsubscribe(channel, *view->second, this);
    channel_views_.erase(view);
}

// Through a view, the replay is the history as the view shows it (whole messages), and a
// position too old gets the view's latest: the snapshot its next delta follows.
auto StreamSession::fetch_replays(
    const std::vector<std::pair<std::string, std::optional<uint64_t>>>& from,
    const std::shared_ptr<const ViewSpec>& view) -> std::vector<Replay> {
    std::vector<Replay> replays;
    for (const auto& [channel, position] : from) {
        Replay replay;
        replay.channel = channel;
        if (!position) {  // not resumed: only held while the others are
            replays.push_back(std::move(replay));
            continue;
        }
        replay.resumed = true;
        auto after = *position;
        auto page = bus_.history(channel, {after, std::numeric_limits<std::size_t>::max()});
        if (page && page->complete) {
            replay.recovered = true;
            replay.messages =
                view ? ViewHub::render(*view, page->messages) : std::move(page->messages);
        } else if (auto latest = view ? views_->latest(channel, *view) : bus_.latest(channel);
                   latest && latest->seq == after) {
            replay.recovered = true;  // nothing was published since
        } else if (latest) {
            replay.messages.push_back(bus::unrecovered(*latest));
        }
        if (!page) {
            BOOST_LOG_TRIVIAL(warning) << protocol_ << " " << peer_ << ": no history of " << channel
                                       << " to resume from: " << page.error().detail;
        }
        replays.push_back(std::move(replay));
    }
    return replays;
}

void StreamSession::settle(std::vector<Replay> replays, const Settled& settled) {
    if (phase_ == Phase::finished) return;
    if (settled) {
        std::vector<Resumed> outcome;
        for (const auto& replay : replays) {
            if (replay.resumed) outcome.push_back({replay.channel, replay.recovered});
        }
        settled(outcome);
    }
    for (auto& replay : replays) {
        std::vector<Outgoing> items;
        items.reserve(replay.messages.size());
        for (const auto& message : replay.messages)
            items.push_back(frame_of(message));
        auto result =
            queue_.release(replay.channel, std::move(items), !replay.resumed || replay.recovered);
        if (result == SendQueue::Push::overflow) return on_overflow();
    }
    if (phase_ == Phase::open) do_write();
}

void StreamSession::unsubscribe(const std::string& channel) {
    auto it = std::find(channels_.begin(), channels_.end(), channel);
    if (it == channels_.end()) return;
    // Untracked first: a delivery racing with the unsubscribe is then dropped.
    queue_.untrack(channel);
    unfollow(channel);
    channels_.erase(it);
}

void StreamSession::unsubscribe_all() {
    for (const auto& channel : channels_) {
        queue_.untrack(channel);
        unfollow(channel);
    }
    channels_.clear();
}

// ---- Writing -------------------------------------------------------------------------

void StreamSession::queue(Outgoing item) {
    if (queue_.push(std::move(item)) == SendQueue::Push::overflow) on_overflow();
}

void StreamSession::send(Outgoing item) {
    queue(std::move(item));
    do_write();
}

void StreamSession::do_write() {
    while (!writing_ && (phase_ == Phase::open || phase_ == Phase::draining)) {
        queue_.take(in_flight_, kMaxBatchBytes);
        if (in_flight_.empty()) {
            if (phase_ != Phase::draining) return;
            if (!last_words_) {
                phase_ = Phase::closed;
                return on_closed();
            }
            in_flight_.push_back(std::move(*last_words_));
            last_words_.reset();
            phase_ = Phase::last_words;
        }
        buffers_.clear();
        frame_batch(in_flight_, buffers_);
        last_write_at_ = Clock::now();
        if (batch_socket_ >= 0 && SendBatch::queue(batch_socket_, buffers_, shared_from_this())) {
            writing_ = in_batch_ = true;
            return;
        }
        boost::system::error_code ec;
        transport_->write_now(buffers_, ec);
        if (!sent_at_once(ec)) return;
    }
}

// After a write that did not wait (write_now, or a batch's sendmsg): false when the stream
// ended or an async write now takes what the socket left; true when the batch is all sent.
bool StreamSession::sent_at_once(const boost::system::error_code& ec) {
    if (ec) {
        finish("write failed: " + ec.message());
        return false;
    }
    if (!buffers_.empty()) {
        write_rest();
        return false;
    }
    batch_sent();
    return true;
}

void StreamSession::write_rest() {
    writing_ = true;
    transport_->async_write(buffers_,
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                                self->on_write(ec);
                            });
}

// A batched write's result (bytes sent, or -errno): what a write_now would have found, then
// as there. A full socket (-EAGAIN) is no error: the async write takes it all.
void StreamSession::on_batched_write(int result) {
    in_batch_ = false;
    writing_ = false;
    if (phase_ == Phase::finished) return transport_->close();  // the close finish() left
    boost::system::error_code ec;
    if (result > 0) drop_sent(buffers_, static_cast<std::size_t>(result));
    if (result < 0 && result != -EAGAIN && result != -EWOULDBLOCK)
        ec.assign(-result, boost::system::system_category());
    if (sent_at_once(ec)) do_write();
}

void StreamSession::on_write(boost::system::error_code ec) {
    writing_ = false;
    if (phase_ == Phase::finished) return;
    if (ec) return finish("write failed: " + ec.message());
    batch_sent();
    do_write();
}

void StreamSession::batch_sent() {
    count_deliveries();
    in_flight_.clear();  // sent: release the frames now, not at the next write
    if (phase_ != Phase::last_words) return;
    phase_ = Phase::closed;
    on_closed();
}

// Once per batch: one clock read, and one atomic add per counter and bucket touched.
void StreamSession::count_deliveries() {
    telemetry::Histogram::Batch latencies(metrics_.delivery_latency);
    auto now = std::chrono::system_clock::now();
    uint64_t messages = 0;
    for (const auto& item : in_flight_) {
        if (item.published_at == std::chrono::system_clock::time_point{}) continue;
        ++messages;
        // Another host's clock may run ahead of ours (a message from Redis): no negative.
        auto latency = std::chrono::duration<double>(now - item.published_at).count();
        latencies.observe(std::max(latency, 0.0));
    }
    if (messages == 0) return;
    counters_.deliveries.add(messages);
    metrics_.delivery_latency.add(latencies);
}

// ---- Reading -------------------------------------------------------------------------

// No read buffer of the stream's own: what the client sends is read once it has arrived.
void StreamSession::do_read() {
    transport_->async_read_arrival(
        [self = shared_from_this()](boost::system::error_code ec, std::string_view bytes) {
            self->on_read(ec, bytes);
        });
}

void StreamSession::on_read(boost::system::error_code ec, std::string_view bytes) {
    if (phase_ == Phase::finished) return;
    if (ec) return finish(ec == asio::error::eof ? "client closed the connection" : ec.message());
    last_read_at_ = Clock::now();
    on_client_bytes(bytes);
    if (phase_ != Phase::finished) do_read();
}

// ---- The timer, the slow consumer, the end -------------------------------------------

void StreamSession::arm_timer(Clock::time_point when) {
    wheel_->schedule(weak_from_this(), ++timer_generation_,
                     expires_at_ ? std::min(when, *expires_at_) : when);
}

// Run in place when the strand is free, like a writer's wake-up: a post per stream due meant
// 700 trips a second through the scheduler's lock (and a wake-up of the other thread) with
// 10,000 idle WebSockets.
void StreamSession::due(uint64_t generation) {
    strand_.execute([self = shared_from_this(), generation] {
        if (generation == self->timer_generation_) self->on_timer();
    });
}

// While open it is the keepalive; once closing, the deadline for the rest.
void StreamSession::on_timer() {
    if (phase_ == Phase::finished) return;
    if (phase_ != Phase::open) return finish("closing timed out");
    auto now = Clock::now();
    if (expires_at_ && now >= *expires_at_) return on_expired();
    auto next = on_tick(now);
    if (phase_ == Phase::open) arm_timer(next);
}

void StreamSession::on_overflow() {
    if (phase_ != Phase::open && phase_ != Phase::starting) return;
    BOOST_LOG_TRIVIAL(warning) << protocol_ << " " << peer_
                               << ": slow consumer, send queue full; closing the stream";
    counters_.slow_consumer_closes.add();
    on_slow_consumer();
}

void StreamSession::close(std::optional<Outgoing> last_words, bool discard_pending,
                          std::chrono::milliseconds deadline) {
    if (phase_ != Phase::open) return;
    unsubscribe_all();
    queue_.close(discard_pending);
    last_words_ = std::move(last_words);
    phase_ = Phase::draining;
    arm_timer(Clock::now() + deadline);  // replaces the keepalive
    do_write();
}

void StreamSession::finish(std::string_view why) {
    if (phase_ == Phase::finished) return;
    phase_ = Phase::finished;
    unsubscribe_all();
    queue_.close(/*discard_pending=*/true);
    ++timer_generation_;  // its wheel entry, if any, is stale now
    if (!in_batch_) transport_->close();
    BOOST_LOG_TRIVIAL(debug) << protocol_ << " " << peer_ << ": closed (" << why << ")";
}

}  // namespace tickerd::gateway
