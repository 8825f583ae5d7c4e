// One WebSocket client. Beast does the handshake; after it the stream core owns the socket
// and this session speaks RFC 6455 itself (ws_frame.hpp), so that every write can drain the
// whole queue in one gather-write, with each message's payload shared by all its subscribers.
#pragma once

#include "gateway/stream_session.hpp"
#include "gateway/ws_frame.hpp"

#include <boost/beast/websocket/stream.hpp>
#include <boost/json/object.hpp>

#include <optional>

namespace tickerd::gateway {

class WebSocketSession final : public StreamSession {
  public:
    // Largest message a client may send (a subscribe request for many channels fits).
    static constexpr std::size_t kMaxClientMessage = 64 * 1024;

    WebSocketSession(boost::beast::tcp_stream stream, const StreamContext& context);

    void run(Request request);

  private:
    // What the client's bytes are read as.
    enum class Input {
        messages,          // between messages
        fragmented,        // inside a fragmented message (its parts gather in `fragments_`)
        closed_by_client,  // its close frame came: nothing after it counts
        broken,            // it broke the protocol: nothing after it is trusted
    };

    void on_accept(boost::system::error_code ec, const std::string& target);
    // StreamSession.
    Outgoing frame_of(const bus::MessagePtr& message) const override;
    void frame_batch(const std::vector<Outgoing>& items, Buffers& buffers) override;
    void on_client_bytes(std::string_view bytes) override;
    Clock::time_point on_tick(Clock::time_point now) override;
    void on_slow_consumer() override;
    void on_shutdown() override;
    void on_closed() override;
    void on_expired() override;
    // Client frames.
    void on_frame(ws::ClientFrame&& frame);
    void on_peer_close(const std::string& payload);
    void refuse_input(uint16_t code, std::string_view why);
    // Client requests.
    void on_message(std::string_view text);
    void on_subscribe(const boost::json::object& request, const boost::json::value* id);
    void on_unsubscribe(const boost::json::object& request, const boost::json::value* id);
    Result<ChannelSet> channels_of_action(const boost::json::object& request) const;
    void reply(boost::json::object body, const boost::json::value* id);
    void reply_error(std::string detail, const boost::json::value* id);
    void close_with(uint16_t code, std::string_view reason, bool discard_pending);

    // Until the handshake is done.
    std::optional<boost::beast::websocket::stream<boost::beast::tcp_stream&>> handshake_;
    std::optional<Request> upgrade_request_;
    // Owned by the strand.
    Input input_ = Input::messages;
    std::string inbox_;      // received bytes not yet parsed into frames
    std::string fragments_;  // a fragmented message being reassembled
    std::vector<ws::FrameHeader> headers_;
};

}  // namespace tickerd::gateway
