// Internal to the gateway: one HTTP/1.1 keep-alive connection. Answers REST requests and
// hands the connection over to an SSE or WebSocket session when a request asks for a stream.
#pragma once

#include "gateway/admission.hpp"
#include "gateway/gate.hpp"
#include "gateway/rest.hpp"
#include "gateway/transport.hpp"
#include "gateway/views.hpp"

#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include <atomic>
#include <memory>
#include <optional>

namespace tickerd::gateway {

class HttpSession;

// What every connection of one server shares. Owned jointly by the server and its sessions,
// because a session can outlive the Server object by a few handlers at shutdown.
struct GatewayState {
    GatewayState(boost::asio::io_context& stream_io, Services& services, Limits limits)
        : stream_io(stream_io),
          services(services),
          limits(limits),
          counter(std::make_shared<ConnectionCounter>(limits.max_connections,
                                                      limits.max_connections_per_ip,
                                                      services.telemetry.metrics().connections)),
          rate_limiter(limits.requests_per_minute),
          views(std::make_shared<ViewHub>(services.bus, services.config.deltas_snapshot_every)),
          wheel(std::make_shared<TimerWheel>(stream_io)),
          wakeups(std::make_shared<WriterWakeups>(stream_io, kIoThreads)) {}

    boost::asio::io_context& stream_io;  // where streams run (requests run on another)
    Services& services;
    const Limits limits;
    std::shared_ptr<ConnectionCounter> counter;
    RateLimiter rate_limiter;  // REST requests per credential, or per address without auth
    ClosableRegistry streams;
    // The filtered and delta views of channels in use; streams hold it too, as they may end
    // after the last HTTP connection (and with it this state) has gone.
    std::shared_ptr<ViewHub> views;
    std::shared_ptr<TimerWheel> wheel;  // the streams' keepalives and deadlines (held by them too)
    std::shared_ptr<WriterWakeups> wakeups;  // the streams' writers, started in bulk (likewise)
    ClosableRegistry connections;  // closed when idle; a connection that became a stream is not
    // State-store writes fsync; they run here so the I/O threads never wait on a disk.
    boost::asio::thread_pool config_thread{1};
    // Requests that may wait on Redis (publish, latest) run here, several at once, so one
    // round trip does not hold up the next request.
    boost::asio::thread_pool bus_threads{4};
    std::atomic<bool> stopping{false};
};

class HttpSession : public Closable, public std::enable_shared_from_this<HttpSession> {
  public:
    HttpSession(std::unique_ptr<Transport> transport, std::shared_ptr<GatewayState> gateway,
                ConnectionCounter::Slot slot, std::shared_ptr<const ListenerInfo> listener);
    void run();
    // Closes the connection unless it has become a stream (streams close themselves).
    void close_for_shutdown() override;

  private:
    void on_started(boost::system::error_code ec);
    void read_request();
    void read_header();
    void read_body();
    void on_read(boost::beast::error_code ec);
    void dispatch_request();
    void start_stream(const Route& route, std::string_view query, const Gate& gate,
                      access::Principal principal);
    void hand_over();
    Result<ChannelSet> requested_channels(const Route& route, std::string_view query,
                                          const access::Principal& principal);
    Result<ResumePositions> resume_positions(std::string_view query,
                                             const ChannelSet& channels) const;
    void run_handler(const RouteMatch& match, std::string_view query, access::Principal principal);
    std::optional<Reply> rate_limited(const Route& route, const access::Principal& principal);
    void answer(Reply reply, bool keep_alive);
    void on_written(bool keep_alive, boost::beast::error_code ec);

    std::unique_ptr<Transport> transport_;
    // The transport's strand on the request thread, kept: the transport moves on to a stream.
    const boost::asio::any_io_executor strand_;
    TransportStream stream_;  // the transport, as Beast's HTTP reader and writer see it
    std::shared_ptr<const ListenerInfo> listener_;  // the one it came in on
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    Request request_;
    boost::beast::http::response<boost::beast::http::string_body> response_;
    Headers cors_;  // for the request being answered
    std::shared_ptr<GatewayState> gateway_;
    ConnectionCounter::Slot slot_;  // passed on to the stream this connection may become
    bool handed_over_ = false;      // the stream belongs to an SSE / WebSocket session now
};

}  // namespace tickerd::gateway
