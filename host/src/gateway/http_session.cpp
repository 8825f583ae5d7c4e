#include "gateway/http_session.hpp"

#include "gateway/deflate.hpp"

#include "core/log.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace tickerd::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

const std::string kServerHeader = std::string("tickerd/") + TICKERD_VERSION;
// The first read of a request; the rest follows through the parser.
constexpr std::size_t kFirstRead = 4096;
// Answers this long or longer are gzipped for a client that accepts it.
constexpr std::size_t kGzipFrom = 1024;

// Whether `bytes` can start a request: a method this daemon answers, then a space. Checked
// on what has arrived so far, so a prefix ("PO") passes and "Pf" or binary bytes do not.
bool could_be_request(const beast::flat_buffer& buffer) {
    static constexpr std::string_view kMethods[] = {"GET ",    "HEAD ",    "POST ", "PUT ",
                                                    "DELETE ", "OPTIONS ", "PATCH "};
    auto data = buffer.cdata();
    std::string_view bytes(static_cast<const char*>(data.data()),
                           std::min<std::size_t>(data.size(), 8));
    for (auto method : kMethods) {
        auto n = std::min(bytes.size(), method.size());
        if (bytes.substr(0, n) == method.substr(0, n)) return true;
    }
    return false;
}

// Read errors that deserve an answer before the connection closes.
std::optional<Error> answerable(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
        return std::nullopt;  // the client hung up
    }
    if (ec == http::error::body_limit) return Error::too_large("request body too large");
    if (ec == http::error::header_limit) return Error(431, "request headers too large");
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
        return Error::malformed("malformed HTTP request: " + ec.message());
    }
    return std::nullopt;
}

}  // namespace

HttpSession::HttpSession(std::unique_ptr<Transport> transport,
                         std::shared_ptr<GatewayState> gateway, ConnectionCounter::Slot slot,
                         std::shared_ptr<const ListenerInfo> listener)
    : transport_(std::move(transport)),
      strand_(transport_->get_executor()),
      stream_(*transport_),
      listener_(std::move(listener)),
      gateway_(std::move(gateway)),
      slot_(std::move(slot)) {}

// A TLS handshake first (bounded like a request's headers), then requests.
void HttpSession::run() {
    asio::dispatch(strand_, [self = shared_from_this()] {
        self->transport_->expires_after(self->gateway_->limits.header_timeout);
        self->transport_->async_start(
            [self](boost::system::error_code ec) { self->on_started(ec); });
    });
}

void HttpSession::on_started(boost::system::error_code ec) {
    if (ec) return;  // a failed TLS handshake: nothing to answer in
    read_request();
}

void HttpSession::close_for_shutdown() {
    asio::dispatch(strand_, [self = shared_from_this()] {
        if (self->handed_over_) return;
        self->transport_->close();
    });
}

// A request is read in three steps, each with its own deadline: the first bytes (an idle
// kept-alive connection is closed after idle_timeout), the line and headers (header_timeout:
// a slow sender is cut), the body (request_timeout).
void HttpSession::read_request() {
    if (gateway_->stopping) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(gateway_->limits.max_header_bytes));
    parser_->body_limit(gateway_->limits.max_body_bytes);
    if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
    transport_->expires_after(gateway_->limits.idle_timeout);
    transport_->async_read_some(buffer_.prepare(kFirstRead),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    if (ec) return;  // the client went, or stayed silent: close
                                    self->buffer_.commit(n);
                                    self->read_header();
                                });
}

void HttpSession::read_header() {
    // Garbage is answered at once rather than when the header timeout runs out.
    if (!could_be_request(buffer_)) {
        return answer(error_reply(Error::malformed("malformed HTTP request: bad method")), false);
    }
    transport_->expires_after(gateway_->limits.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return self->on_read(ec);
                                self->read_body();
                            });
}

