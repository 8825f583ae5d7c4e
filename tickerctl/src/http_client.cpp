// Every operation runs asynchronously on a private io_context and the caller waits for it:
// Beast's timeouts (tcp_stream::expires_after) apply only to asynchronous operations, and
// the stream's Ctrl-C handling needs a signal_set running beside the read.
#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <csignal>
#include <limits>
#include <optional>

namespace tickerctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxAnswerBytes = 64 * 1024 * 1024;
constexpr std::size_t kStreamChunkBytes = 16 * 1024;
constexpr std::string_view kUserAgent = "tickerctl/" TICKERCTL_VERSION;

bool is_ip_address(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

std::string seconds_text(std::chrono::milliseconds timeout) {
    auto text = std::to_string(static_cast<double>(timeout.count()) / 1000.0);
    text.erase(text.find_last_not_of('0') + 1);
    if (text.ends_with('.')) text.pop_back();
    return text + " s";
}

}  // namespace

struct HttpClient::Impl {
    ConnectionSettings settings;
    asio::io_context io;
    ssl::context tls_context{ssl::context::tls_client};
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
    bool interrupted = false;

    explicit Impl(ConnectionSettings given) : settings(std::move(given)) {}

    beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

    template <class Operation>
    void on_stream(Operation operation) {
        if (tls) {
            operation(*tls);
        } else {
            operation(*plain);
        }
    }

    // Starts one asynchronous operation and runs the context until it completes (other
    // work, such as a signal_set's wait, may stay pending).
    template <class Start>
    error_code wait_for(Start start) {
        error_code result;
        bool done = false;
        start([&](error_code ec, auto&&...) {
            result = ec;
            done = true;
        });
        io.restart();
        while (!done && io.run_one()) {
        }
        return result;
    }

    Failure unreachable(std::string_view doing, error_code ec) const {
        std::string why = ec == beast::error::timeout
                              ? "timed out after " + seconds_text(settings.timeout)
                              : ec.message();
        return Failure::unreachable("cannot reach " + settings.url.text + " (" +
                                    std::string(doing) + "): " + why);
    }

    Outcome<tcp::resolver::results_type> resolve() {
        tcp::resolver resolver(io);
        asio::steady_timer deadline(io, settings.timeout);
        bool timed_out = false;
        deadline.async_wait([&](error_code ec) {
            if (ec) return;
            timed_out = true;
            resolver.cancel();
        });
        tcp::resolver::results_type results;
        auto ec = wait_for([&](auto handler) {
            resolver.async_resolve(settings.url.host, settings.url.port,
                                   [&, handler](error_code ec, tcp::resolver::results_type found) {
                                       results = std::move(found);
                                       handler(ec);
                                   });
        });
        deadline.cancel();
        if (timed_out) ec = beast::error::timeout;
        if (ec) return unreachable("resolving " + settings.url.host, ec);
        return results;
    }

    Outcome<void> prepare_tls() {
        // As the daemon (CONTRACT.md §6): nothing older than TLS 1.2.
        SSL_CTX_set_min_proto_version(tls_context.native_handle(), TLS1_2_VERSION);
        error_code ec;
        if (!settings.verify_certificate) {
            tls_context.set_verify_mode(ssl::verify_none);
            return {};
        }
        tls_context.set_verify_mode(ssl::verify_peer);
        if (settings.ca_file) {
            tls_context.load_verify_file(*settings.ca_file, ec);
            if (ec) return Failure::usage("--cacert " + *settings.ca_file + ": " + ec.message());
        } else {
            tls_context.set_default_verify_paths(ec);
            if (ec) return Failure::unreachable("no system CA certificates: " + ec.message());
        }
        return {};
    }

    Outcome<void> connect() {
        auto endpoints = resolve();
        if (!endpoints) return endpoints.error();
        if (settings.url.tls) {
            if (auto prepared = prepare_tls(); !prepared) return prepared;
            tls.emplace(io, tls_context);
        } else {
            plain.emplace(io);
        }
        lowest().expires_after(settings.timeout);
        auto ec = wait_for([&](auto handler) { lowest().async_connect(*endpoints, handler); });
        if (ec) return unreachable("connecting", ec);
        if (tls) return handshake();
        return {};
    }

    Outcome<void> handshake() {
        const auto& host = settings.url.host;
        // SNI names a host, never an address (RFC 6066 §3).
        if (!is_ip_address(host)) SSL_set_tlsext_host_name(tls->native_handle(), host.c_str());
        if (settings.verify_certificate)
            tls->set_verify_callback(ssl::host_name_verification(host));
        lowest().expires_after(settings.timeout);
        auto ec = wait_for(
            [&](auto handler) { tls->async_handshake(ssl::stream_base::client, handler); });
        if (ec) return unreachable("TLS handshake", ec);
        return {};
    }

