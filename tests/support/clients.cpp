#include "support/clients.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <deque>
#include <stdexcept>

namespace tickerd::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string lower(std::string_view text) {
    std::string result(text);
    std::transform(result.begin(), result.end(), result.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return result;
}

template <class Fields>
std::map<std::string, std::string> header_map(const Fields& fields) {
    std::map<std::string, std::string> result;
    for (const auto& field : fields) {
        result[lower(field.name_string())] = std::string(field.value());
    }
    return result;
}

tcp::endpoint endpoint_of(const std::string& host, unsigned short port) {
    return tcp::endpoint(asio::ip::make_address(host), port);
}

// Runs `io` until `done()` holds, the deadline passes or it runs out of work. Operations
// still pending at the deadline stay pending, so a later call can pick them up.
template <class Done>
bool drive(asio::io_context& io, Done done, Clock::time_point deadline) {
    while (!done()) {
        auto now = Clock::now();
        if (now >= deadline) return false;
        io.restart();
        if (io.run_one_for(deadline - now) == 0 && io.stopped() && !done()) {
            if (Clock::now() < deadline) return false;  // nothing left that could finish it
        }
    }
    return true;
}

// Completion handler state for one operation driven by drive().
struct Completion {
    bool done = false;
    beast::error_code ec;
    std::size_t bytes = 0;
    auto handler() {
        done = false;
        return [this](beast::error_code result, std::size_t transferred = 0) {
            ec = result;
            bytes = transferred;
            done = true;
        };
    }
};

[[noreturn]] void throw_error(beast::error_code ec, const std::string& what) {
    // Without the source location Asio attaches, so test failures read cleanly.
    throw boost::system::system_error(beast::error_code(ec.value(), ec.category()), what);
}

}  // namespace

// ---------------------------------------------------------------------------------------- HTTP

json::value HttpResponse::json() const {
    boost::system::error_code ec;
    auto value = json::parse(body, ec);
    if (ec) {
        throw std::runtime_error("response body is not JSON (status " + std::to_string(status) +
                                 "): " + body.substr(0, 500));
    }
    return value;
}

std::string HttpResponse::header(const std::string& lower_case_name) const {
    auto found = headers.find(lower_case_name);
    return found == headers.end() ? std::string() : found->second;
}

struct HttpClient::Impl {
    std::string host;
    unsigned short port;
    std::chrono::milliseconds timeout;
    asio::io_context io;
    beast::tcp_stream stream{io};
    beast::flat_buffer buffer;
    bool connected = false;
    int connections = 0;

    // tcp_stream's expiry applies to asynchronous operations only, so each step is an async
    // operation run to completion here; the expiry bounds it.
    template <class Start>
    beast::error_code run(Start start) {
        Completion completion;
        stream.expires_after(timeout);
        start(completion.handler());
        io.restart();
        io.run();
        return completion.ec;
    }

    void connect() {
        disconnect();
        buffer.clear();
        auto ec =
            run([&](auto handler) { stream.async_connect(endpoint_of(host, port), handler); });
        if (ec) throw_error(ec, "connect to " + host + ":" + std::to_string(port));
        connected = true;
        ++connections;
    }

    void disconnect() {
        if (!connected) return;
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
        connected = false;
    }

    // One exchange on the current connection; the error says where it failed.
    std::optional<HttpResponse> exchange(http::request<http::string_body>& request,
                                         beast::error_code& ec) {
        ec = run([&](auto handler) { http::async_write(stream, request, handler); });
        // A server refusing a request early (413) may close before reading all of it; its
        // answer can still be waiting to be read, so read even after a failed write.
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        auto read_ec =
            run([&](auto handler) { http::async_read(stream, buffer, parser, handler); });
        if (read_ec) {
            if (!ec) ec = read_ec;
            return std::nullopt;
        }
        ec = {};
        auto& message = parser.get();
        HttpResponse response{message.result_int(), header_map(message), message.body()};
        if (!message.keep_alive()) disconnect();
        return response;
    }
};

HttpClient::HttpClient(std::string host, unsigned short port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
    impl_->host = std::move(host);
    impl_->port = port;
    impl_->timeout = timeout;
}
HttpClient::~HttpClient() {
    if (impl_) impl_->disconnect();
}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

int HttpClient::connections_opened() const {
    return impl_->connections;
}

