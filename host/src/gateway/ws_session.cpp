// WebSocket streams: Beast's handshake, then our own framing on the raw socket (see
// ws_session.hpp for why). Protocol: CONTRACT.md §3.
//
// Close codes sent by the server:
//   1000 normal (answering the client's close), 1001 "server shutting down",
//   1002 protocol error, 1009 message too big (client messages are capped at 64 KiB),
//   4008 "slow consumer: send queue full" (the client did not read fast enough; reconnecting
//   is fine). A client that answers nothing (not even pings) for three keepalive intervals
//   is dropped without a close frame.
// A bad channel in the upgrade URL does not refuse the connection (a browser could not see
// why): the client gets {"type":"connected","channels":[]} and then a {"type":"error"}
// naming the problem, and can subscribe at run time.
#include "gateway/ws_session.hpp"

#include "core/json_writer.hpp"
#include "core/log.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <algorithm>

namespace tickerd::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// How long the closing handshake (and the flush before it) may take.
constexpr auto kCloseTimeout = std::chrono::seconds(3);
// Silence from the client, in keepalive intervals, after which it is considered gone.
constexpr int kSilentIntervalsAllowed = 3;

const std::shared_ptr<const std::string> kEmpty = std::make_shared<const std::string>();

std::string describe_peer(beast::tcp_stream& stream) {
    boost::system::error_code ec;
    auto endpoint = stream.socket().remote_endpoint(ec);
    if (ec) return "unknown peer";
    return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

json::array to_json_array(const ChannelSet& channels) {
    json::array array;
    array.reserve(channels.size());
    for (const auto& channel : channels)
        array.emplace_back(channel);
    return array;
}

Outgoing text_frame(std::string text) {
    return Outgoing{std::make_shared<const std::string>(std::move(text)), ws::kText};
}

}  // namespace

WebSocketSession::WebSocketSession(beast::tcp_stream stream, const StreamContext& context)
    : ws_(std::move(stream)),
      strand_(asio::make_strand(ws_.get_executor())),
      keepalive_timer_(strand_),
      close_timer_(strand_),
      bus_(context.services.bus),
      limits_(context.limits),
      peer_(describe_peer(ws_.next_layer())),
      queue_(limits_.max_queued_messages, limits_.max_queued_bytes) {}

WebSocketSession::~WebSocketSession() = default;

void WebSocketSession::run(Request request) {
    asio::dispatch(strand_, [self = shared_from_this(), request = std::move(request)]() mutable {
        self->upgrade_request_ = std::move(request);
        // Beast's own timers stay off: after the handshake it no longer drives the socket.
        self->ws_.set_option(websocket::stream_base::timeout{
            websocket::stream_base::none(), websocket::stream_base::none(), false});
        self->ws_.next_layer().expires_after(self->limits_.request_timeout);
        // Not bound to the strand: Beast's accept op needs work tracking that a strand over
        // any_io_executor lacks with BOOST_ASIO_NO_DEPRECATED; the handler hops over instead.
        self->ws_.async_accept(*self->upgrade_request_, [self](boost::system::error_code ec) {
            asio::dispatch(self->strand_, [self, ec] { self->on_accept(ec); });
        });
    });
}

void WebSocketSession::on_accept(boost::system::error_code ec) {
    if (finished_) return;  // closed for shutdown while the handshake was in flight
    auto target = upgrade_request_->target();
    auto question = target.find('?');
    std::string_view query;
    if (question != beast::string_view::npos) query = target.substr(question + 1);
    auto requested =
        resolve_channels_from_query(query, limits_.max_channels_per_stream, EmptyChannels::allow);
    upgrade_request_.reset();
    if (ec) {
        BOOST_LOG_TRIVIAL(debug) << "ws " << peer_ << ": handshake failed: " << ec.message();
        return finish("handshake failed");
    }
    // From here on the socket is ours; the HTTP side's request timeout no longer applies.
    ws_.next_layer().expires_never();
    ws_.next_layer().socket().non_blocking(true, ec);  // for write_now
    if (ec) return finish("socket: " + ec.message());
    open_ = true;
    last_received_ = Clock::now();

    auto* channels = std::get_if<ChannelSet>(&requested);
    ChannelSet initial = channels ? *channels : ChannelSet{};
    reply({{"type", "connected"}, {"channels", to_json_array(initial)}}, nullptr);
    if (auto* error = std::get_if<ApiError>(&requested)) reply_error(error->detail, nullptr);
    subscribe(initial);
    BOOST_LOG_TRIVIAL(debug) << "ws " << peer_ << ": open, " << channels_.size() << " channel(s)";
    do_read();
    arm_keepalive();
}