    http::request<http::string_body> make_request(http::verb method, std::string_view path,
                                                  std::string body, std::string_view accept) {
        http::request<http::string_body> request{method, settings.url.base_path + std::string(path),
                                                 11};
        request.set(http::field::host, settings.url.host_header());
        request.set(http::field::user_agent, kUserAgent);
        request.set(http::field::accept, accept);
        if (!settings.credential.empty()) {
            request.set(http::field::authorization, "Bearer " + settings.credential);
        }
        if (!body.empty()) request.set(http::field::content_type, "application/json");
        request.body() = std::move(body);
        request.prepare_payload();
        return request;
    }

    Outcome<void> send(http::request<http::string_body>& request) {
        lowest().expires_after(settings.timeout);
        auto ec = wait_for([&](auto handler) {
            on_stream([&](auto& s) { http::async_write(s, request, handler); });
        });
        if (ec) return unreachable("sending the request", ec);
        return {};
    }

    // The answer is complete (its length was framed by HTTP), so no TLS close_notify
    // exchange: waiting for the server's would only add a round trip.
    void close() {
        error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().close();
    }

    Outcome<Response> request(http::verb method, std::string_view path, std::string body) {
        if (auto connected = connect(); !connected) return connected.error();
        auto request = make_request(method, path, std::move(body), "application/json");
        if (auto sent = send(request); !sent) return sent.error();
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(kMaxAnswerBytes);
        lowest().expires_after(settings.timeout);
        auto ec = wait_for([&](auto handler) {
            on_stream([&](auto& s) { http::async_read(s, buffer, parser, handler); });
        });
        if (ec) return unreachable("waiting for the answer", ec);
        auto& answer = parser.get();
        Response response{answer.result_int(), std::string(answer.reason()),
                          std::move(answer.body())};
        close();
        return response;
    }

    // Ctrl-C cancels the read in progress, so the stream ends as the reader would end it.
    void stop_on_signals(asio::signal_set& signals) {
        signals.async_wait([this](error_code ec, int) {
            if (ec) return;
            interrupted = true;
            if (plain || tls) lowest().cancel();
        });
    }

    Outcome<StreamResult> stream(std::string_view path, const BodyReader& reader) {
        asio::signal_set signals(io, SIGINT, SIGTERM);
        stop_on_signals(signals);
        auto connected = connect();
        if (interrupted) return StreamResult{{}, StreamEnd::interrupted};
        if (!connected) return connected.error();
        auto request = make_request(http::verb::get, path, {}, "text/event-stream");
        if (auto sent = send(request); !sent) return sent.error();
        beast::flat_buffer buffer;
        http::response_parser<http::buffer_body> parser;
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // a stream has no end
        lowest().expires_after(settings.timeout);
        auto ec = wait_for([&](auto handler) {
            on_stream([&](auto& s) { http::async_read_header(s, buffer, parser, handler); });
        });
        if (interrupted) return StreamResult{{}, StreamEnd::interrupted};
        if (ec) return unreachable("waiting for the answer", ec);
        Response head{parser.get().result_int(), std::string(parser.get().reason()), {}};
        bool streaming = head.status == 200;
        if (streaming) lowest().expires_never();  // a quiet channel is not a dead daemon
        auto collect = [&](std::string_view bytes) {
            if (streaming) return reader(bytes);
            head.body.append(bytes);
            return head.body.size() < kMaxAnswerBytes;
        };
        auto end = read_body(parser, buffer, streaming, collect);
        signals.cancel();
        if (!end) return end.error();
        return StreamResult{std::move(head), *end};
    }

    Outcome<StreamEnd> read_body(http::response_parser<http::buffer_body>& parser,
                                 beast::flat_buffer& buffer, bool streaming,
                                 const BodyReader& collect) {
        char chunk[kStreamChunkBytes];
        while (!parser.is_done()) {
            parser.get().body().data = chunk;
            parser.get().body().size = sizeof chunk;
            if (!streaming) lowest().expires_after(settings.timeout);
            auto ec = wait_for([&](auto handler) {
                on_stream([&](auto& s) { http::async_read_some(s, buffer, parser, handler); });
            });
            if (interrupted) return StreamEnd::interrupted;
            if (ec == http::error::need_buffer) ec = {};
            auto received = sizeof chunk - parser.get().body().size;
            if (received > 0 && !collect(std::string_view(chunk, received))) {
                return StreamEnd::reader_done;
            }
            if (ec == http::error::end_of_stream || ec == asio::error::eof) break;
            if (ec) return unreachable("reading the stream", ec);
        }
        return StreamEnd::server_ended;
    }
};

HttpClient::HttpClient(ConnectionSettings settings)
    : impl_(std::make_unique<Impl>(std::move(settings))) {}

HttpClient::~HttpClient() = default;

Outcome<Response> HttpClient::request(http::verb method, std::string_view path, std::string body) {
    return impl_->request(method, path, std::move(body));
}

Outcome<StreamResult> HttpClient::stream(std::string_view path, const BodyReader& reader) {
    return impl_->stream(path, reader);
}

std::string percent_encode(std::string_view text) {
    return boost::urls::encode(text, boost::urls::unreserved_chars);
}

}  // namespace tickerctl