HttpResponse HttpClient::request(std::string_view method, std::string_view target,
                                 std::string_view body, std::string_view content_type,
                                 const Headers& extra_headers) {
    http::request<http::string_body> request;
    request.method_string(method);
    request.target(target);
    request.version(11);
    request.set(http::field::host, impl_->host + ":" + std::to_string(impl_->port));
    request.set(http::field::user_agent, "tickerd-test");
    if (!body.empty() || method == "POST" || method == "PUT") {
        if (!content_type.empty()) request.set(http::field::content_type, content_type);
        request.body() = std::string(body);
    }
    for (const auto& [name, value] : extra_headers)
        request.set(name, value);
    request.prepare_payload();

    bool reused = impl_->connected;
    if (!impl_->connected) impl_->connect();
    beast::error_code ec;
    if (auto response = impl_->exchange(request, ec)) return *response;
    impl_->disconnect();
    // A kept-alive connection the server has since closed: one fresh attempt.
    if (reused && ec != beast::error::timeout) {
        impl_->connect();
        if (auto response = impl_->exchange(request, ec)) return *response;
        impl_->disconnect();
    }
    throw_error(ec, std::string(method) + " " + std::string(target));
}

HttpResponse HttpClient::post_json(std::string_view target, const json::value& body) {
    return request("POST", target, json::serialize(body));
}

HttpResponse HttpClient::put_json(std::string_view target, const json::value& body) {
    return request("PUT", target, json::serialize(body));
}

// ----------------------------------------------------------------------------------------- SSE

json::value SseEvent::json() const {
    if (!data) throw std::runtime_error("SSE event without data");
    boost::system::error_code ec;
    auto value = json::parse(*data, ec);
    if (ec) throw std::runtime_error("SSE data is not JSON: " + data->substr(0, 500));
    return value;
}

std::vector<SseEvent> SseParser::feed(std::string_view bytes) {
    std::vector<SseEvent> done;
    pending_.append(bytes);
    std::size_t start = 0;
    for (auto end = pending_.find('\n', start); end != std::string::npos;
         end = pending_.find('\n', start)) {
        std::string_view line(pending_.data() + start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        take_line(line, done);
        start = end + 1;
    }
    pending_.erase(0, start);
    return done;
}

void SseParser::take_line(std::string_view line, std::vector<SseEvent>& done) {
    if (line.empty()) {
        if (!current_empty_) done.push_back(std::move(current_));
        current_ = SseEvent{};
        current_empty_ = true;
        return;
    }
    current_empty_ = false;
    auto colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field.empty()) {
        current_.comments.emplace_back(value);
    } else if (field == "data") {
        current_.data =
            current_.data ? *current_.data + "\n" + std::string(value) : std::string(value);
    } else if (field == "id") {
        current_.id = std::string(value);
    } else if (field == "event") {
        current_.event = std::string(value);
    } else if (field == "retry" && !value.empty() &&
               std::all_of(value.begin(), value.end(), [](char c) { return std::isdigit(c); })) {
        current_.retry = std::stoll(std::string(value));
    }
}

struct SseClient::Impl {
    std::string host;
    unsigned short port;
    asio::io_context io;
    beast::tcp_stream stream{io};
    beast::flat_buffer buffer;
    std::optional<http::response_parser<http::buffer_body>> parser;
    char body_chunk[8192];
    std::string body_text;  // kept for non-200 answers
    SseParser events_parser;
    std::deque<SseEvent> ready;
    bool reading = false;
    bool ended = false;
    bool ended_cleanly = false;
    std::string end_reason;
    std::optional<int64_t> retry;
    int comments = 0;

    SseOpenResult open(http::request<http::string_body> request,
                       std::chrono::milliseconds timeout) {
        auto deadline = Clock::now() + timeout;
        Completion step;
        stream.async_connect(endpoint_of(host, port), step.handler());
        if (!drive(
                io, [&] { return step.done; }, deadline) ||
            step.ec)
            fail_open(step, "connect");
        http::async_write(stream, request, step.handler());
        if (!drive(
                io, [&] { return step.done; }, deadline) ||
            step.ec)
            fail_open(step, "write");
        parser.emplace();
        parser->body_limit(boost::none);  // an event stream has no end
        http::async_read_header(stream, buffer, *parser, step.handler());
        if (!drive(
                io, [&] { return step.done; }, deadline) ||
            step.ec) {
            fail_open(step, "read response head");
        }
        auto& head = parser->get();
        SseOpenResult result{head.result_int(), header_map(head), {}};
        if (result.status != 200) {
            drive(
                io, [&] { return arm_read(), ended; }, deadline);
            result.error_body = body_text;
        }
        return result;
    }

