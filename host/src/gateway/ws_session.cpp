// WebSocket streams: Beast's handshake, then our own framing on the raw socket (see
// ws_session.hpp for why). Protocol: CONTRACT.md §3.
//
// Close codes sent by the server:
//   1000 normal (answering the client's close), 1001 "server shutting down",
//   1002 protocol error, 1007 a text message that is not UTF-8, 1008 too many requests
//   (limits.requests_per_minute), 1009 message too big (limits.max_ws_message_bytes),
//   4008 "slow consumer: send queue full" (the client did not read fast enough; reconnecting
//   is fine), 4001 "token expired" (the credential the connection was opened with expired:
//   get a new token, then reconnect). A client that answers nothing (not even pings) for three
//   keepalive intervals is dropped without a close frame.
// A bad channel in the upgrade URL does not refuse the connection (a browser could not see
// why): the client gets {"type":"connected","channels":[]} and then a {"type":"error"}
// naming the problem, and can subscribe at run time.
#include "gateway/ws_session.hpp"

#include "gateway/deflate.hpp"

#include "gateway/rest.hpp"

#include "core/json_writer.hpp"
#include "core/log.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json.hpp>

#include <algorithm>

namespace tickerd::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;

namespace {

// How long the closing handshake (and the flush before it) may take.
constexpr auto kCloseTimeout = std::chrono::seconds(3);
// A slow consumer has a backlog of its own to read before the close frame: it gets longer.
constexpr auto kSlowConsumerGrace = std::chrono::seconds(10);
// How long, in keepalive intervals, a ping may go unanswered before the client is dropped.
constexpr int kPingAnswerIntervals = 2;

const std::shared_ptr<const std::string> kEmpty = std::make_shared<const std::string>();

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

WebSocketSession::WebSocketSession(std::unique_ptr<Transport> transport,
                                   const StreamContext& context, const WebSocketAccept& accepted)
    : StreamSession(std::move(transport), context, telemetry::StreamProtocol::websocket),
      deflate_(accepted.deflate),
      client_no_context_takeover_(accepted.client_no_context_takeover) {
    if (limits().requests_per_minute > 0) requests_.emplace(limits().requests_per_minute);
}

// The 101 goes first, then {"type":"connected"}, then each channel's latest message.
void WebSocketSession::run(std::string query, std::string greeting) {
    asio::dispatch(strand(), [self = shared_from_this(), this, query = std::move(query),
                              greeting = std::move(greeting)]() mutable {
        if (phase() != Phase::starting) return;  // closed for shutdown meanwhile
        queue(Outgoing{std::make_shared<const std::string>(std::move(greeting)), ws::kRaw});
        auto requested = resolve_channels_from_query(query, limits().max_channels_per_connection,
                                                     EmptyChannels::allow, channel_types());
        open();
        if (phase() != Phase::open) return;
        if (requested) {
            if (auto allowed = authorize_channels(principal(), *requested); !allowed) {
                requested = allowed.error();
            }
        }
        ChannelSet initial = requested ? *requested : ChannelSet{};
        reply({{"type", "connected"}, {"channels", to_json_array(initial)}}, nullptr);
        if (!requested) reply_error(requested.error().detail, nullptr);
        subscribe(initial);
    });
}

// ---- Writing -------------------------------------------------------------------------

// With permessage-deflate, the message's frame compressed on its own: made once, for every
// client that agreed to it (RFC 7692 §7.2.1: the sync flush's tail is left off).
Outgoing WebSocketSession::frame_of(const bus::MessagePtr& message) const {
    if (!deflate_) return Outgoing::frame_of(message, message->ws_frame, ws::kText);
    const auto& deflated = message->ws_deflated.get([&] {
        auto bytes = deflate::compress_alone(message->ws_frame);
        bytes.resize(bytes.size() - 4);
        return bytes;
    });
    return Outgoing::frame_of(message, deflated, ws::kCompressedText);
}

// Per frame a 2–10 byte header built here and the payload shared with every other
// subscriber.
void WebSocketSession::frame_batch(const std::vector<Outgoing>& items, Buffers& buffers) {
    headers_.clear();
    headers_.reserve(items.size());  // the buffers point into it: it must not move
    buffers.reserve(2 * items.size());
    for (const auto& item : items) {
        if (item.opcode == ws::kRaw) {  // the handshake's answer: bytes as they are
            buffers.push_back(asio::buffer(*item.bytes));
            continue;
        }
        const auto& header = headers_.emplace_back(
            ws::encode_header(static_cast<ws::Opcode>(item.opcode), item.bytes->size()));
        buffers.push_back(asio::buffer(header.bytes.data(), header.size));
        if (!item.bytes->empty()) buffers.push_back(asio::buffer(*item.bytes));
    }
}

// ---- Reading -------------------------------------------------------------------------

void WebSocketSession::on_client_bytes(std::string_view bytes) {
    if (input_ == Input::closed_by_client || input_ == Input::broken) return;
    inbox_.append(bytes);
    std::size_t offset = 0;
    while (input_ != Input::broken && phase() != Phase::finished) {
        auto parsed = ws::parse_client_frame(std::string_view(inbox_).substr(offset),
                                             limits().max_ws_message_bytes, deflate_);
        if (parsed.status == ws::ParseResult::need_more) break;
        if (parsed.status == ws::ParseResult::error) {
            refuse_input(parsed.close_code, parsed.why);
            break;
        }
        offset += parsed.consumed;
        on_frame(std::move(parsed.frame));
        if (input_ == Input::closed_by_client) break;
    }
    if (input_ == Input::broken || input_ == Input::closed_by_client) {
        inbox_.clear();
    } else {
        inbox_.erase(0, offset);
    }
}

void WebSocketSession::on_frame(ws::ClientFrame&& frame) {
    bool control =
        frame.opcode == ws::kPing || frame.opcode == ws::kPong || frame.opcode == ws::kClose;
    if (input_ == Input::refused && !control) return;  // waiting for its close
    switch (frame.opcode) {
        case ws::kPing:
            send(
                Outgoing{std::make_shared<const std::string>(std::move(frame.payload)), ws::kPong});
            return;
        case ws::kPong:
            return;  // receiving it already counted as activity
        case ws::kRaw:
        case ws::kCompressedText:
            return;  // never parsed from a client (RSV1 comes as ClientFrame::compressed)
        case ws::kClose:
            return on_peer_close(frame.payload);
        case ws::kText:
        case ws::kBinary:
            if (input_ == Input::fragmented) {
                return refuse_input(ws::kCloseProtocolError, "new message inside a fragmented one");
            }
            if (frame.fin) return on_message(frame.opcode, frame.payload, frame.compressed);
            input_ = Input::fragmented;
            message_opcode_ = frame.opcode;
            message_compressed_ = frame.compressed;
            fragments_ = std::move(frame.payload);
            return;
        case ws::kContinuation:
            if (input_ != Input::fragmented) {
                return refuse_input(ws::kCloseProtocolError, "continuation without a message");
            }
            if (fragments_.size() + frame.payload.size() > limits().max_ws_message_bytes) {
                return refuse_input(ws::kCloseTooBig, "message too big");
            }
            fragments_ += frame.payload;
            if (!frame.fin) return;
            input_ = Input::messages;
            on_message(message_opcode_, fragments_, message_compressed_);
            fragments_.clear();
            return;
    }
}

// The client started the closing handshake, or answered ours.
void WebSocketSession::on_peer_close(const std::string& payload) {
    input_ = Input::closed_by_client;
    if (phase() == Phase::closed) return finish("closed");
    uint16_t code = ws::kCloseNormal;
    if (payload.size() == 1) {
        code = ws::kCloseProtocolError;
    } else if (payload.size() >= 2 && !ws::is_utf8(std::string_view(payload).substr(2))) {
        code = ws::kCloseInvalidData;
    } else if (payload.size() >= 2) {
        code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                     static_cast<uint8_t>(payload[1]));
        if (!ws::is_valid_close_code(code)) code = ws::kCloseProtocolError;
    }
    close_with(code, "", /*discard_pending=*/true);
}

