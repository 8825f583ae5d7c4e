// Internal to the gateway: one client connection's bytes, over plain TCP or TLS, as the
// HTTP and stream sessions use them — read what comes, write a batch of buffers, close — so
// no session knows which it has. TLS is Boost.Beast's ssl_stream over OpenSSL; its context is
// held per connection, so a certificate reloaded on SIGHUP serves new connections while the
// open ones keep theirs.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace tickerd::gateway {

// The socket's executor is a strand (the listener accepts onto one); every completion runs
// there, and a session that uses it as its own needs no other.
class Transport {
  public:
    using Handler = std::function<void(boost::system::error_code, std::size_t)>;
    using Done = std::function<void(boost::system::error_code)>;
    using Arrival = std::function<void(boost::system::error_code, std::string_view)>;
    using Buffers = std::vector<boost::asio::const_buffer>;

    virtual ~Transport() = default;

    virtual boost::asio::any_io_executor get_executor() = 0;
    // What TLS needs before the first byte of a request (its handshake); plain: nothing.
    virtual void async_start(Done done) = 0;
    virtual void async_read_some(boost::asio::mutable_buffer buffer, Handler handler) = 0;
    // Waits until the client sends something (or goes), then reads what came: `handler` gets
    // the bytes, in a buffer of the thread's that lasts only while it runs. So a stream that
    // waits for its client holds no read buffer, and a client's message costs one recv(),
    // not another that finds the socket empty (Asio's async read tries one before it waits).
    // TLS reads a record's worth as async_read_some does.
    virtual void async_read_arrival(Arrival handler) = 0;
    virtual void async_write_some(const Buffers& buffers, Handler handler) = 0;
    // Writes all of `buffers` (they must stay alive until `handler` runs).
    virtual void async_write(const Buffers& buffers, Handler handler) = 0;
    // Sends what the socket takes right now without waiting and removes it from `buffers`;
    // `ec` only for a real error. TLS takes nothing this way (its records are written by
    // async_write).
    virtual void write_now(Buffers& buffers, boost::system::error_code& ec) = 0;
    // The descriptor a batched sendmsg() may write to (send_batch.hpp), or -1: TLS, whose
    // records only async_write writes.
    virtual int sendmsg_socket() = 0;
    // Bounds the next operations (a read, a write); expires_never() lifts it.
    virtual void expires_after(std::chrono::steady_clock::duration timeout) = 0;
    virtual void expires_never() = 0;
    // The kernel ends the connection when data it sent stays unacknowledged this long
    // (TCP_USER_TIMEOUT): a client gone without a word is found while a stream writes to it,
    // with no ping of ours.
    virtual void limit_unacknowledged(std::chrono::milliseconds timeout) = 0;
    // Stop sending (the answer was the last); the session ends when its reads end.
    virtual void shutdown_send() = 0;
    virtual void close() = 0;
    virtual boost::asio::ip::tcp::endpoint remote_endpoint() const = 0;
    virtual bool secure() const = 0;
    // The same connection with its completions on a new strand of `io` (a request's
    // connection that becomes a stream moves to the stream threads), or null when it cannot
    // move (TLS). Only with no operation in flight.
    virtual std::unique_ptr<Transport> move_to(boost::asio::io_context& io) = 0;
};

std::unique_ptr<Transport> make_plain_transport(boost::asio::ip::tcp::socket socket);

// Removes what a write sent, `bytes`, from the front of `buffers`; false when that ended
// inside a buffer (the socket took part of it: it is full for now).
bool drop_sent(Transport::Buffers& buffers, std::size_t bytes);
std::unique_ptr<Transport> make_tls_transport(boost::asio::ip::tcp::socket socket,
                                              std::shared_ptr<boost::asio::ssl::context> context);

// Lets Beast's HTTP reader and writer (which want an AsyncReadStream / AsyncWriteStream)
// read from and write to a Transport.
class TransportStream {
  public:
    using executor_type = boost::asio::any_io_executor;
    explicit TransportStream(Transport& transport) : transport_(&transport) {}
    executor_type get_executor() const { return transport_->get_executor(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& buffers) {
                // One buffer at a time: a read may always return less than asked.
                transport_->async_read_some(first_buffer(buffers), shareable(std::move(handler)));
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& buffers) {
                Transport::Buffers list(boost::asio::buffer_sequence_begin(buffers),
                                        boost::asio::buffer_sequence_end(buffers));
                transport_->async_write_some(list, shareable(std::move(handler)));
            },
            token, buffers);
    }

  private:
    // Beast's handlers can only be moved; a Transport::Handler is copied. Called once.
    template <class Handler>
    static Transport::Handler shareable(Handler handler) {
        auto shared = std::make_shared<Handler>(std::move(handler));
        return
            [shared](boost::system::error_code ec, std::size_t n) { std::move (*shared)(ec, n); };
    }

    template <class MutableBuffers>
    static boost::asio::mutable_buffer first_buffer(const MutableBuffers& buffers) {
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            if (boost::asio::mutable_buffer(*it).size() > 0) return *it;
        }
        return {};
    }

    Transport* transport_;
};

}  // namespace tickerd::gateway