    [[noreturn]] void fail_open(const Completion& step, const std::string& what) {
        stream.close();
        throw_error(step.done ? step.ec : beast::error::timeout, "SSE " + what);
    }

    // Keeps one read in flight; its completion parses what arrived and re-arms.
    void arm_read() {
        if (reading || ended) return;
        reading = true;
        auto& body = parser->get().body();
        body.data = body_chunk;
        body.size = sizeof body_chunk;
        http::async_read_some(stream, buffer, *parser,
                              [this](beast::error_code ec, std::size_t) { on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        reading = false;
        std::size_t got = sizeof body_chunk - parser->get().body().size;
        std::string_view bytes(body_chunk, got);
        if (parser->get().result_int() != 200) body_text.append(bytes);
        for (auto& event : events_parser.feed(bytes)) {
            if (event.retry) retry = event.retry;
            comments += static_cast<int>(event.comments.size());
            ready.push_back(std::move(event));
        }
        if (ec == http::error::need_buffer) ec = {};
        if (parser->is_done()) {
            ended = true;
            ended_cleanly = true;
            end_reason = "end of body";
        } else if (ec) {
            ended = true;
            end_reason = ec.message();
        }
    }

    std::optional<SseEvent> next(std::chrono::milliseconds timeout, bool data_only) {
        auto deadline = Clock::now() + timeout;
        while (true) {
            while (!ready.empty()) {
                SseEvent event = std::move(ready.front());
                ready.pop_front();
                if (!data_only || event.is_data()) return event;
            }
            if (ended || !parser) return std::nullopt;
            if (!drive(
                    io, [&] { return arm_read(), !ready.empty() || ended; }, deadline)) {
                return std::nullopt;
            }
        }
    }
};

SseClient::SseClient(std::string host, unsigned short port) : impl_(std::make_unique<Impl>()) {
    impl_->host = std::move(host);
    impl_->port = port;
}
SseClient::~SseClient() {
    close();
}

namespace {
http::request<http::string_body> sse_request(http::verb verb, std::string_view target,
                                             const std::string& host, unsigned short port,
                                             const Headers& extra_headers) {
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, host + ":" + std::to_string(port));
    request.set(http::field::accept, "text/event-stream");
    request.set(http::field::user_agent, "tickerd-test");
    for (const auto& [name, value] : extra_headers)
        request.set(name, value);
    return request;
}
}  // namespace

SseOpenResult SseClient::open_get(std::string_view target, std::chrono::milliseconds timeout,
                                  const Headers& extra_headers) {
    auto request = sse_request(http::verb::get, target, impl_->host, impl_->port, extra_headers);
    request.prepare_payload();
    return impl_->open(std::move(request), timeout);
}

SseOpenResult SseClient::open_post(std::string_view target, std::string_view json_body,
                                   std::chrono::milliseconds timeout,
                                   const Headers& extra_headers) {
    auto request = sse_request(http::verb::post, target, impl_->host, impl_->port, extra_headers);
    request.set(http::field::content_type, "application/json");
    request.body() = std::string(json_body);
    request.prepare_payload();
    return impl_->open(std::move(request), timeout);
}

std::optional<SseEvent> SseClient::next_event(std::chrono::milliseconds timeout) {
    return impl_->next(timeout, false);
}
std::optional<SseEvent> SseClient::next_data_event(std::chrono::milliseconds timeout) {
    return impl_->next(timeout, true);
}
bool SseClient::ended() const {
    return impl_->ended;
}
bool SseClient::ended_cleanly() const {
    return impl_->ended_cleanly;
}
std::string SseClient::end_reason() const {
    return impl_->end_reason;
}
std::optional<int64_t> SseClient::retry() const {
    return impl_->retry;
}
int SseClient::comments_seen() const {
    return impl_->comments;
}

void SseClient::close() {
    if (!impl_) return;
    beast::error_code ignored;
    impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    impl_->stream.close();
    // Let the cancelled read finish so no handler outlives the call.
    drive(
        impl_->io, [&] { return !impl_->reading; }, Clock::now() + std::chrono::seconds(1));
    impl_->ended = true;
}

// ----------------------------------------------------------------------------------- WebSocket

struct WsClient::Impl {
    std::string host;
    unsigned short port;
    asio::io_context io;
    websocket::stream<beast::tcp_stream> ws{io};
    beast::flat_buffer read_buffer;
    std::deque<std::string> inbox;
    std::string outgoing;  // the frame being written (must outlive the write)
    bool open = false;
    bool reading = false;
    bool closed = false;
    bool closing = false;  // we started the close: an aborted read is expected
    std::optional<uint16_t> close_code;
    std::string close_reason;
    std::string error;
    unsigned refused_status = 0;

