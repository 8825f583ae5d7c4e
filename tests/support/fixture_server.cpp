#include "support/fixture_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <thread>

namespace tickerd::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string gzip(const std::string& text) {
    z_stream stream{};
    if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        throw std::runtime_error("deflateInit2 failed");
    }
    std::string out(deflateBound(&stream, text.size()) + 32, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = static_cast<uInt>(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

std::string head(unsigned status, const FixtureRoute& route, std::size_t length,
                 const std::string& extra = {}) {
    std::string text = "HTTP/1.1 " + std::to_string(status) + " Fixture\r\n";
    text += "Content-Type: " + route.content_type + "\r\n";
    text += "Content-Length: " + std::to_string(length) + "\r\n";
    for (const auto& [name, value] : route.headers)
        text += name + ": " + value + "\r\n";
    return text + extra + "\r\n";
}

}  // namespace

struct FixtureServer::Impl {
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    unsigned short port = acceptor.local_endpoint().port();
    std::thread accept_thread;
    mutable std::mutex mutex;
    std::map<std::string, FixtureRoute> routes;
    std::vector<SeenRequest> seen;
    std::vector<std::shared_ptr<tcp::socket>> sockets;
    std::vector<std::thread> connection_threads;
    std::atomic<int> accepted{0};
    std::atomic<bool> stopping{false};

    void accept_loop() {
        while (!stopping) {
            auto socket = std::make_shared<tcp::socket>(io);
            boost::system::error_code ec;
            acceptor.accept(*socket, ec);
            if (ec || stopping) return;
            ++accepted;
            // Head and body go out as separate writes: without this, Nagle and the client's
            // delayed ACK add 40 ms to every answer.
            socket->set_option(tcp::no_delay(true), ec);
            std::lock_guard lock(mutex);
            sockets.push_back(socket);
            connection_threads.emplace_back([this, socket] { serve(*socket); });
        }
    }

    void serve(tcp::socket& socket) {
        beast::flat_buffer buffer;
        boost::system::error_code ec;
        while (!stopping) {
            bhttp::request<bhttp::string_body> request;
            bhttp::read(socket, buffer, request, ec);
            if (ec) return;
            FixtureRoute route = record_and_find(request);
            if (!answer(socket, route) || !request.keep_alive()) break;
        }
        socket.shutdown(tcp::socket::shutdown_both, ec);
    }

    FixtureRoute record_and_find(const bhttp::request<bhttp::string_body>& request) {
        SeenRequest seen_request;
        seen_request.method = std::string(request.method_string());
        seen_request.target = std::string(request.target());
        for (const auto& field : request) {
            std::string name(field.name_string());
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            seen_request.headers[name] = std::string(field.value());
        }
        seen_request.body = request.body();
        auto question = seen_request.target.find('?');
        std::string path = seen_request.target.substr(0, question);
        std::string query = question == std::string::npos
                                ? std::string()
                                : "&" + seen_request.target.substr(question + 1) + "&";
        std::lock_guard lock(mutex);
        seen.push_back(std::move(seen_request));
        // "path?name=value" routes first: they tell apart answers that share a path.
        for (const auto& [key, route] : routes) {
            auto split = key.find('?');
            if (split == std::string::npos || key.compare(0, split, path) != 0 ||
                split != path.size()) {
                continue;
            }
            if (query.find("&" + key.substr(split + 1) + "&") != std::string::npos) return route;
        }
        auto it = routes.find(path);
        if (it != routes.end()) return it->second;
        FixtureRoute missing;
        missing.status = 404;
        missing.body = R"({"error":"no fixture route"})";
        return missing;
    }

    // Returns whether the connection may serve another request.
    bool answer(tcp::socket& socket, const FixtureRoute& route) {
        using B = FixtureRoute::Behaviour;
        boost::system::error_code ec;
        switch (route.behaviour) {
            case B::hang_up:
                return false;
            case B::delay: {
                // In slices, so a stopping server does not wait out a long delay.
                auto until = std::chrono::steady_clock::now() + route.delay;
                while (!stopping && std::chrono::steady_clock::now() < until)
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                if (stopping) return false;
                break;
            }
            case B::truncate: {
                asio::write(socket, asio::buffer(head(route.status, route, route.body.size())), ec);
                asio::write(socket, asio::buffer(route.body.data(), route.body.size() / 2), ec);
                return false;
            }
            case B::drip: {
                asio::write(socket, asio::buffer(head(route.status, route, route.body.size())), ec);
                for (char c : route.body) {
                    if (ec || stopping) return false;
                    std::this_thread::sleep_for(route.delay);
                    asio::write(socket, asio::buffer(&c, 1), ec);
                }
                return !ec;
            }
            case B::big_body: {
                asio::write(socket, asio::buffer(head(route.status, route, route.big_body_bytes)),
                            ec);
                std::string chunk(64 * 1024, 'x');
                for (std::size_t sent = 0; sent < route.big_body_bytes && !ec && !stopping;) {
                    auto n = std::min(chunk.size(), route.big_body_bytes - sent);
                    asio::write(socket, asio::buffer(chunk.data(), n), ec);
                    sent += n;
                }
                return !ec;
            }
            case B::gzip: {
                auto packed = gzip(route.body);
                asio::write(socket,
                            asio::buffer(head(route.status, route, packed.size(),
                                              "Content-Encoding: gzip\r\n")),
                            ec);
                asio::write(socket, asio::buffer(packed), ec);
                return !ec;
            }
            case B::normal:
                break;
        }
        asio::write(socket, asio::buffer(head(route.status, route, route.body.size())), ec);
        asio::write(socket, asio::buffer(route.body), ec);
        return !ec;
    }
};

FixtureServer::FixtureServer() : impl_(std::make_unique<Impl>()) {
    impl_->accept_thread = std::thread([this] { impl_->accept_loop(); });
}

FixtureServer::~FixtureServer() {
    impl_->stopping = true;
    boost::system::error_code ec;
    // Wake the blocked accept() with a connection of our own; it then sees `stopping`.
    tcp::socket poke(impl_->io);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), impl_->port), ec);
    if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
    impl_->acceptor.close(ec);
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(impl_->mutex);
        for (auto& socket : impl_->sockets)
            socket->shutdown(tcp::socket::shutdown_both, ec);  // wakes blocked reads
        threads.swap(impl_->connection_threads);
    }
    for (auto& thread : threads)
        thread.join();
}

unsigned short FixtureServer::port() const {
    return impl_->port;
}

std::string FixtureServer::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
}

void FixtureServer::route(const std::string& path, FixtureRoute route) {
    std::lock_guard lock(impl_->mutex);
    impl_->routes[path] = std::move(route);
}

std::vector<SeenRequest> FixtureServer::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->seen;
}

int FixtureServer::connections_accepted() const {
    return impl_->accepted.load();
}

}  // namespace tickerd::testing
