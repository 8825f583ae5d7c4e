// One WebSocket client. Beast does the handshake; after it the session owns the socket and
// speaks RFC 6455 itself (ws_frame.hpp), so that every write can drain the whole queue in one
// gather-write, with each message's payload shared by all its subscribers.
#pragma once

#include "gateway/send_queue.hpp"
#include "gateway/streams.hpp"
#include "gateway/ws_frame.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/object.hpp>

#include <array>
#include <chrono>
#include <optional>

namespace tickerd::gateway {

class WebSocketSession final : public bus::Subscriber,
                               public Closable,
                               public std::enable_shared_from_this<WebSocketSession> {
  public:
    // Largest message a client may send (a subscribe request for many channels fits).
    static constexpr std::size_t kMaxClientMessage = 64 * 1024;

    WebSocketSession(boost::beast::tcp_stream stream, const StreamContext& context);
    ~WebSocketSession() override;

    void run(Request request);
    void deliver(const bus::MessagePtr& message) override;  // any thread; only queues
    void close_for_shutdown() override;                     // any thread

  private:
    using Clock = std::chrono::steady_clock;

    void on_accept(boost::system::error_code ec);
    // Reading client frames.
    void do_read();
    void on_read(boost::system::error_code ec, std::size_t bytes);
    void process_input();
    void on_frame(ws::ClientFrame&& frame);
    void on_peer_close(const std::string& payload);
    // Client requests.
    void on_message(std::string_view text);
    void on_subscribe(const boost::json::object& request, const boost::json::value* id);
    void on_unsubscribe(const boost::json::object& request, const boost::json::value* id);
    void subscribe(const ChannelSet& channels);
    void unsubscribe_all();
    void reply(boost::json::object body, const boost::json::value* id);
    void reply_error(std::string detail, const boost::json::value* id);
    void send(Outgoing item);
    // Writing.
    void do_write();
    void on_write(boost::system::error_code ec);
    void batch_sent();  // after a batch is fully written: the close frame's bookkeeping
    // Keepalive and closing.
    void arm_keepalive();
    void on_keepalive(boost::system::error_code ec);
    void on_overflow();
    void begin_close(uint16_t code, std::string_view reason, bool discard_pending);
    void finish(std::string_view why);

    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    boost::asio::steady_timer keepalive_timer_;
    boost::asio::steady_timer close_timer_;
    bus::Bus& bus_;
    const Limits limits_;
    const std::string peer_;
    SendQueue queue_;

    // Owned by the strand.
    std::optional<Request> upgrade_request_;  // until the handshake is done
    ChannelSet channels_;
    std::array<char, 16 * 1024> read_buffer_{};
    std::string inbox_;      // received bytes not yet parsed into frames
    std::string fragments_;  // a fragmented message being reassembled
    bool in_fragmented_message_ = false;
    Clock::time_point last_received_;
    std::vector<Outgoing> in_flight_;
    std::vector<ws::FrameHeader> headers_;
    std::vector<boost::asio::const_buffer> buffers_;
    bool writing_ = false;
    bool open_ = false;
    std::optional<Outgoing> close_frame_;  // sent once everything before it has gone
    bool close_in_flight_ = false;
    bool close_sent_ = false;
    bool peer_closed_ = false;
    bool input_broken_ = false;  // a protocol error: the rest of the input is not trusted
    bool finished_ = false;
};

}  // namespace tickerd::gateway