void WebSocketSession::refuse_input(uint16_t code, std::string_view why, Input then) {
    input_ = then;
    BOOST_LOG_TRIVIAL(debug) << "ws " << peer() << ": " << why;
    close_with(code, why, /*discard_pending=*/true);
}

// ---- Client requests -----------------------------------------------------------------

void WebSocketSession::on_message(ws::Opcode opcode, std::string_view payload, bool compressed) {
    if (phase() != Phase::open) return;  // closing: requests are no longer answered
    std::string inflated;
    if (compressed) {
        if (!inflater_)
            inflater_ = std::make_unique<deflate::Inflater>(client_no_context_takeover_);
        auto plain = inflater_->inflate(payload, limits().max_ws_message_bytes);
        if (!plain) {
            return refuse_input(static_cast<uint16_t>(plain.error().status), plain.error().detail,
                                Input::refused);
        }
        inflated = std::move(*plain);
        payload = inflated;
    }
    std::string_view text = payload;
    if (opcode == ws::kText && !ws::is_utf8(text)) {
        return refuse_input(ws::kCloseInvalidData, "a text message that is not UTF-8",
                            Input::refused);
    }
    if (!within_rate()) return;
    auto parsed = parse_json(text, limits().max_json_depth);
    if (!parsed) return reply_error("malformed JSON: " + parsed.error().detail, nullptr);
    const json::value& value = *parsed;
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
    reply({{"type", "subscriptions"}, {"channels", to_json_array(channels())}}, id);
}

