// Server-Sent Events. The body has no length and no chunking: it runs until the connection
// closes (Connection: close), so frames go to the socket exactly as the bus built them.
//
// gzip (the client sent Accept-Encoding: gzip): the body is one gzip stream made of runs, each
// a frame compressed on its own and ending in a sync flush (deflate.hpp). A message's run is
// made once and shared by every gzip stream, as its plain frame is; a stream only sums the
// CRC-32 of what it sent, for the trailer it writes when it ends cleanly.
#include "gateway/sse_session.hpp"

#include "core/log.hpp"

#include <boost/asio/dispatch.hpp>

namespace tickerd::gateway {

namespace asio = boost::asio;

namespace {

// What an item that is not a message is, for a gzip stream (Outgoing::opcode; SSE sends no
// opcodes otherwise).
enum Item : uint8_t { plain = 0, head, keepalive, trailer };

constexpr std::string_view kRetry = "retry: 3000\n\n";

const bus::GzipRun& gzip_retry() {
    static const auto run = deflate::gzip_run(kRetry);
    return run;
}
const bus::GzipRun& gzip_keepalive() {
    static const auto run = deflate::gzip_run(": keepalive\n\n");
    return run;
}

// The response header and the reconnect delay: one for every stream (plain, or gzip), or one
// of its own for a page of another origin (CORS headers).
std::shared_ptr<const std::string> preamble(const StreamContext& context, bool gzip) {
    auto text = [gzip](std::string_view extra) {
        std::string head =
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/event-stream; charset=utf-8\r\n"
            "Cache-Control: no-cache\r\n"
            "X-Accel-Buffering: no\r\n"
            "Vary: Accept-Encoding\r\n"
            "Connection: close\r\n";
        if (gzip) head += "Content-Encoding: gzip\r\n";
        head += std::string(extra) + "\r\n";
        if (gzip) {
            head.append(deflate::gzip_header());
            head += gzip_retry().bytes;
        } else {
            head += kRetry;
        }
        return std::make_shared<const std::string>(std::move(head));
    };
    static const auto shared_plain = text(""), shared_gzip = text("");
    if (context.cors.empty()) return gzip ? shared_gzip : shared_plain;
    std::string extra;
    for (const auto& [field, value] : context.cors)
        extra += std::string(boost::beast::http::to_string(field)) + ": " + value + "\r\n";
    return text(extra);
}
const std::shared_ptr<const std::string> kKeepalive =
    std::make_shared<const std::string>(": keepalive\n\n");
const std::shared_ptr<const std::string> kGzipKeepalive =
    std::shared_ptr<const std::string>(std::shared_ptr<void>(), &gzip_keepalive().bytes);
const std::shared_ptr<const std::string> kNothing = std::make_shared<const std::string>();

// How long queued bytes may take to flush when the server stops.
constexpr auto kShutdownFlushTime = std::chrono::seconds(2);

// A write that does not finish in this time means the client stopped reading.
std::chrono::seconds write_stall_timeout(const Limits& limits) {
    return std::max(4 * limits.keepalive_interval, std::chrono::seconds(30));
}

}  // namespace

SseSession::SseSession(std::unique_ptr<Transport> transport, ChannelSet channels,
                       const StreamContext& context, bool gzip)
    : StreamSession(std::move(transport), context, telemetry::StreamProtocol::sse),
      requested_(std::move(channels)),
      resume_from_(context.resume_from),
      view_(context.view),
      preamble_(preamble(context, gzip)),
      gzip_(gzip) {}

void SseSession::run() {
    asio::dispatch(strand(), [self = shared_from_this(), this] {
        if (phase() != Phase::starting) return;  // closed for shutdown meanwhile
        // The header first; each channel's latest message (or what it missed, resuming)
        // follows it in the same write.
        queue(Outgoing{std::exchange(preamble_, nullptr), head});
        auto channels = std::exchange(requested_, {});
        auto from = std::exchange(resume_from_, {});
        if (channels.size() > 1) {
            positions_.resize(channels.size());
            for (std::size_t i = 0; i < channels.size(); ++i) {
                position_of_.emplace(channels[i], i);
                if (auto it = from.find(channels[i]); it != from.end()) positions_[i] = it->second;
            }
        }
        subscribe(channels, from, nullptr, std::make_shared<const ViewSpec>(std::move(view_)));
        open();
    });
}

Outgoing SseSession::frame_of(const bus::MessagePtr& message) const {
    if (!gzip_) return Outgoing::frame_of(message, message->sse_frame);
    // A stream of several channels writes its own id line: it needs the frame without one.
    if (message->seq != 0 && !position_of_.empty()) {
        const auto& run = message->sse_data_gzip.get([&] {
            return deflate::gzip_run(
                std::string_view(message->sse_frame).substr(own_id_line(*message)));
        });
        return Outgoing::frame_of(message, run.bytes);
    }
    const auto& run = message->sse_gzip.get([&] { return deflate::gzip_run(message->sse_frame); });
    return Outgoing::frame_of(message, run.bytes);
}

std::size_t SseSession::own_id_line(const bus::Message& message) {
    return message.sse_frame.find('\n') + 1;  // "id: <message id>\n"
}

void SseSession::frame_batch(const std::vector<Outgoing>& items, Buffers& buffers) {
    id_lines_.clear();
    id_lines_.reserve(items.size());  // the buffers point into it: it must not move
    for (const auto& item : items) {
        if (item.message) {
            frame_message(item, buffers);
        } else if (gzip_) {
            frame_gzip_item(item, buffers);
        } else {
            buffers.push_back(asio::buffer(*item.bytes));
        }
    }
}

// One channel: the frame as the bus built it (its id is the message's). Several: an id line of
// this stream's positions in every channel ("id: 12.0.7\n", what a resume parses back), then
// the frame without its own id line.
void SseSession::frame_message(const Outgoing& item, Buffers& buffers) {
    const auto& message = *item.message;
    auto it = message.seq != 0 ? position_of_.find(message.channel) : position_of_.end();
    if (it == position_of_.end()) {
        if (gzip_)
            crc_ = deflate::combine(crc_, message.sse_gzip.get([] { return bus::GzipRun{}; }));
        if (gzip_) length_ += message.sse_frame.size();
        buffers.push_back(asio::buffer(*item.bytes));
        return;
    }
    positions_[it->second] = message.seq;
    std::string line = "id: ";
    line.reserve(4 + 8 * positions_.size());
    for (std::size_t i = 0; i < positions_.size(); ++i) {
        if (i) line += '.';
        line += std::to_string(positions_[i]);
    }
    line += '\n';
    if (gzip_) {
        auto run = deflate::stored_run(line);
        crc_ = deflate::combine(crc_, run);
        length_ += run.length;
        const auto& data = message.sse_data_gzip.get([] { return bus::GzipRun{}; });
        crc_ = deflate::combine(crc_, data);
        length_ += data.length;
        buffers.push_back(asio::buffer(id_lines_.emplace_back(std::move(run.bytes))));
        buffers.push_back(asio::buffer(*item.bytes));
        return;
    }
    buffers.push_back(asio::buffer(id_lines_.emplace_back(std::move(line))));
    const std::string& frame = *item.bytes;
    auto skip = own_id_line(message);
    buffers.push_back(asio::buffer(frame.data() + skip, frame.size() - skip));
}

// The stream's own items, in gzip: the header (its retry line counted), keepalives, and the
// end of the stream.
void SseSession::frame_gzip_item(const Outgoing& item, Buffers& buffers) {
    const bus::GzipRun* counted = item.opcode == head        ? &gzip_retry()
                                  : item.opcode == keepalive ? &gzip_keepalive()
                                                             : nullptr;
    if (counted) {
        crc_ = deflate::combine(crc_, *counted);
        length_ += counted->length;
    }
    if (item.opcode == trailer) {
        buffers.push_back(
            asio::buffer(id_lines_.emplace_back(deflate::gzip_trailer(crc_, length_))));
        return;
    }
    buffers.push_back(asio::buffer(*item.bytes));
}

StreamSession::Clock::time_point SseSession::on_tick(Clock::time_point now) {
    if (writing() && now - last_write_at() >= write_stall_timeout(limits())) {
        BOOST_LOG_TRIVIAL(warning) << "sse " << peer() << ": client stopped reading, closing";
        finish("write stalled");
        return now;
    }
    if (!writing() && now - last_write_at() >= limits().keepalive_interval) {
        send(gzip_ ? Outgoing{kGzipKeepalive, keepalive} : Outgoing{kKeepalive});
    }
    return std::max(last_write_at() + limits().keepalive_interval,
                    now + std::chrono::milliseconds(10));
}

// Stop taking messages, let what is queued go out (briefly), then end the body (a gzip body
// with its trailer, so the client's decoder sees a complete stream).
void SseSession::on_shutdown() {
    std::optional<Outgoing> last_words;
    if (gzip_) last_words = Outgoing{kNothing, trailer};
    close(std::move(last_words), /*discard_pending=*/false, kShutdownFlushTime);
}

void start_sse(std::unique_ptr<Transport> transport, ChannelSet channels, StreamContext context,
               bool gzip) {
    auto session =
        std::make_shared<SseSession>(std::move(transport), std::move(channels), context, gzip);
    context.registry.add(session);
    session->run();
}

}  // namespace tickerd::gateway