    void arm_read() {
        if (reading || closed || !open) return;
        reading = true;
        ws.async_read(read_buffer, [this](beast::error_code ec, std::size_t) { on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        reading = false;
        if (!ec) {
            inbox.push_back(beast::buffers_to_string(read_buffer.data()));
            read_buffer.consume(read_buffer.size());
            return;
        }
        closed = true;
        // A close frame may have arrived even when answering it failed (the server is gone).
        if (ws.reason().code != websocket::close_code::none) {
            close_code = static_cast<uint16_t>(ws.reason().code);
            close_reason = std::string(ws.reason().reason.c_str());
        }
        bool expected =
            ec == websocket::error::closed || (closing && ec == asio::error::operation_aborted);
        if (!expected) error = ec.message();
    }
};

WsClient::WsClient(std::string host, unsigned short port) : impl_(std::make_unique<Impl>()) {
    impl_->host = std::move(host);
    impl_->port = port;
}
WsClient::~WsClient() {
    if (!impl_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(impl_->ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(impl_->ws).close();
}

void WsClient::connect(std::string_view target, std::chrono::milliseconds timeout,
                       const Headers& extra_headers) {
    auto& impl = *impl_;
    impl.ws.set_option(websocket::stream_base::decorator([extra_headers](auto& request) {
        for (const auto& [name, value] : extra_headers)
            request.set(name, value);
    }));
    auto deadline = Clock::now() + timeout;
    Completion step;
    beast::get_lowest_layer(impl.ws).async_connect(endpoint_of(impl.host, impl.port),
                                                   step.handler());
    if (!drive(
            impl.io, [&] { return step.done; }, deadline) ||
        step.ec) {
        throw_error(step.done ? step.ec : beast::error::timeout, "WebSocket connect");
    }
    websocket::response_type response;
    impl.ws.async_handshake(response, impl.host + ":" + std::to_string(impl.port), target,
                            step.handler());
    if (!drive(
            impl.io, [&] { return step.done; }, deadline)) {
        beast::get_lowest_layer(impl.ws).close();
        throw_error(beast::error::timeout, "WebSocket handshake");
    }
    if (step.ec) {
        impl.refused_status = response.result_int();
        throw std::runtime_error("WebSocket handshake refused: " + step.ec.message() + " (status " +
                                 std::to_string(impl.refused_status) + ") " + response.body());
    }
    impl.open = true;
}

unsigned WsClient::refused_status() const {
    return impl_->refused_status;
}

void WsClient::send_text(std::string_view text, std::chrono::milliseconds timeout) {
    auto& impl = *impl_;
    if (impl.closed || !impl.open) throw std::runtime_error("WebSocket not open");
    impl.outgoing = std::string(text);
    impl.ws.text(true);
    Completion step;
    impl.ws.async_write(asio::buffer(impl.outgoing), step.handler());
    // Reads keep running meanwhile, so the server is never stuck behind an unread frame.
    if (!drive(
            impl.io, [&] { return impl.arm_read(), step.done; }, Clock::now() + timeout)) {
        throw_error(beast::error::timeout, "WebSocket write");
    }
    // The server may close while the frame is on its way (a rate limit's 1008, say): Beast
    // then cancels the write. That is a close, which closed() and close_code() report, not a
    // failure of the client.
    if (!step.ec) return;
    drive(
        impl.io, [&] { return impl.arm_read(), impl.closed; },
        Clock::now() + std::chrono::seconds(1));
    if (!impl.closed) throw_error(step.ec, "WebSocket write");
}

void WsClient::send_json(const json::value& value, std::chrono::milliseconds timeout) {
    send_text(json::serialize(value), timeout);
}

std::optional<std::string> WsClient::next_text(std::chrono::milliseconds timeout) {
    auto& impl = *impl_;
    drive(
        impl.io, [&] { return impl.arm_read(), !impl.inbox.empty() || impl.closed; },
        Clock::now() + timeout);
    if (impl.inbox.empty()) return std::nullopt;
    std::string text = std::move(impl.inbox.front());
    impl.inbox.pop_front();
    return text;
}

std::optional<json::value> WsClient::next_json(std::chrono::milliseconds timeout) {
    auto text = next_text(timeout);
    if (!text) return std::nullopt;
    boost::system::error_code ec;
    auto value = json::parse(*text, ec);
    if (ec) throw std::runtime_error("WebSocket message is not JSON: " + text->substr(0, 500));
    return value;
}

std::optional<json::value> WsClient::next_of_type(std::string_view type,
                                                  std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto message = next_json(left);
        if (!message) return std::nullopt;
        const auto* object = message->if_object();
        if (!object) continue;
        const auto* found = object->if_contains("type");
        if (found && found->is_string() && found->as_string() == type) return message;
    }
}

void WsClient::close(std::chrono::milliseconds timeout) {
    auto& impl = *impl_;
    if (impl.closed || !impl.open) return;
    auto deadline = Clock::now() + timeout;
    Completion step;
    impl.closing = true;
    impl.ws.async_close(websocket::close_code::normal, step.handler());
    drive(
        impl.io, [&] { return step.done && !impl.reading; }, deadline);
    if (step.done && step.ec && step.ec != websocket::error::closed && impl.error.empty()) {
        impl.error = "close: " + step.ec.message();
    }
    impl.closed = true;
}

bool WsClient::closed() const {
    return impl_->closed;
}
std::optional<uint16_t> WsClient::close_code() const {
    return impl_->close_code;
}
std::string WsClient::close_reason() const {
    return impl_->close_reason;
}
std::string WsClient::error() const {
    return impl_->error;
}

// ------------------------------------------------------------------------------------ Helpers

std::optional<std::pair<uint64_t, uint64_t>> parse_message_id(std::string_view id) {
    auto dash = id.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size()) return std::nullopt;
    auto number = [](std::string_view text) -> std::optional<uint64_t> {
        if (text.empty() || text.size() > 19) return std::nullopt;
        uint64_t value = 0;
        for (char c : text) {
            if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
            value = value * 10 + static_cast<uint64_t>(c - '0');
        }
        return value;
    };
    auto first = number(id.substr(0, dash));
    auto second = number(id.substr(dash + 1));
    if (!first || !second) return std::nullopt;
    return std::make_pair(*first, *second);
}

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
    std::tm parts{};
    int consumed = 0;
    std::string copy(text);
    if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &parts.tm_year, &parts.tm_mon,
                    &parts.tm_mday, &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &consumed) != 6) {
        return std::nullopt;
    }
    parts.tm_year -= 1900;
    parts.tm_mon -= 1;
    std::string_view rest = std::string_view(copy).substr(static_cast<std::size_t>(consumed));
    std::chrono::microseconds fraction{0};
    if (!rest.empty() && rest.front() == '.') {
        rest.remove_prefix(1);
        int64_t scale = 100000;
        while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) {
            fraction += std::chrono::microseconds((rest.front() - '0') * scale);
            scale /= 10;
            rest.remove_prefix(1);
        }
    }
    if (rest != "Z" && rest != "+00:00") return std::nullopt;
    std::time_t seconds = ::timegm(&parts);
    return std::chrono::system_clock::from_time_t(seconds) + fraction;
}

