// The listener: accepts connections and gives each one an HTTP session; stop() closes the
// door, then every stream and idle connection.
#include "gateway/http_session.hpp"

#include "core/log.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>

namespace tickerd::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// After a failed accept (out of file descriptors, say) wait before trying again, so the
// loop cannot spin.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
    Impl(asio::io_context& io, const tcp::endpoint& endpoint, Services& services, Limits limits)
        : io(io),
          acceptor(asio::make_strand(io), endpoint),
          retry_timer(acceptor.get_executor()),
          gateway(std::make_shared<GatewayState>(
              services, limits,
              ListenerInfo{endpoint.address().is_loopback(), endpoint.address().to_string()})) {}

    void accept() {
        acceptor.async_accept(
            asio::make_strand(io),
            [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
                self->on_accept(ec, std::move(socket));
            });
    }

    void on_accept(boost::system::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (ec) {
            BOOST_LOG_TRIVIAL(warning) << "accept failed: " << ec.message();
            retry_timer.expires_after(kAcceptBackoff);
            retry_timer.async_wait([self = shared_from_this()](boost::system::error_code wait) {
                if (!wait) self->accept();
            });
            return;
        }
        socket.set_option(tcp::no_delay(true), ec);  // streams are latency-bound
        auto session = std::make_shared<HttpSession>(std::move(socket), gateway);
        gateway->connections.add(session);
        session->run();
        accept();
    }

    asio::io_context& io;
    tcp::acceptor acceptor;
    asio::steady_timer retry_timer;
    std::shared_ptr<GatewayState> gateway;
};

Server::Server(asio::io_context& io, const tcp::endpoint& endpoint, Services& services,
               Limits limits)
    : impl_(std::make_shared<Impl>(io, endpoint, services, limits)) {}

Server::~Server() {
    // Joined here, not in the state's destructor: the state may be released last by a
    // task on that very thread.
    impl_->gateway->config_thread.stop();
    impl_->gateway->config_thread.join();
}

unsigned short Server::port() const {
    return impl_->acceptor.local_endpoint().port();
}

void Server::start() {
    impl_->accept();
}

void Server::stop() {
    impl_->gateway->stopping = true;
    asio::dispatch(impl_->acceptor.get_executor(), [impl = impl_] {
        boost::system::error_code ignored;
        impl->acceptor.close(ignored);
        impl->retry_timer.cancel();
    });
    impl_->gateway->streams.close_all();
    impl_->gateway->connections.close_all();
}

}  // namespace tickerd::gateway
