// Plain TCP and TLS transports. The plain one writes a batch straight away on its
// non-blocking socket when it can (write_now: one sendmsg, no reactor round trip); the TLS one
// lets Beast's ssl_stream gather a batch into as few records as it can.
#include "gateway/transport.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace tickerd::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// Sends as much of `buffers` as the socket takes now and removes it from their front.
void send_without_waiting(tcp::socket& socket, Transport::Buffers& buffers,
                          boost::system::error_code& ec) {
    ec.clear();
    // One write takes a limited number of buffers (Asio passes at most 64), hence the loop.
    while (!buffers.empty()) {
        std::size_t sent = socket.write_some(buffers, ec);
        if (ec) {
            if (ec == asio::error::would_block || ec == asio::error::try_again) ec.clear();
            return;
        }
        if (!drop_sent(buffers, sent)) return;
    }
}

tcp::endpoint endpoint_of(const tcp::socket& socket) {
    boost::system::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    return ec ? tcp::endpoint() : endpoint;
}

void limit_unacknowledged_on(tcp::socket& socket, std::chrono::milliseconds timeout) {
    unsigned int ms = static_cast<unsigned int>(timeout.count());
    // Best effort: without it a dead client is found later, by the keepalive or a full queue.
    (void)::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
}

void close_socket(tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
}

class PlainTransport final : public Transport {
  public:
    explicit PlainTransport(tcp::socket socket)
        : remote_(endpoint_of(socket)), stream_(std::move(socket)) {}
    PlainTransport(tcp::socket socket, tcp::endpoint remote)
        : remote_(remote), stream_(std::move(socket)) {}

    asio::any_io_executor get_executor() override { return stream_.get_executor(); }
    void async_start(Done done) override {
        asio::dispatch(stream_.get_executor(), [done = std::move(done)] { done({}); });
    }
    void async_read_some(asio::mutable_buffer buffer, Handler handler) override {
        stream_.async_read_some(buffer, std::move(handler));
    }
    void async_write_some(const Buffers& buffers, Handler handler) override {
        stream_.async_write_some(buffers, std::move(handler));
    }
    void async_write(const Buffers& buffers, Handler handler) override {
        asio::async_write(stream_.socket(), buffers, std::move(handler));
    }
    void write_now(Buffers& buffers, boost::system::error_code& ec) override {
        if (!non_blocking_) {
            stream_.socket().non_blocking(true, ec);
            if (ec) return;
            non_blocking_ = true;
        }
        send_without_waiting(stream_.socket(), buffers, ec);
    }
    int sendmsg_socket() override { return stream_.socket().native_handle(); }
    void expires_after(std::chrono::steady_clock::duration timeout) override {
        stream_.expires_after(timeout);
    }
    void expires_never() override { stream_.expires_never(); }
    void limit_unacknowledged(std::chrono::milliseconds timeout) override {
        limit_unacknowledged_on(stream_.socket(), timeout);
    }
    void shutdown_send() override {
        boost::system::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    void close() override { close_socket(stream_.socket()); }
    tcp::endpoint remote_endpoint() const override { return remote_; }
    bool secure() const override { return false; }
    // The descriptor leaves this context's epoll and joins the other's; the kernel's socket,
    // its options and what it has buffered stay as they are.
    std::unique_ptr<Transport> move_to(asio::io_context& io) override {
        auto protocol = remote_.protocol();
        tcp::socket socket = stream_.release_socket();
        auto descriptor = socket.release();
        return std::make_unique<PlainTransport>(
            tcp::socket(asio::make_strand(io), protocol, descriptor), remote_);
    }

  private:
    tcp::endpoint remote_;
    beast::tcp_stream stream_;
    bool non_blocking_ = false;
};

class TlsTransport final : public Transport {
  public:
    TlsTransport(tcp::socket socket, std::shared_ptr<asio::ssl::context> context)
        : remote_(endpoint_of(socket)),
          context_(std::move(context)),
          stream_(beast::tcp_stream(std::move(socket)), *context_) {}

    asio::any_io_executor get_executor() override { return stream_.get_executor(); }
    // The handshake is bounded by whatever timeout the session set before it.
    void async_start(Done done) override {
        stream_.async_handshake(asio::ssl::stream_base::server, std::move(done));
    }
    void async_read_some(asio::mutable_buffer buffer, Handler handler) override {
        stream_.async_read_some(buffer, std::move(handler));
    }
    void async_write_some(const Buffers& buffers, Handler handler) override {
        stream_.async_write_some(buffers, std::move(handler));
    }
    void async_write(const Buffers& buffers, Handler handler) override {
        asio::async_write(stream_, buffers, std::move(handler));
    }
    void write_now(Buffers&, boost::system::error_code& ec) override { ec.clear(); }
    int sendmsg_socket() override { return -1; }
    void expires_after(std::chrono::steady_clock::duration timeout) override {
        beast::get_lowest_layer(stream_).expires_after(timeout);
    }
    void expires_never() override { beast::get_lowest_layer(stream_).expires_never(); }
    void limit_unacknowledged(std::chrono::milliseconds timeout) override {
        limit_unacknowledged_on(beast::get_lowest_layer(stream_).socket(), timeout);
    }
    // No close_notify: a client that waits for one must not hold the connection open.
    void shutdown_send() override {
        boost::system::error_code ignored;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    void close() override { close_socket(beast::get_lowest_layer(stream_).socket()); }
    tcp::endpoint remote_endpoint() const override { return remote_; }
    bool secure() const override { return true; }
    std::unique_ptr<Transport> move_to(asio::io_context&) override { return nullptr; }

  private:
    tcp::endpoint remote_;
    std::shared_ptr<asio::ssl::context> context_;  // the certificate this connection started with
    beast::ssl_stream<beast::tcp_stream> stream_;
};

}  // namespace

bool drop_sent(Transport::Buffers& buffers, std::size_t bytes) {
    std::size_t whole = 0;  // buffers sent entirely
    while (whole < buffers.size() && bytes >= buffers[whole].size()) {
        bytes -= buffers[whole].size();
        ++whole;
    }
    bool ended_inside = whole < buffers.size() && bytes > 0;
    if (ended_inside) buffers[whole] += bytes;
    buffers.erase(buffers.begin(), buffers.begin() + static_cast<std::ptrdiff_t>(whole));
    return !ended_inside;
}

std::unique_ptr<Transport> make_plain_transport(tcp::socket socket) {
    return std::make_unique<PlainTransport>(std::move(socket));
}

std::unique_ptr<Transport> make_tls_transport(tcp::socket socket,
                                              std::shared_ptr<asio::ssl::context> context) {
    return std::make_unique<TlsTransport>(std::move(socket), std::move(context));
}

}  // namespace tickerd::gateway