const json::value* find_path(const json::value& root, std::string_view pointer) {
    const json::value* current = &root;
    while (!pointer.empty()) {
        if (pointer.front() != '/') return nullptr;
        pointer.remove_prefix(1);
        auto end = pointer.find('/');
        std::string_view key = pointer.substr(0, end);
        pointer = end == std::string_view::npos ? std::string_view() : pointer.substr(end);
        if (const auto* object = current->if_object()) {
            current = object->if_contains(key);
        } else if (const auto* array = current->if_array()) {
            std::size_t index = 0;
            for (char c : key) {
                if (!std::isdigit(static_cast<unsigned char>(c))) return nullptr;
                index = index * 10 + static_cast<std::size_t>(c - '0');
            }
            current = index < array->size() ? &(*array)[index] : nullptr;
        } else {
            return nullptr;
        }
        if (current == nullptr) return nullptr;
    }
    return current;
}

std::string text_at(const json::value& root, std::string_view pointer) {
    const auto* found = find_path(root, pointer);
    return found && found->is_string() ? std::string(found->as_string()) : std::string();
}

double number_at(const json::value& root, std::string_view pointer) {
    const auto* found = find_path(root, pointer);
    return found && found->is_number() ? found->to_number<double>() : -1;
}

}  // namespace tickerd::testing
