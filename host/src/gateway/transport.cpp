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

#include <array>

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

// What arrived on a stream is read into this and handed on before the next read: one buffer
// per thread instead of one per connection.
std::string_view read_into_thread_buffer(tcp::socket& socket, boost::system::error_code& ec) {
    thread_local std::array<char, 16 * 1024> buffer;
    std::size_t bytes = socket.read_some(asio::buffer(buffer), ec);
    return {buffer.data(), bytes};
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
    // A wait that finds nothing to read (woken, yet another read took it) waits again.
    void async_read_arrival(Arrival handler) override {
        stream_.socket().async_wait(
            tcp::socket::wait_read,
            [this, handler = std::move(handler)](boost::system::error_code ec) mutable {
                // An error means the wait ended with the socket (closed, destroyed): `this`
                // may be gone, and is not touched.
                if (ec) return handler(ec, {});
                if (!make_non_blocking(ec)) return handler(ec, {});
                auto bytes = read_into_thread_buffer(stream_.socket(), ec);
                if (ec == asio::error::would_block || ec == asio::error::try_again)
                    return async_read_arrival(std::move(handler));
                handler(ec, bytes);
            });
    }
    void async_write_some(const Buffers& buffers, Handler handler) override {
        stream_.async_write_some(buffers, std::move(handler));
    }
    void async_write(const Buffers& buffers, Handler handler) override {
        asio::async_write(stream_.socket(), buffers, std::move(handler));
    }
    void write_now(Buffers& buffers, boost::system::error_code& ec) override {
        if (make_non_blocking(ec)) send_without_waiting(stream_.socket(), buffers, ec);
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
    // The reads and writes that must not wait (write_now, async_read_arrival's read) need the
    // socket in non-blocking mode, as the user sees it (Asio's own is always on).
    bool make_non_blocking(boost::system::error_code& ec) {
        if (!non_blocking_) {
            stream_.socket().non_blocking(true, ec);
            if (ec) return false;
            non_blocking_ = true;
        }
        return true;
    }

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
    // A TLS record may be buffered inside OpenSSL with the socket empty, so the socket's
    // readiness says nothing: a read, into a buffer this connection holds while it waits.
    void async_read_arrival(Arrival handler) override {
        if (read_buffer_.empty()) read_buffer_.resize(kTlsReadBufferSize);
        stream_.async_read_some(
            asio::buffer(read_buffer_),
            [this, handler = std::move(handler)](boost::system::error_code ec, std::size_t bytes) {
                handler(ec, ec ? std::string_view() : std::string_view(read_buffer_.data(), bytes));
            });
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
    static constexpr std::size_t kTlsReadBufferSize = 1024;

    tcp::endpoint remote_;
    std::shared_ptr<asio::ssl::context> context_;  // the certificate this connection started with
    beast::ssl_stream<beast::tcp_stream> stream_;
    std::vector<char> read_buffer_;  // a stream's reads only, allocated by the first
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
