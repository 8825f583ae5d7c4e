// Server-Sent Events. The body has no length and no chunking: it runs until the connection
// closes (Connection: close), so frames go to the socket exactly as the bus built them.
#include "gateway/sse_session.hpp"

#include "core/log.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace tickerd::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// The response header and the reconnect delay, identical for every stream.
const std::shared_ptr<const std::string> kPreamble = std::make_shared<const std::string>(
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream; charset=utf-8\r\n"
    "Cache-Control: no-cache\r\n"
    "X-Accel-Buffering: no\r\n"
    "Connection: close\r\n"
    "\r\n"
    "retry: 3000\n\n");
const std::shared_ptr<const std::string> kKeepalive =
    std::make_shared<const std::string>(": keepalive\n\n");

// How long queued bytes may take to flush when the server stops.
constexpr auto kShutdownFlushTime = std::chrono::seconds(2);

// A write that does not finish in this time means the client stopped reading.
std::chrono::seconds write_stall_timeout(const Limits& limits) {
    return std::max(4 * limits.keepalive_interval, std::chrono::seconds(30));
}

std::string describe_peer(beast::tcp_stream& stream) {
    boost::system::error_code ec;
    auto endpoint = stream.socket().remote_endpoint(ec);
    if (ec) return "unknown peer";
    return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace

SseSession::SseSession(beast::tcp_stream stream, ChannelSet channels, const StreamContext& context)
    : stream_(std::move(stream)),
      strand_(asio::make_strand(stream_.get_executor())),
      timer_(strand_),
      bus_(context.services.bus),
      limits_(context.limits),
      channels_(std::move(channels)),
      peer_(describe_peer(stream_)),
      queue_(limits_.max_queued_messages, limits_.max_queued_bytes) {}

SseSession::~SseSession() = default;

void SseSession::run() {
    asio::dispatch(strand_, [self = shared_from_this()] {
        if (self->shutting_down_) return self->finish("server shutting down");
        // The HTTP side's request timeout must not cut a stream that is meant to stay open.
        self->stream_.expires_never();
        boost::system::error_code ec;
        self->stream_.socket().non_blocking(true, ec);  // for write_now
        if (ec) return self->finish("socket: " + ec.message());
        self->queue_.push(Outgoing{kPreamble});
        // The bus hands over each channel's latest message while subscribing; tracking first
        // makes the queue accept it.
        for (const auto& channel : self->channels_) {
            self->queue_.track(channel);
            self->bus_.subscribe(channel, self);
        }
        BOOST_LOG_TRIVIAL(debug) << "sse " << self->peer_ << ": open, " << self->channels_.size()
                                 << " channel(s)";
        self->last_write_at_ = Clock::now();
        self->do_read();
        self->do_write();
        self->arm_keepalive();
    });
}

void SseSession::deliver(const bus::MessagePtr& message) {
    auto result = queue_.push_message(message, Outgoing::frame_of(message, message->sse_frame));
    if (result == SendQueue::Push::wake_writer) {
        asio::post(strand_, [self = shared_from_this()] { self->do_write(); });
    } else if (result == SendQueue::Push::overflow) {
        asio::post(strand_, [self = shared_from_this()] { self->on_overflow(); });
    }
}

void SseSession::close_for_shutdown() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->begin_shutdown(); });
}

// A client sends nothing after its request; reading only tells us when it has gone.
void SseSession::do_read() {
    stream_.async_read_some(asio::buffer(read_buffer_),
                            asio::bind_executor(strand_, [self = shared_from_this()](
                                                             boost::system::error_code ec,
                                                             std::size_t) { self->on_read(ec); }));
}

void SseSession::on_read(boost::system::error_code ec) {
    if (finished_) return;
    if (ec) return finish(ec == asio::error::eof ? "client closed" : ec.message());
    do_read();
}

// Everything pending goes out in one gather-write straight from the shared frames: at once
// when the socket takes it all (the usual case), else the rest with an async write.
void SseSession::do_write() {
    while (!writing_ && !finished_) {
        queue_.take_all(in_flight_);
        if (in_flight_.empty()) {
            if (shutting_down_) finish("closed for shutdown");
            return;
        }
        buffers_.clear();
        for (const auto& item : in_flight_)
            buffers_.push_back(asio::buffer(*item.bytes));
        last_write_at_ = Clock::now();
        boost::system::error_code ec;
        write_now(stream_.socket(), buffers_, ec);
        if (ec) return finish("write failed: " + ec.message());
        if (buffers_.empty()) {
            in_flight_.clear();  // sent: release the frames now, not at the next write
        } else {
            writing_ = true;
            asio::async_write(
                stream_.socket(), buffers_,
                asio::bind_executor(
                    strand_, [self = shared_from_this()](boost::system::error_code ec,
                                                         std::size_t) { self->on_write(ec); }));
        }
    }
}

void SseSession::on_write(boost::system::error_code ec) {
    writing_ = false;
    in_flight_.clear();
    if (finished_) return;
    if (ec) return finish("write failed: " + ec.message());
    do_write();
}

void SseSession::arm_keepalive() {
    auto due = std::max(last_write_at_ + limits_.keepalive_interval,
                        Clock::now() + std::chrono::milliseconds(10));
    timer_.expires_at(due);
    timer_.async_wait(asio::bind_executor(
        strand_,
        [self = shared_from_this()](boost::system::error_code ec) { self->on_keepalive(ec); }));
}

void SseSession::on_keepalive(boost::system::error_code ec) {
    if (ec || finished_) return;
    auto now = Clock::now();
    if (shutting_down_) return finish("shutdown flush timed out");
    if (writing_ && now - last_write_at_ >= write_stall_timeout(limits_)) {
        BOOST_LOG_TRIVIAL(warning) << "sse " << peer_ << ": client stopped reading, closing";
        return finish("write stalled");
    }
    if (!writing_ && now - last_write_at_ >= limits_.keepalive_interval) {
        auto result = queue_.push(Outgoing{kKeepalive});
        if (result == SendQueue::Push::overflow) return on_overflow();
        do_write();
    }
    arm_keepalive();
}

void SseSession::on_overflow() {
    if (finished_) return;
    BOOST_LOG_TRIVIAL(warning) << "sse " << peer_
                               << ": slow consumer, send queue full; closing the stream";
    finish("slow consumer");
}

// Stop taking messages, let what is queued go out (briefly), then end the body.
void SseSession::begin_shutdown() {
    if (finished_ || shutting_down_) return;
    shutting_down_ = true;
    for (const auto& channel : channels_) {
        queue_.untrack(channel);
        bus_.unsubscribe(channel, this);
    }
    queue_.close(/*discard_pending=*/false);
    timer_.expires_after(kShutdownFlushTime);
    timer_.async_wait(asio::bind_executor(
        strand_,
        [self = shared_from_this()](boost::system::error_code ec) { self->on_keepalive(ec); }));
    do_write();
}

void SseSession::finish(std::string_view why) {
    if (finished_) return;
    finished_ = true;
    queue_.close(/*discard_pending=*/true);
    for (const auto& channel : channels_)
        bus_.unsubscribe(channel, this);
    timer_.cancel();
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    BOOST_LOG_TRIVIAL(debug) << "sse " << peer_ << ": closed (" << why << ")";
}

void start_sse(beast::tcp_stream stream, const Request& /*request*/, ChannelSet channels,
               StreamContext context) {
    auto session = std::make_shared<SseSession>(std::move(stream), std::move(channels), context);
    context.registry.add(session);
    session->run();
}

}  // namespace tickerd::gateway