// ---- Reading -------------------------------------------------------------------------

void WebSocketSession::do_read() {
    ws_.next_layer().async_read_some(
        asio::buffer(read_buffer_),
        asio::bind_executor(
            strand_, [self = shared_from_this()](boost::system::error_code ec, std::size_t bytes) {
                self->on_read(ec, bytes);
            }));
}

void WebSocketSession::on_read(boost::system::error_code ec, std::size_t bytes) {
    if (finished_) return;
    if (ec) return finish(ec == asio::error::eof ? "client closed the connection" : ec.message());
    last_received_ = Clock::now();
    if (!input_broken_) {
        inbox_.append(read_buffer_.data(), bytes);
        process_input();
    }
    if (!finished_) do_read();
}

void WebSocketSession::process_input() {
    std::size_t offset = 0;
    while (!input_broken_ && !finished_) {
        auto parsed =
            ws::parse_client_frame(std::string_view(inbox_).substr(offset), kMaxClientMessage);
        if (parsed.status == ws::ParseResult::need_more) break;
        if (parsed.status == ws::ParseResult::error) {
            input_broken_ = true;
            BOOST_LOG_TRIVIAL(debug) << "ws " << peer_ << ": " << parsed.why;
            begin_close(parsed.close_code, parsed.why, /*discard_pending=*/true);
            break;
        }
        offset += parsed.consumed;
        on_frame(std::move(parsed.frame));
    }
    if (input_broken_) {
        inbox_.clear();
    } else {
        inbox_.erase(0, offset);
    }
}

void WebSocketSession::on_frame(ws::ClientFrame&& frame) {
    auto protocol_error = [this](std::string_view why) {
        input_broken_ = true;
        begin_close(ws::kCloseProtocolError, why, /*discard_pending=*/true);
    };
    switch (frame.opcode) {
        case ws::kPing:
            send(
                Outgoing{std::make_shared<const std::string>(std::move(frame.payload)), ws::kPong});
            return;
        case ws::kPong:
            return;  // receiving it already counted as activity
        case ws::kClose:
            return on_peer_close(frame.payload);
        case ws::kText:
        case ws::kBinary:
            if (in_fragmented_message_)
                return protocol_error("new message inside a fragmented one");
            if (frame.fin) return on_message(frame.payload);
            in_fragmented_message_ = true;
            fragments_ = std::move(frame.payload);
            return;
        case ws::kContinuation:
            if (!in_fragmented_message_) return protocol_error("continuation without a message");
            if (fragments_.size() + frame.payload.size() > kMaxClientMessage) {
                input_broken_ = true;
                return begin_close(ws::kCloseTooBig, "message too big", /*discard_pending=*/true);
            }
            fragments_ += frame.payload;
            if (!frame.fin) return;
            in_fragmented_message_ = false;
            on_message(fragments_);
            fragments_.clear();
            return;
    }
}

void WebSocketSession::on_peer_close(const std::string& payload) {
    peer_closed_ = true;
    if (close_sent_) return finish("closed");
    uint16_t code = ws::kCloseNormal;
    if (payload.size() == 1) {
        code = ws::kCloseProtocolError;
    } else if (payload.size() >= 2) {
        code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                     static_cast<uint8_t>(payload[1]));
        if (!ws::is_valid_close_code(code)) code = ws::kCloseProtocolError;
    }
    begin_close(code, "", /*discard_pending=*/true);
}

// ---- Client requests -----------------------------------------------------------------

void WebSocketSession::on_message(std::string_view text) {
    if (close_frame_) return;  // closing: requests are no longer answered
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec) return reply_error("malformed JSON: " + ec.message(), nullptr);
    if (!value.is_object()) {
        return reply_error("expected a JSON object such as {\"action\":\"subscribe\",...}",
                           nullptr);
    }
    const auto& request = value.get_object();
    const json::value* id = request.if_contains("id");
    const auto* action = request.if_contains("action");
    if (!action || !action->is_string()) {
        return reply_error(
            "action: expected one of subscribe, unsubscribe, ping, list_subscriptions", id);
    }
    const auto& name = action->get_string();
    if (name == "subscribe") return on_subscribe(request, id);
    if (name == "unsubscribe") return on_unsubscribe(request, id);
    if (name != "ping" && name != "list_subscriptions") {
        return reply_error("action: '" + std::string(name) +
                               "' is not one of subscribe, unsubscribe, ping, list_subscriptions",
                           id);
    }
    for (const auto& field : request) {
        if (field.key() != "action" && field.key() != "id") {
            return reply_error(
                std::string(field.key()) + ": unknown field for action '" + std::string(name) + "'",
                id);
        }
    }
    if (name == "ping") return reply({{"type", "pong"}}, id);
    reply({{"type", "subscriptions"}, {"channels", to_json_array(channels_)}}, id);
}

