// Clients that speak to the daemon over real loopback sockets: plain HTTP (keep-alive),
// Server-Sent Events and WebSocket. Every call is bounded by a timeout.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickerd::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;

    // The body parsed as JSON; throws with the body in the message when it is not JSON.
    boost::json::value json() const;
    std::string header(const std::string& lower_case_name) const;  // "" when absent
};

// Synchronous Boost.Beast HTTP/1.1 client. Keeps its connection open between requests and
// reconnects when the server closed it.
class HttpClient {
  public:
    HttpClient(std::string host, unsigned short port,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~HttpClient();
    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;

    // Throws boost::system::system_error on connection failure or timeout.
    HttpResponse request(std::string_view method, std::string_view target,
                         std::string_view body = {},
                         std::string_view content_type = "application/json",
                         const Headers& extra_headers = {});
    HttpResponse get(std::string_view target) { return request("GET", target); }
    HttpResponse del(std::string_view target) { return request("DELETE", target); }
    HttpResponse post(std::string_view target, std::string_view body = {}) {
        return request("POST", target, body);
    }
    HttpResponse put(std::string_view target, std::string_view body) {
        return request("PUT", target, body);
    }
    HttpResponse post_json(std::string_view target, const boost::json::value& body);
    HttpResponse put_json(std::string_view target, const boost::json::value& body);

    // The number of TCP connections opened so far (to check keep-alive).
    int connections_opened() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One Server-Sent Events block (the lines up to a blank line).
struct SseEvent {
    std::optional<std::string> id;
    std::optional<std::string> event;
    std::optional<std::string> data;  // several data: lines joined with "\n"
    std::optional<int64_t> retry;
    std::vector<std::string> comments;  // text after ':' (leading space removed)

    bool is_data() const { return data.has_value(); }
    boost::json::value json() const;  // data parsed as JSON
};

// Incremental SSE parser (text/event-stream framing), shared by the tests and the bench.
class SseParser {
  public:
    // Feeds raw body bytes; returns every block completed by them.
    std::vector<SseEvent> feed(std::string_view bytes);

  private:
    void take_line(std::string_view line, std::vector<SseEvent>& done);

    std::string pending_;  // an incomplete line
    SseEvent current_;
    bool current_empty_ = true;
};

struct SseOpenResult {
    unsigned status = 0;
    std::map<std::string, std::string> headers;
    std::string error_body;  // the body when the status is not 200
};

// An SSE subscription. open_get / open_post send the request and read the response head;
// next_event reads until a block is complete or the timeout passes (the stream stays usable
// after a timeout).
class SseClient {
  public:
    SseClient(std::string host, unsigned short port);
    ~SseClient();

    SseOpenResult open_get(std::string_view target,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10),
                           const Headers& extra_headers = {});
    SseOpenResult open_post(std::string_view target, std::string_view json_body,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10),
                            const Headers& extra_headers = {});

    // The next block (data, retry-only or comment-only); nullopt on timeout or end of stream.
    std::optional<SseEvent> next_event(std::chrono::milliseconds timeout);
    // The next block carrying data, skipping retry/comment blocks (which are still recorded).
    std::optional<SseEvent> next_data_event(std::chrono::milliseconds timeout);

    bool ended() const;          // the server ended the stream (or the connection failed)
    bool ended_cleanly() const;  // ...with a complete HTTP body (final chunk / clean EOF)
    std::string end_reason() const;
    std::optional<int64_t> retry() const;  // the last retry: value seen
    int comments_seen() const;
    void close();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A WebSocket client. A timed-out read leaves the connection usable.
class WsClient {
  public:
    WsClient(std::string host, unsigned short port);
    ~WsClient();

    // Throws on connection failure, refused upgrade or timeout.
    void connect(std::string_view target,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10),
                 const Headers& extra_headers = {});
    // The HTTP status of a refused upgrade (0 when the upgrade succeeded or never answered).
    unsigned refused_status() const;

    void send_text(std::string_view text,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));
    void send_json(const boost::json::value& value,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // The next text message, nullopt on timeout or when the connection closed.
    std::optional<std::string> next_text(std::chrono::milliseconds timeout);
    std::optional<boost::json::value> next_json(std::chrono::milliseconds timeout);
    // The next message whose "type" equals `type`, skipping others; nullopt on timeout/close.
    std::optional<boost::json::value> next_of_type(std::string_view type,
                                                   std::chrono::milliseconds timeout);
    // Closes with 1000 and waits (bounded) for the server's close.
    void close(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    bool closed() const;  // the server closed (or the connection failed)
    std::optional<uint16_t> close_code() const;
    std::string close_reason() const;
    std::string error() const;  // why the connection ended, when it did

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Helpers for StreamMessage checks.
// "1732449600123-7" -> {1732449600123, 7}; nullopt for another shape.
std::optional<std::pair<uint64_t, uint64_t>> parse_message_id(std::string_view id);
// "2026-11-24T12:00:00.123Z" -> the time point; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);
// JSON pointer lookup ("/data/price"); nullptr when missing.
const boost::json::value* find_path(const boost::json::value& root, std::string_view pointer);
// The string or number at `pointer`; "" or -1 when missing or of another type.
std::string text_at(const boost::json::value& root, std::string_view pointer);
double number_at(const boost::json::value& root, std::string_view pointer);

}  // namespace tickerd::testing
