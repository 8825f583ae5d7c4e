// One WebSocket client. Beast does the handshake; after it the stream core owns the socket
// and this session speaks RFC 6455 itself (ws_frame.hpp), so that every write can drain the
// whole queue in one gather-write, with each message's payload shared by all its subscribers.
#pragma once

#include "gateway/admission.hpp"
#include "gateway/deflate.hpp"
#include "gateway/stream_session.hpp"
#include "gateway/ws_frame.hpp"

#include <boost/json/object.hpp>

#include <optional>

namespace tickerd::gateway {

class WebSocketSession final : public StreamSession {
  public:
    WebSocketSession(std::unique_ptr<Transport> transport, const StreamContext& context,
                     const WebSocketAccept& accepted);

    // `query` names the channels to start with; `greeting` is the 101 that accepts it.
    void run(std::string query, std::string greeting);

  private:
    // What the client's bytes are read as.
    enum class Input {
        messages,          // between messages
        fragmented,        // inside a fragmented message (its parts gather in `fragments_`)
        refused,           // its messages are refused (not UTF-8, too many): only its close counts
        closed_by_client,  // its close frame came: nothing after it counts
        broken,            // it broke the framing: nothing after it is trusted
    };

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
    // Closes with `code`; `then` is what the client's further bytes are read as.
    void refuse_input(uint16_t code, std::string_view why, Input then = Input::broken);
    // Client requests.
    void on_message(ws::Opcode opcode, std::string_view payload, bool compressed);
    bool within_rate();
    void on_subscribe(const boost::json::object& request, const boost::json::value* id);
    void on_unsubscribe(const boost::json::object& request, const boost::json::value* id);
    Result<ChannelSet> channels_of_action(const boost::json::object& request) const;
    Result<ResumePositions> resume_positions(const boost::json::object& request,
                                             const ChannelSet& asked) const;
    Result<ViewSpec> view_of_action(const boost::json::object& request) const;
    void reply(boost::json::object body, const boost::json::value* id);
    void reply_error(std::string detail, const boost::json::value* id);
    void close_with(uint16_t code, std::string_view reason, bool discard_pending);

    // Owned by the strand.
    Input input_ = Input::messages;
    std::string inbox_;                      // received bytes not yet parsed into frames
    std::string fragments_;                  // a fragmented message being reassembled
    ws::Opcode message_opcode_ = ws::kText;  // of the message being reassembled
    bool message_compressed_ = false;        // ditto: its first frame had RSV1
    const bool deflate_;                     // permessage-deflate agreed
    const bool client_no_context_takeover_;
    std::unique_ptr<deflate::Inflater> inflater_;  // from the client's first compressed message
    std::optional<TokenBucket> requests_;          // limits.requests_per_minute; none: no limit
    int refused_requests_ = 0;                     // in a row
    std::vector<ws::FrameHeader> headers_;
    // The first ping the client has not answered yet (nothing read since); none: all answered.
    std::optional<Clock::time_point> unanswered_ping_;
};

}  // namespace tickerd::gateway