void WebSocketSession::on_subscribe(const json::object& request, const json::value* id) {
    auto resolved = channels_of_action(request);
    if (!resolved) return reply_error(resolved.error().detail, id);
    auto since = resume_positions(request, *resolved);
    if (!since) return reply_error(since.error().detail, id);
    auto view = view_of_action(request);
    if (!view) return reply_error(view.error().detail, id);
    ChannelSet added;
    for (auto& channel : *resolved) {
        if (std::find(channels().begin(), channels().end(), channel) == channels().end()) {
            added.push_back(std::move(channel));
        }
    }
    auto total = channels().size() + added.size();
    if (total > limits().max_channels_per_connection) {
        return reply_error(
            "channels: subscribing would make " + std::to_string(total) + " channels, at most " +
                std::to_string(limits().max_channels_per_connection) + " allowed per stream",
            id);
    }
    // The acknowledgement goes first (once the resumes are settled, saying how each went);
    // each new channel's latest message, or what it missed, follows it.
    ChannelSet after = channels();
    after.insert(after.end(), added.begin(), added.end());
    json::value request_id = id ? *id : json::value();
    bool resuming = !since->empty();
    subscribe(
        added, *since,
        [this, after = std::move(after), request_id,
         resuming](const std::vector<Resumed>& resumed) {
            json::object answer{{"type", "subscribed"}, {"channels", to_json_array(after)}};
            if (resuming) {
                json::object recovered;
                for (const auto& channel : resumed)
                    recovered[channel.channel] = channel.recovered;
                answer["recovered"] = std::move(recovered);
            }
            reply(std::move(answer), request_id.is_null() ? nullptr : &request_id);
        },
        std::make_shared<const ViewSpec>(std::move(*view)));
}

