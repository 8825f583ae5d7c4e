// Server-Sent Events. The body has no length and no chunking: it runs until the connection
// closes (Connection: close), so frames go to the socket exactly as the bus built them.
#include "gateway/sse_session.hpp"

#include "core/log.hpp"

#include <boost/asio/dispatch.hpp>

namespace tickerd::gateway {

namespace asio = boost::asio;

namespace {

// The response header and the reconnect delay: one for every stream, or one of its own for a
// page of another origin (CORS headers).
std::shared_ptr<const std::string> preamble(const StreamContext& context) {
    auto text = [](std::string_view extra) {
        return std::make_shared<const std::string>(
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/event-stream; charset=utf-8\r\n"
            "Cache-Control: no-cache\r\n"
            "X-Accel-Buffering: no\r\n"
            "Connection: close\r\n" +
            std::string(extra) + "\r\nretry: 3000\n\n");
    };
    static const auto shared = text("");
    if (context.cors.empty()) return shared;
    std::string extra;
    for (const auto& [field, value] : context.cors)
        extra += std::string(boost::beast::http::to_string(field)) + ": " + value + "\r\n";
    return text(extra);
}
const std::shared_ptr<const std::string> kKeepalive =
    std::make_shared<const std::string>(": keepalive\n\n");

// How long queued bytes may take to flush when the server stops.
constexpr auto kShutdownFlushTime = std::chrono::seconds(2);
// A client sends nothing after its request; reading only tells when it has gone.
constexpr std::size_t kReadBufferSize = 512;

// A write that does not finish in this time means the client stopped reading.
std::chrono::seconds write_stall_timeout(const Limits& limits) {
    return std::max(4 * limits.keepalive_interval, std::chrono::seconds(30));
}

}  // namespace

SseSession::SseSession(std::unique_ptr<Transport> transport, ChannelSet channels,
                       const StreamContext& context)
    : StreamSession(std::move(transport), context, telemetry::StreamProtocol::sse, kReadBufferSize),
      requested_(std::move(channels)),
      resume_from_(context.resume_from),
      preamble_(preamble(context)) {}

void SseSession::run() {
    asio::dispatch(strand(), [self = shared_from_this(), this] {
        if (phase() != Phase::starting) return;  // closed for shutdown meanwhile
        // The header first; each channel's latest message (or what it missed, resuming)
        // follows it in the same write.
        queue(Outgoing{std::exchange(preamble_, nullptr)});
        auto channels = std::exchange(requested_, {});
        auto from = std::exchange(resume_from_, {});
        if (channels.size() > 1) {
            positions_.resize(channels.size());
            for (std::size_t i = 0; i < channels.size(); ++i) {
                position_of_.emplace(channels[i], i);
                if (auto it = from.find(channels[i]); it != from.end()) positions_[i] = it->second;
            }
        }
        subscribe(channels, from);
        open();
    });
}

Outgoing SseSession::frame_of(const bus::MessagePtr& message) const {
    return Outgoing::frame_of(message, message->sse_frame);
}

// One channel: the frames as the bus built them (their ids are the messages' ids).
void SseSession::frame_batch(const std::vector<Outgoing>& items, Buffers& buffers) {
    if (positions_.empty()) {
        for (const auto& item : items)
            buffers.push_back(asio::buffer(*item.bytes));
        return;
    }
    id_lines_.clear();
    id_lines_.reserve(items.size());  // the buffers point into it: it must not move
    for (const auto& item : items)
        frame_with_positions(item, buffers);
}

// The shared frame minus its own "id:" line, after an id line of this stream's positions
// ("id: 12.0.7\n"); what a resume parses back (parse_last_event_id).
void SseSession::frame_with_positions(const Outgoing& item, Buffers& buffers) {
    const auto* message = item.message;
    auto it = message ? position_of_.find(message->channel) : position_of_.end();
    if (it == position_of_.end()) {
        buffers.push_back(asio::buffer(*item.bytes));
        return;
    }
    if (message->seq != 0) positions_[it->second] = message->seq;
    auto& line = id_lines_.emplace_back("id: ");
    line.reserve(4 + 8 * positions_.size());
    for (std::size_t i = 0; i < positions_.size(); ++i) {
        if (i) line += '.';
        line += std::to_string(positions_[i]);
    }
    line += '\n';
    const std::string& frame = *item.bytes;
    auto own_id_line = frame.find('\n') + 1;  // "id: <message id>\n"
    buffers.push_back(asio::buffer(line));
    buffers.push_back(asio::buffer(frame.data() + own_id_line, frame.size() - own_id_line));
}

StreamSession::Clock::time_point SseSession::on_tick(Clock::time_point now) {
    if (writing() && now - last_write_at() >= write_stall_timeout(limits())) {
        BOOST_LOG_TRIVIAL(warning) << "sse " << peer() << ": client stopped reading, closing";
        finish("write stalled");
        return now;
    }
    if (!writing() && now - last_write_at() >= limits().keepalive_interval) {
        send(Outgoing{kKeepalive});
    }
    return std::max(last_write_at() + limits().keepalive_interval,
                    now + std::chrono::milliseconds(10));
}

// Stop taking messages, let what is queued go out (briefly), then end the body.
void SseSession::on_shutdown() {
    close(std::nullopt, /*discard_pending=*/false, kShutdownFlushTime);
}

void start_sse(std::unique_ptr<Transport> transport, ChannelSet channels, StreamContext context) {
    auto session = std::make_shared<SseSession>(std::move(transport), std::move(channels), context);
    context.registry.add(session);
    session->run();
}

}  // namespace tickerd::gateway