void WebSocketSession::on_subscribe(const json::object& request, const json::value* id) {
    auto lists = read_channel_request(request, {"action", "id"});
    if (auto* error = std::get_if<ApiError>(&lists)) return reply_error(error->detail, id);
    const auto& asked = std::get<ChannelRequest>(lists);
    auto resolved = resolve_channels(asked.channels, asked.data_types, asked.symbols,
                                     limits_.max_channels_per_stream);
    if (auto* error = std::get_if<ApiError>(&resolved)) return reply_error(error->detail, id);
    ChannelSet added;
    for (auto& channel : std::get<ChannelSet>(resolved)) {
        if (std::find(channels_.begin(), channels_.end(), channel) == channels_.end()) {
            added.push_back(std::move(channel));
        }
    }
    if (channels_.size() + added.size() > limits_.max_channels_per_stream) {
        return reply_error(
            "channels: subscribing would make " + std::to_string(channels_.size() + added.size()) +
                " channels, at most " + std::to_string(limits_.max_channels_per_stream) +
                " allowed per stream",
            id);
    }
    // The acknowledgement goes first; each new channel's latest message follows it.
    ChannelSet after = channels_;
    after.insert(after.end(), added.begin(), added.end());
    reply({{"type", "subscribed"}, {"channels", to_json_array(after)}}, id);
    subscribe(added);
}

void WebSocketSession::on_unsubscribe(const json::object& request, const json::value* id) {
    auto lists = read_channel_request(request, {"action", "id"});
    if (auto* error = std::get_if<ApiError>(&lists)) return reply_error(error->detail, id);
    const auto& asked = std::get<ChannelRequest>(lists);
    auto resolved = resolve_channels(asked.channels, asked.data_types, asked.symbols,
                                     limits_.max_channels_per_stream);
    if (auto* error = std::get_if<ApiError>(&resolved)) return reply_error(error->detail, id);
    for (const auto& channel : std::get<ChannelSet>(resolved)) {
        auto it = std::find(channels_.begin(), channels_.end(), channel);
        if (it == channels_.end()) continue;
        // Untracked first: a delivery racing with the unsubscribe is then dropped.
        queue_.untrack(channel);
        bus_.unsubscribe(channel, this);
        channels_.erase(it);
    }
    reply({{"type", "unsubscribed"}, {"channels", to_json_array(channels_)}}, id);
}

void WebSocketSession::subscribe(const ChannelSet& channels) {
    for (const auto& channel : channels) {
        channels_.push_back(channel);
        queue_.track(channel);
        bus_.subscribe(channel, shared_from_this());  // delivers the latest message first
    }
}

void WebSocketSession::unsubscribe_all() {
    for (const auto& channel : channels_) {
        queue_.untrack(channel);
        bus_.unsubscribe(channel, this);
    }
    channels_.clear();
}

void WebSocketSession::reply(json::object body, const json::value* id) {
    if (id) body["id"] = *id;
    send(text_frame(write_json(body)));
}

void WebSocketSession::reply_error(std::string detail, const json::value* id) {
    reply({{"type", "error"}, {"detail", std::move(detail)}}, id);
}

void WebSocketSession::send(Outgoing item) {
    auto result = queue_.push(std::move(item));
    if (result == SendQueue::Push::overflow) return on_overflow();
    do_write();
}

void WebSocketSession::deliver(const bus::MessagePtr& message) {
    auto result =
        queue_.push_message(message, Outgoing::frame_of(message, message->ws_frame, ws::kText));
    if (result == SendQueue::Push::wake_writer) {
        asio::post(strand_, [self = shared_from_this()] { self->do_write(); });
    } else if (result == SendQueue::Push::overflow) {
        asio::post(strand_, [self = shared_from_this()] { self->on_overflow(); });
    }
}

// ---- Writing -------------------------------------------------------------------------