// A subscribe action's "mode", "fields" and "where": each a string as in an SSE query
// ("price,volume"), or for fields and where an array of strings.
Result<ViewSpec> WebSocketSession::view_of_action(const json::object& request) const {
    std::optional<std::string> texts[3];
    const char* names[] = {"mode", "fields", "where"};
    for (int i = 0; i < 3; ++i) {
        const auto* value = request.if_contains(names[i]);
        if (!value) continue;
        if (value->is_string()) {
            texts[i] = std::string(value->get_string());
        } else if (value->is_array() && i > 0) {
            std::string joined;
            for (const auto& item : value->get_array()) {
                if (!item.is_string()) {
                    return Error::malformed(std::string(names[i]) + ": expected strings");
                }
                joined += (joined.empty() ? "" : ",") + std::string(item.get_string());
            }
            texts[i] = std::move(joined);
        } else {
            return Error::malformed(std::string(names[i]) + ": expected a string" +
                                    (i > 0 ? " or an array of strings" : ""));
        }
    }
    return parse_view(texts[0], texts[1], texts[2]);
}

// A subscribe action's "since": {"<channel>": "<message id>", …}, each channel one the action
// names (a channel already followed keeps its place and is not resumed).
Result<ResumePositions> WebSocketSession::resume_positions(const json::object& request,
                                                           const ChannelSet& asked) const {
    ResumePositions positions;
    const auto* since = request.if_contains("since");
    if (!since) return positions;
    if (!since->is_object()) {
        return Error::malformed("since: expected an object of channel to message id");
    }
    for (const auto& [name, value] : since->get_object()) {
        auto channel = normalize_channel(name, channel_types());
        if (!channel || std::find(asked.begin(), asked.end(), channel->name()) == asked.end()) {
            return Error::malformed("since: '" + std::string(name) +
                                    "' is not one of the channels subscribed to");
        }
        auto seq = value.is_string() ? bus::seq_of_id(value.get_string()) : std::nullopt;
        if (!seq) {
            return Error::malformed("since: " + std::string(name) +
                                    ": expected a message id such as \"1764504000123-42\"");
        }
        if (std::find(channels().begin(), channels().end(), channel->name()) == channels().end())
            positions.emplace(channel->name(), *seq);
    }
    return positions;
}

void WebSocketSession::on_unsubscribe(const json::object& request, const json::value* id) {
    for (const char* key : {"since", "mode", "fields", "where"}) {
        if (request.contains(key)) {
            return reply_error(std::string(key) + ": unknown field for action 'unsubscribe'", id);
        }
    }
    auto resolved = channels_of_action(request);
    if (!resolved) return reply_error(resolved.error().detail, id);
    for (const auto& channel : *resolved)
        unsubscribe(channel);
    reply({{"type", "unsubscribed"}, {"channels", to_json_array(channels())}}, id);
}

// limits.requests_per_minute: a request over it is answered with an error; a client that
// goes on sending a minute's worth of refused requests is closed with 1008.
bool WebSocketSession::within_rate() {
    if (!requests_) return true;
    auto wait = requests_->take(Clock::now());
    if (wait.count() == 0) {
        refused_requests_ = 0;
        return true;
    }
    if (++refused_requests_ >= limits().requests_per_minute) {
        refuse_input(ws::kClosePolicy, "too many requests", Input::refused);
        return false;
    }
    reply_error("too many requests (limits.requests_per_minute: " +
                    std::to_string(limits().requests_per_minute) + "); try again in " +
                    std::to_string((wait.count() + 999) / 1000) + " s",
                nullptr);
    return false;
}

// The channels a subscribe or unsubscribe action names, each one the credential may read.
Result<ChannelSet> WebSocketSession::channels_of_action(const json::object& request) const {
    auto asked =
        read_channel_request(request, {"action", "id", "since", "mode", "fields", "where"});
    if (!asked) return asked.error();
    auto channels = resolve_channels(asked->channels, asked->data_types, asked->symbols,
                                     limits().max_channels_per_connection, EmptyChannels::refuse,
                                     channel_types());
    if (!channels) return channels;
    if (auto allowed = authorize_channels(principal(), *channels); !allowed) return allowed.error();
    return channels;
}

void WebSocketSession::reply(json::object body, const json::value* id) {
    if (id) body["id"] = *id;
    send(text_frame(write_json(body)));
}

void WebSocketSession::reply_error(std::string detail, const json::value* id) {
    reply({{"type", "error"}, {"detail", std::move(detail)}}, id);
}

