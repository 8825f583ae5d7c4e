// The listeners: each accepts connections (plain or TLS) and gives each one an HTTP session;
// stop() closes the doors, then every stream and idle connection.
//
// Accepting and REST run on a thread of their own (the request context): when thousands of
// streams close at once, both stream threads have thousands of closes queued, and a request
// answered there waited behind them (83 ms p99 for `GET /` while 18,000 clients left). A plain
// connection that asks for a stream moves to the stream threads; a TLS one cannot move, so TLS
// listeners accept onto the stream threads directly.
//
// Out of file descriptors (EMFILE/ENFILE), accept() fails while the client waits in the
// backlog. A descriptor is kept in reserve for that moment: it is given up to accept the
// waiting client, answer it 503 and close it, so clients hear at once instead of hanging;
// accepting resumes (and is logged once) as soon as descriptors free up.
#include "gateway/http_session.hpp"
#include "gateway/send_batch.hpp"

#include "core/log.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>

namespace tickerd::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// After a failed accept wait before trying again, so the loop cannot spin.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);
// How often "out of file descriptors" is logged while it lasts.
constexpr auto kComplainEvery = std::chrono::seconds(10);

// One answer, sent as the connection is refused: the socket is new, so it fits. A TLS client
// could not read it before a handshake, which a refused connection must not cost: it is
// closed without one.
void refuse(tcp::socket& socket, const Error& error, bool tls) {
    std::string body = "{\"detail\":\"" + error.detail + "\"}";
    std::string response =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
    if (!tls) socket.write_some(asio::buffer(response), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
}

// Bound and listening, with SO_REUSEADDR as Asio sets it, and SO_REUSEPORT when asked: then
// every process bound so to the port gets its share of the connections from the kernel.
tcp::acceptor open_acceptor(const asio::strand<asio::io_context::executor_type>& strand,
                            const tcp::endpoint& endpoint, bool reuse_port) {
    tcp::acceptor acceptor(strand);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    int on = 1;
    if (reuse_port &&
        ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
        throw boost::system::system_error(errno, boost::system::system_category(), "SO_REUSEPORT");
    acceptor.bind(endpoint);
    acceptor.listen();
    return acceptor;
}

bool out_of_descriptors(const boost::system::error_code& ec) {
    return ec == asio::error::no_descriptors || ec.value() == ENFILE;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
    struct Listener {
        Listener(const asio::strand<asio::io_context::executor_type>& strand,
                 const tcp::endpoint& endpoint, bool tls, bool reuse_port)
            : acceptor(open_acceptor(strand, endpoint, reuse_port)),
              retry_timer(acceptor.get_executor()),
              info(std::make_shared<ListenerInfo>(
                  ListenerInfo{endpoint.address().is_loopback(), endpoint.address().to_string()})),
              tls(tls) {}
        tcp::acceptor acceptor;
        asio::steady_timer retry_timer;
        std::shared_ptr<const ListenerInfo> info;
        bool tls;
    };

    Impl(IoContexts io, const Listeners& listeners, Services& services, Limits limits)
        : io(io),
          accept_strand(asio::make_strand(io.requests)),
          tls_context(listeners.tls_context),
          gateway(std::make_shared<GatewayState>(io.streams, services, limits)) {
        SendBatch::enable(io.io_uring);
        bool tls_on_main = tls_context && !listeners.tls;
        main.emplace(accept_strand, listeners.main, tls_on_main, listeners.reuse_port);
        if (listeners.tls)
            second.emplace(accept_strand, *listeners.tls, true, listeners.reuse_port);
    }

    ~Impl() {
        if (reserve >= 0) ::close(reserve);
    }

    void accept(Listener& listener) {
        auto& home = listener.tls ? io.streams : io.requests;
        listener.acceptor.async_accept(asio::make_strand(home),
                                       [self = shared_from_this(), &listener](
                                           boost::system::error_code ec, tcp::socket socket) {
                                           self->on_accept(listener, ec, std::move(socket));
                                       });
    }

    void on_accept(Listener& listener, boost::system::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !listener.acceptor.is_open()) return;
        if (ec) return on_accept_failed(listener, ec);
        if (refusals > 0) {
            BOOST_LOG_TRIVIAL(info) << "accepting again: " << refusals
                                    << " connection(s) were refused while out of file descriptors";
            refusals = 0;
        }
        auto slot = gateway->counter->admit(endpoint_address(socket));
        if (!slot) {
            refuse(socket, slot.error(), listener.tls);
            return accept(listener);
        }
        socket.set_option(tcp::no_delay(true), ec);  // streams are latency-bound
        auto transport = listener.tls
                             ? make_tls_transport(std::move(socket), tls_context->current())
                             : make_plain_transport(std::move(socket));
        auto session = std::make_shared<HttpSession>(std::move(transport), gateway,
                                                     std::move(*slot), listener.info);
        gateway->connections.add(session);
        session->run();
        accept(listener);
    }

    static asio::ip::address endpoint_address(const tcp::socket& socket) {
        boost::system::error_code ec;
        auto endpoint = socket.remote_endpoint(ec);
        return ec ? asio::ip::address() : endpoint.address();
    }

    void on_accept_failed(Listener& listener, const boost::system::error_code& ec) {
        if (out_of_descriptors(ec)) {
            refuse_with_reserve(listener);
        } else {
            BOOST_LOG_TRIVIAL(warning) << "accept failed: " << ec.message();
        }
        listener.retry_timer.expires_after(kAcceptBackoff);
        listener.retry_timer.async_wait(
            [self = shared_from_this(), &listener](boost::system::error_code wait) {
                if (!wait) self->accept(listener);
            });
    }

    // The reserve descriptor makes room to accept one waiting client and tell it why.
    void refuse_with_reserve(Listener& listener) {
        auto now = std::chrono::steady_clock::now();
        if (refusals++ == 0 || now - last_complaint >= kComplainEvery) {
            BOOST_LOG_TRIVIAL(warning) << "out of file descriptors: new connections are answered "
                                          "503 until some close ("
                                       << refusals << " so far)";
            last_complaint = now;
        }
        if (reserve >= 0) ::close(reserve);
        boost::system::error_code ec;
        tcp::socket waiting(listener.acceptor.get_executor());
        // Linux refuses accept() for want of a descriptor before it looks for a client, so
        // there may be none waiting: non-blocking, or this thread would wait for the next.
        listener.acceptor.non_blocking(true, ec);
        if (!ec) listener.acceptor.accept(waiting, ec);
        if (!ec)
            refuse(waiting, Error::unavailable("the server is out of file descriptors"),
                   listener.tls);
        reserve = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }

    void close(Listener& listener) {
        asio::dispatch(listener.acceptor.get_executor(), [self = shared_from_this(), &listener] {
            boost::system::error_code ignored;
            listener.acceptor.close(ignored);
            listener.retry_timer.cancel();
        });
    }

    IoContexts io;
    // Both listeners accept on one strand: they share the reserve descriptor below.
    asio::strand<asio::io_context::executor_type> accept_strand;
    std::shared_ptr<TlsContext> tls_context;
    std::shared_ptr<GatewayState> gateway;
    std::optional<Listener> main;
    std::optional<Listener> second;  // TLS, when it has a listener of its own
    int reserve = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    uint64_t refusals = 0;  // while out of descriptors
    std::chrono::steady_clock::time_point last_complaint;
};

Server::Server(IoContexts io, const Listeners& listeners, Services& services, Limits limits)
    : impl_(std::make_shared<Impl>(io, listeners, services, limits)) {}

Server::~Server() {
    // Joined here, not in the state's destructor: the state may be released last by a
    // task on that very thread.
    for (auto* threads : {&impl_->gateway->config_thread, &impl_->gateway->bus_threads}) {
        threads->stop();
        threads->join();
    }
}

unsigned short Server::port() const {
    return impl_->main->acceptor.local_endpoint().port();
}

unsigned short Server::tls_port() const {
    return impl_->second ? impl_->second->acceptor.local_endpoint().port() : 0;
}

void Server::start() {
    impl_->accept(*impl_->main);
    if (impl_->second) impl_->accept(*impl_->second);
}

void Server::stop() {
    impl_->gateway->stopping = true;
    impl_->close(*impl_->main);
    if (impl_->second) impl_->close(*impl_->second);
    impl_->gateway->streams.close_all();
    impl_->gateway->connections.close_all();
}

}  // namespace tickerd::gateway