// Everything pending goes out in one gather-write: per frame a 2–10 byte header built here
// and the payload shared with every other subscriber. The close frame, once asked for,
// follows the last queued frame.
void WebSocketSession::do_write() {
    while (!writing_ && !finished_ && open_ && !close_sent_) {
        queue_.take_all(in_flight_);
        if (in_flight_.empty()) {
            if (!close_frame_) return;
            in_flight_.push_back(*close_frame_);
            close_in_flight_ = true;
        }
        headers_.clear();
        headers_.reserve(in_flight_.size());
        buffers_.clear();
        buffers_.reserve(2 * in_flight_.size());
        for (const auto& item : in_flight_) {
            const auto& header = headers_.emplace_back(
                ws::encode_header(static_cast<ws::Opcode>(item.opcode), item.bytes->size()));
            buffers_.push_back(asio::buffer(header.bytes.data(), header.size));
            if (!item.bytes->empty()) buffers_.push_back(asio::buffer(*item.bytes));
        }
        boost::system::error_code ec;
        write_now(ws_.next_layer().socket(), buffers_, ec);
        if (ec) return finish("write failed: " + ec.message());
        if (!buffers_.empty()) {
            writing_ = true;
            asio::async_write(
                ws_.next_layer().socket(), buffers_,
                asio::bind_executor(
                    strand_, [self = shared_from_this()](boost::system::error_code ec,
                                                         std::size_t) { self->on_write(ec); }));
            return;
        }
        batch_sent();
    }
}

void WebSocketSession::on_write(boost::system::error_code ec) {
    writing_ = false;
    if (finished_) return;
    if (ec) return finish("write failed: " + ec.message());
    batch_sent();
    do_write();
}

void WebSocketSession::batch_sent() {
    in_flight_.clear();  // sent: release the frames now, not at the next write
    if (!close_in_flight_) return;
    close_sent_ = true;
    // Otherwise the client's close (or its end of stream) is awaited, so the close frame is
    // not lost to a reset; the close timer bounds the wait.
    if (peer_closed_) finish("closed");
}

// ---- Keepalive and closing -----------------------------------------------------------

// A ping when the client has been silent for an interval; the client's pong (or anything
// else it sends) proves it is alive.
void WebSocketSession::arm_keepalive() {
    keepalive_timer_.expires_after(limits_.keepalive_interval);
    keepalive_timer_.async_wait(asio::bind_executor(
        strand_,
        [self = shared_from_this()](boost::system::error_code ec) { self->on_keepalive(ec); }));
}

void WebSocketSession::on_keepalive(boost::system::error_code ec) {
    if (ec || finished_ || close_frame_) return;
    auto silent = Clock::now() - last_received_;
    if (silent >= kSilentIntervalsAllowed * limits_.keepalive_interval) {
        BOOST_LOG_TRIVIAL(info) << "ws " << peer_ << ": no answer to pings, dropping the client";
        return finish("client silent");
    }
    if (silent >= limits_.keepalive_interval) send(Outgoing{kEmpty, ws::kPing});
    arm_keepalive();
}

void WebSocketSession::on_overflow() {
    if (finished_ || close_frame_) return;
    BOOST_LOG_TRIVIAL(warning) << "ws " << peer_
                               << ": slow consumer, send queue full; closing with 4008";
    begin_close(ws::kCloseSlowConsumer, "slow consumer: send queue full",
                /*discard_pending=*/true);
}

void WebSocketSession::close_for_shutdown() {
    asio::dispatch(strand_, [self = shared_from_this()] {
        if (!self->open_) return self->finish("server shutting down");
        self->begin_close(ws::kCloseGoingAway, "server shutting down", /*discard_pending=*/false);
    });
}

// Stops taking messages, queues the close frame behind what is kept, and gives the closing
// handshake a deadline.
void WebSocketSession::begin_close(uint16_t code, std::string_view reason, bool discard_pending) {
    if (finished_ || close_frame_) return;
    unsubscribe_all();
    queue_.close(discard_pending);
    close_frame_ =
        Outgoing{std::make_shared<const std::string>(ws::close_payload(code, reason)), ws::kClose};
    keepalive_timer_.cancel();
    close_timer_.expires_after(kCloseTimeout);
    close_timer_.async_wait(
        asio::bind_executor(strand_, [self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->finish("closing handshake timed out");
        }));
    do_write();
}

void WebSocketSession::finish(std::string_view why) {
    if (finished_) return;
    finished_ = true;
    unsubscribe_all();
    queue_.close(/*discard_pending=*/true);
    keepalive_timer_.cancel();
    close_timer_.cancel();
    auto& stream = ws_.next_layer();
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    BOOST_LOG_TRIVIAL(debug) << "ws " << peer_ << ": closed (" << why << ")";
}

void start_websocket(beast::tcp_stream stream, Request request, StreamContext context) {
    auto session = std::make_shared<WebSocketSession>(std::move(stream), context);
    context.registry.add(session);
    session->run(std::move(request));
}

}  // namespace tickerd::gateway