// ---- Keepalive and closing -----------------------------------------------------------

// A ping when nothing was sent for an interval, so that the link is never idle for longer
// (proxies and NATs keep it); the client's pong (or anything else it sends) proves it is
// alive, and a ping unanswered for kPingAnswerIntervals drops it. A stream with messages
// flowing is not pinged at all: a client gone is found by the kernel, as what was sent stays
// unacknowledged (Transport::limit_unacknowledged), which spares the ping, its pong and their
// wake-ups on every busy link.
StreamSession::Clock::time_point WebSocketSession::on_tick(Clock::time_point now) {
    auto interval = limits().keepalive_interval;
    if (unanswered_ping_ && last_read_at() >= *unanswered_ping_) unanswered_ping_.reset();
    if (unanswered_ping_ && now - *unanswered_ping_ >= kPingAnswerIntervals * interval) {
        BOOST_LOG_TRIVIAL(info) << "ws " << peer() << ": no answer to pings, dropping the client";
        finish("client silent");
        return now;
    }
    if (now - last_write_at() >= interval) {
        send(Outgoing{kEmpty, ws::kPing});
        if (!unanswered_ping_) unanswered_ping_ = now;
    }
    // Once an interval, not at each message's interval after: a link gets a ping after one
    // to two intervals of quiet, and a busy one costs a timer only every interval.
    return now + interval;
}

// What was already written goes on to the client; the backlog is dropped, and the close
// frame follows what is in flight, so a client that reads again sees why it was cut.
void WebSocketSession::on_slow_consumer() {
    close(Outgoing{std::make_shared<const std::string>(
                       ws::close_payload(ws::kCloseSlowConsumer, "slow consumer: send queue full")),
                   ws::kClose},
          /*discard_pending=*/true, kSlowConsumerGrace);
}

void WebSocketSession::on_expired() {
    close_with(ws::kCloseTokenExpired, "token expired", /*discard_pending=*/false);
}

void WebSocketSession::on_shutdown() {
    close_with(ws::kCloseGoingAway, "server shutting down", /*discard_pending=*/false);
}

// Our close frame is out. When the client's came first the handshake is complete; else
// its answer (or its end of stream) is awaited, so the close frame is not lost to a reset.
void WebSocketSession::on_closed() {
    if (input_ == Input::closed_by_client) finish("closed");
}

// The close frame goes after what is kept of the queue; the core bounds the wait.
void WebSocketSession::close_with(uint16_t code, std::string_view reason, bool discard_pending) {
    close(
        Outgoing{std::make_shared<const std::string>(ws::close_payload(code, reason)), ws::kClose},
        discard_pending, kCloseTimeout);
}

void start_websocket(std::unique_ptr<Transport> transport, std::string_view query,
                     WebSocketAccept accepted, StreamContext context) {
    auto session = std::make_shared<WebSocketSession>(std::move(transport), context, accepted);
    context.registry.add(session);
    session->run(std::string(query), std::move(accepted.greeting));
}

Result<WebSocketAccept> accept_websocket(const Request& request) {
    namespace http = beast::http;
    if (!beast::websocket::is_upgrade(request)) {
        return Error(426, "this endpoint speaks WebSocket: send an Upgrade request");
    }
    if (request[http::field::sec_websocket_version] != "13") {
        return Error(426, "Sec-WebSocket-Version must be 13");
    }
    auto key = ws::accept_key(request[http::field::sec_websocket_key]);
    if (!key) return key.error();
    WebSocketAccept accepted;
    accepted.greeting =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        *key + "\r\n";
    if (auto agreed = deflate::negotiate(request[http::field::sec_websocket_extensions])) {
        accepted.deflate = true;
        accepted.client_no_context_takeover = agreed->client_no_context_takeover;
        accepted.greeting += "Sec-WebSocket-Extensions: " + agreed->response + "\r\n";
    }
    accepted.greeting += "\r\n";
    return accepted;
}

}  // namespace tickerd::gateway
