// One Server-Sent Events stream: the response header, `retry:`, then every message of the
// subscribed channels (latest first), keepalive comments when idle, until the client goes.
#pragma once

#include "gateway/send_queue.hpp"
#include "gateway/streams.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <chrono>

namespace tickerd::gateway {

class SseSession final : public bus::Subscriber,
                         public Closable,
                         public std::enable_shared_from_this<SseSession> {
  public:
    SseSession(boost::beast::tcp_stream stream, ChannelSet channels, const StreamContext& context);
    ~SseSession() override;

    void run();
    void deliver(const bus::MessagePtr& message) override;  // any thread; only queues
    void close_for_shutdown() override;                     // any thread

  private:
    using Clock = std::chrono::steady_clock;

    void do_read();
    void on_read(boost::system::error_code ec);
    void do_write();
    void on_write(boost::system::error_code ec);
    void arm_keepalive();
    void on_keepalive(boost::system::error_code ec);
    void on_overflow();
    void begin_shutdown();
    void finish(std::string_view why);

    boost::beast::tcp_stream stream_;
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    boost::asio::steady_timer timer_;
    bus::Bus& bus_;
    const Limits limits_;
    const ChannelSet channels_;
    const std::string peer_;
    SendQueue queue_;

    // Owned by the strand.
    std::vector<Outgoing> in_flight_;
    std::vector<boost::asio::const_buffer> buffers_;
    std::array<char, 512> read_buffer_{};
    bool writing_ = false;
    bool shutting_down_ = false;
    bool finished_ = false;
    Clock::time_point last_write_at_;
};

}  // namespace tickerd::gateway