void HttpSession::read_body() {
    // RFC 9112 §6.1: a body whose length cannot be known (Transfer-Encoding not ending in
    // chunked) could hide another request, so it is refused and the connection closed.
    const auto& header = parser_->get();
    bool transfer_encoded = header.count(http::field::transfer_encoding) > 0;
    if (transfer_encoded &&
        (!parser_->chunked() || header.count(http::field::content_length) > 0)) {
        return answer(
            error_reply(Error::malformed("Transfer-Encoding must end in chunked, without a "
                                         "Content-Length")),
            false);
    }
    if (parser_->is_done()) return on_read({});
    transport_->expires_after(gateway_->limits.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void HttpSession::on_read(beast::error_code ec) {
    if (ec) {
        // A client that closed or went quiet just goes; a bad request is told why.
        if (auto error = answerable(ec)) answer(error_reply(*error), false);
        return;
    }
    request_ = parser_->release();
    dispatch_request();
}

void HttpSession::dispatch_request() {
    std::string_view target = request_.target();
    auto question = target.find('?');
    std::string_view path = target.substr(0, question);
    std::string_view query =
        question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
    bool keep_alive = request_.keep_alive();

    Gate gate(gateway_->services.access, *listener_, request_);
    cors_ = gate.cors_headers();
    if (auto host = gate.check_host(); !host) return answer(error_reply(host.error()), false);
    if (request_.method() == http::verb::options) return answer(gate.preflight(), keep_alive);
    auto match = match_route(request_.method(), path);
    if (!match) return answer(error_reply(match.error()), keep_alive);
    const Route& route = *match->route;
    if (auto origin = gate.check_origin(route); !origin) {
        return answer(error_reply(origin.error()), keep_alive);
    }
    auto principal = gate.admit(route, query);
    if (!principal) return answer(principal.error(), keep_alive);
    if (auto refused = rate_limited(route, *principal))
        return answer(std::move(*refused), keep_alive);
    if (route.kind == RouteKind::sse || route.kind == RouteKind::websocket) {
        start_stream(route, query, gate, std::move(*principal));
    } else {
        run_handler(*match, query, std::move(*principal));
    }
}

void HttpSession::start_stream(const Route& route, std::string_view query, const Gate& gate,
                               access::Principal principal) {
    WebSocketAccept websocket;  // the 101 that opens a WebSocket, and its extension
    if (route.kind == RouteKind::websocket) {
        auto accepted = accept_websocket(request_);
        if (!accepted) return answer(error_reply(accepted.error()), false);
        if (auto origin = gate.check_websocket_origin(); !origin) {
            return answer(error_reply(origin.error()), false);
        }
        websocket = std::move(*accepted);
    }
    StreamContext context{gateway_->services,
                          gateway_->limits,
                          gateway_->streams,
                          std::move(principal),
                          cors_,
                          std::move(slot_),
                          gateway_->bus_threads.get_executor(),
                          {},
                          gateway_->views,
                          {},
                          gateway_->wheel,
                          gateway_->wakeups};
    transport_->expires_never();  // streams keep themselves alive with keepalives
    if (route.kind == RouteKind::websocket) {
        hand_over();
        start_websocket(std::move(transport_), query, std::move(websocket), std::move(context));
        return;
    }
    auto channels = requested_channels(route, query, context.principal);
    Result<ResumePositions> resume = ResumePositions{};
    if (channels) resume = resume_positions(query, *channels);
    auto view = parse_view(query_param(query, "mode"), query_param(query, "fields"),
                           query_param(query, "where"));
    if (!channels || !resume || !view) {
        slot_ = std::move(context.slot);  // still an HTTP connection
        auto error = !channels ? channels.error() : !resume ? resume.error() : view.error();
        answer(error_reply(error), request_.keep_alive());
        return;
    }
    context.resume_from = std::move(*resume);
    context.view = std::move(*view);
    hand_over();
    bool gzip = deflate::accepts_gzip(request_[http::field::accept_encoding]);
    start_sse(std::move(transport_), std::move(*channels), std::move(context), gzip);
}

// The connection is a stream's from now on, and moves off the request thread: a stream's
// writes and its close are the stream threads' work.
void HttpSession::hand_over() {
    handed_over_ = true;
    if (auto moved = transport_->move_to(gateway_->stream_io)) transport_ = std::move(moved);
}

// An SSE stream's channels: from the JSON body of a POST, from the query of a GET; each one
// the credential may read.
Result<ChannelSet> HttpSession::requested_channels(const Route& route, std::string_view query,
                                                   const access::Principal& principal) {
    auto max = gateway_->limits.max_channels_per_connection;
    ChannelTypes types(gateway_->services.config.published_types,
                       gateway_->services.config.bars.intervals);
    Result<ChannelSet> channels = ChannelSet{};
    if (route.takes_body) {
        auto body = read_json_body(request_, gateway_->limits.max_json_depth);
        if (!body) return body.error();
        channels = resolve_channels_from_body(*body, max, EmptyChannels::refuse, types);
    } else {
        channels = resolve_channels_from_query(query, max, EmptyChannels::refuse, types);
    }
    if (!channels) return channels;
    if (auto allowed = authorize_channels(principal, *channels); !allowed) return allowed.error();
    return channels;
}

// Where a resuming SSE client left off: the Last-Event-ID header EventSource sends when it
// reconnects, or `last_event_id` in the query (a new EventSource, a client without headers).
Result<ResumePositions> HttpSession::resume_positions(std::string_view query,
                                                      const ChannelSet& channels) const {
    std::optional<std::string> id = query_param(query, "last_event_id");
    if (!id) {
        auto header = request_.find("Last-Event-ID");
        if (header == request_.end()) return ResumePositions{};
        id = std::string(header->value());
    }
    if (id->empty()) return ResumePositions{};  // EventSource's "no id yet"
    return parse_last_event_id(*id, channels);
}

// 429 with Retry-After when the credential (or, without auth, the address) has spent its
// requests for the minute.
std::optional<Reply> HttpSession::rate_limited(const Route& route,
                                               const access::Principal& principal) {
    auto& limiter = gateway_->rate_limiter;
    if (!limiter.enabled() || route.need == Need::nothing) return std::nullopt;
    std::string key = "key:" + principal.name;
    if (principal.name.empty())
        key = "address:" + transport_->remote_endpoint().address().to_string();
    auto wait = limiter.take(key);
    if (wait.count() == 0) return std::nullopt;
    auto seconds = std::to_string((wait.count() + 999) / 1000);
    Reply reply = error_reply(Error(429, "too many requests (limits.requests_per_minute: " +
                                             std::to_string(gateway_->limits.requests_per_minute) +
                                             "); try again in " + seconds + " s"));
    reply.headers.emplace_back(http::field::retry_after, seconds);
    return reply;
}

void HttpSession::run_handler(const RouteMatch& match, std::string_view query,
                              access::Principal principal) {
    auto call = [self = shared_from_this(), route = match.route, params = match.params, query,
                 principal = std::move(principal)] {
        RouteArgs args{self->request_, params, query, principal, self->gateway_->limits};
        try {
            return route->handler(self->gateway_->services, args);
        } catch (const std::exception& e) {
            // Bad input never lands here (handlers answer 4xx); this is a bug, so say so.
            BOOST_LOG_TRIVIAL(error)
                << "internal error on " << redacted_target(self->request_.target()) << ": "
                << e.what();
            return error_reply(Error(500, "internal error"));
        }
    };
    bool keep_alive = request_.keep_alive();
    // The embedded bus never waits on the network: its bus routes are answered right here.
    bool answer_here =
        match.route->kind == RouteKind::inline_rest ||
        (match.route->kind == RouteKind::bus_rest && !gateway_->services.bus.may_block());
    if (answer_here) {
        answer(call(), keep_alive);
        return;
    }
    auto& threads =
        match.route->kind == RouteKind::bus_rest ? gateway_->bus_threads : gateway_->config_thread;
    asio::post(threads, [self = shared_from_this(), call, keep_alive] {
        auto reply = call();
        asio::post(self->strand_, [self, reply = std::move(reply), keep_alive] {
            self->answer(reply, keep_alive);
        });
    });
}

void HttpSession::answer(Reply reply, bool keep_alive) {
    keep_alive = keep_alive && !gateway_->stopping;
    response_ = {static_cast<http::status>(reply.status),
                 request_.version() ? request_.version() : 11};
    response_.set(http::field::server, kServerHeader);
    if (!reply.body.empty()) response_.set(http::field::content_type, "application/json");
    for (const auto& [field, value] : reply.headers)
        response_.set(field, value);
    for (const auto& [name, value] : reply.named_headers)
        response_.set(name, value);
    for (const auto& [field, value] : cors_)
        response_.set(field, value);
    // gzip when the client takes it and it is worth it (a small body would not shrink much).
    if (reply.body.size() >= kGzipFrom &&
        deflate::accepts_gzip(request_[http::field::accept_encoding])) {
        reply.body = deflate::gzip(reply.body);
        response_.set(http::field::content_encoding, "gzip");
    }
    auto vary = std::string(response_[http::field::vary]);  // CORS may have said Origin
    response_.set(http::field::vary, vary.empty() ? "Accept-Encoding" : vary + ", Accept-Encoding");
    response_.body() = std::move(reply.body);
    response_.keep_alive(keep_alive);
    response_.prepare_payload();
    transport_->expires_after(gateway_->limits.request_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                          self->on_written(keep_alive, ec);
                      });
}

void HttpSession::on_written(bool keep_alive, beast::error_code ec) {
    if (ec) return;
    if (keep_alive) {
        read_request();
        return;
    }
    transport_->shutdown_send();
}

}  // namespace tickerd::gateway
