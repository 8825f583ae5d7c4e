// Hostile input and every limit (CONTRACT.md §6), from outside over raw sockets: request
// smuggling through Transfer-Encoding, garbage answered at once, slow senders cut, headers,
// bodies and JSON nesting over their limits, connections over the limits in all and per
// address, requests over the rate (429 with Retry-After), WebSocket messages that are too
// big, not UTF-8 or too many, and a daemon out of file descriptors that says so and recovers.
#define BOOST_TEST_MODULE daemon_limits
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <poll.h>

#include <memory>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

// A plain socket: send bytes, read what comes until the server closes or `timeout` passes.
struct Raw {
    asio::io_context io;
    tcp::socket socket{io};

    explicit Raw(unsigned short port) {
        socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }
    void send(std::string_view bytes) { asio::write(socket, asio::buffer(bytes)); }

    struct Answer {
        std::string data;
        bool closed = false;  // the server closed the connection
        std::chrono::milliseconds took{};
    };
    Answer read(std::chrono::milliseconds timeout) {
        Answer answer;
        auto start = std::chrono::steady_clock::now();
        auto deadline = start + timeout;
        char buffer[65536];
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd fd{socket.native_handle(), POLLIN, 0};
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (::poll(&fd, 1, static_cast<int>(std::max<long>(left.count(), 1))) <= 0) break;
            boost::system::error_code ec;
            auto n = socket.read_some(asio::buffer(buffer), ec);
            answer.data.append(buffer, n);
            if (ec) {
                answer.closed = true;
                break;
            }
        }
        answer.took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        return answer;
    }
};

unsigned status_of(const std::string& response) {
    if (response.size() < 12 || !response.starts_with("HTTP/1.1 ")) return 0;
    return static_cast<unsigned>(std::stoi(response.substr(9, 3)));
}

struct LimitsDaemon {
    TempDir files{"tickerd-limits"};
    std::unique_ptr<DaemonProcess> daemon;

    explicit LimitsDaemon(json::object limits) {
        DaemonOptions options;
        options.config_file = write_config(
            files, {{"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
                    {"limits", limits}});
        daemon = std::make_unique<DaemonProcess>(options);
        daemon->wait_ready();
    }
    unsigned short port() const { return daemon->port(); }
};

// Short timeouts and small limits, so each one can be reached in a test.
LimitsDaemon& small() {
    static LimitsDaemon instance({{"header_timeout_seconds", 2},
                                  {"idle_timeout_seconds", 2},
                                  {"max_header_bytes", 4096},
                                  {"max_body_bytes", 8192},
                                  {"max_json_depth", 8},
                                  {"max_channels_per_connection", 3},
                                  {"max_ws_message_bytes", 1024},
                                  {"requests_per_minute", 0}});
    return instance;
}

bool instrument_exists(unsigned short port, const std::string& symbol) {
    HttpClient http("127.0.0.1", port);
    return http.get("/streaming/config/instruments/" + symbol).status == 200;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_body_of_unknown_length_is_refused_and_cannot_smuggle_a_request) {
    auto port = small().port();
    for (std::string coding : {"xchunked", "chunked, gzip", "identity", "gzip"}) {
        BOOST_TEST_CONTEXT(coding) {
            Raw raw(port);
            raw.send(
                "POST /streaming/config/instruments HTTP/1.1\r\nHost: localhost\r\n"
                "Transfer-Encoding: " +
                coding +
                "\r\nContent-Type: application/json\r\n\r\n"
                "DELETE /streaming/config/instruments/AAPL HTTP/1.1\r\nHost: localhost\r\n\r\n");
            auto answer = raw.read(3s);
            BOOST_TEST(status_of(answer.data) == 400u, answer.data);
            BOOST_TEST(answer.closed);
            BOOST_TEST(count_occurrences(answer.data, "HTTP/1.1") == 1u);  // no second answer
            BOOST_TEST(instrument_exists(port, "AAPL"));
        }
    }
    Raw both(port);
    both.send(
        "POST /streaming/config/instruments HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    auto answer = both.read(3s);
    BOOST_TEST(status_of(answer.data) == 400u);
    BOOST_TEST(answer.closed);
}

BOOST_AUTO_TEST_CASE(garbage_is_answered_400_at_once_and_the_connection_closed) {
    auto port = small().port();
    for (std::string garbage :
         {std::string("\x01\x02\x03", 3), std::string("Pf"), std::string("get / HTTP/1.1\r\n"),
          std::string("GARBAGE\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
          std::string("POST /streaming/config/instruments HTTP/1.1\r\n"
                      "Host: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")}) {
        BOOST_TEST_CONTEXT(json::serialize(json::string(garbage))) {
            Raw raw(port);
            raw.send(garbage);
            auto answer = raw.read(1500ms);
            BOOST_TEST(status_of(answer.data) == 400u, answer.data);
            BOOST_TEST(answer.closed);
            BOOST_TEST(answer.took.count() < 1000);
        }
    }
}

BOOST_AUTO_TEST_CASE(slow_senders_and_idle_connections_are_cut) {
    auto port = small().port();
    // A request line, then nothing: the header timeout (2 s here) cuts it.
    Raw slow(port);
    slow.send("GET / HTTP/1.1\r\nHost: x\r\n");
    auto cut = slow.read(5s);
    BOOST_TEST(cut.closed);
    BOOST_TEST((cut.took >= 1500ms && cut.took < 4000ms), cut.took.count());
    // A kept-alive connection that sends no further request: the idle timeout.
    Raw idle(port);
    idle.send("GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n");
    auto answered = idle.read(500ms);
    BOOST_TEST(status_of(answered.data) == 200u);
    BOOST_TEST(!answered.closed);
    BOOST_TEST(idle.read(5s).closed);
}

BOOST_AUTO_TEST_CASE(headers_bodies_and_nesting_over_their_limits) {
    auto port = small().port();
    HttpClient http("127.0.0.1", port);
    auto headers =
        http.request("GET", "/", {}, "application/json", {{"X-Padding", std::string(5000, 'x')}});
    BOOST_TEST(headers.status == 431u);
    HttpClient again("127.0.0.1", port);
    auto body =
        again.post("/streaming/config/instruments",
                   R"({"symbol":"BIG","custom_config":{"x":")" + std::string(9000, 'x') + "\"}}");
    BOOST_TEST(body.status == 413u);
    HttpClient third("127.0.0.1", port);
    std::string deep =
        R"({"symbol":"DEEP","custom_config":)" + std::string(10, '[') + std::string(10, ']') + "}";
    auto nested = third.post("/streaming/config/instruments", deep);
    BOOST_TEST(nested.status == 400u);
    BOOST_TEST(nested.body.find("nested deeper than 8 levels") != std::string::npos, nested.body);
    // Channels per connection: SSE 422, WebSocket an error frame.
    SseClient sse("127.0.0.1", port);
    auto four = sse.open_get("/streaming/subscribe/sse?data_types=market_data&symbols=A,B,C,D");
    BOOST_TEST(four.status == 422u);
    WsClient ws("127.0.0.1", port);
    ws.connect("/streaming/ws?data_types=market_data&symbols=A,B");
    ws.send_json(
        {{"action", "subscribe"}, {"symbols", {"C", "D"}}, {"data_types", {"market_data"}}});
    auto error = ws.next_of_type("error", 5s);
    BOOST_REQUIRE(error);
    BOOST_TEST(std::string(error->at("detail").as_string()).find("at most 3") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(websocket_messages_too_big_or_not_utf8_close_the_connection) {
    auto port = small().port();
    auto connect = [&](websocket::stream<tcp::socket>& ws) {
        ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        ws.handshake("127.0.0.1", "/streaming/ws");
        beast::flat_buffer buffer;
        ws.read(buffer);  // connected
    };
    asio::io_context io;
    websocket::stream<tcp::socket> big(io);
    connect(big);
    big.write(asio::buffer(std::string(2000, ' ')));
    beast::flat_buffer buffer;
    beast::error_code ec;
    big.read(buffer, ec);
    BOOST_TEST(big.reason().code == 1009);

    // Beast's client checks what it sends, so the invalid frame is written by hand: FIN,
    // text, masked with a zero key, two bytes that are not UTF-8.
    websocket::stream<tcp::socket> bad(io);
    connect(bad);
    const unsigned char frame[] = {0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28};
    asio::write(bad.next_layer(), asio::buffer(frame));
    bad.read(buffer, ec);
    BOOST_TEST((ec == websocket::error::closed), ec.message());
    BOOST_TEST(bad.reason().code == 1007);
}

BOOST_AUTO_TEST_CASE(connections_over_the_limits_are_answered_503) {
    LimitsDaemon daemon({{"max_connections", 6}, {"max_connections_per_ip", 4}});
    std::this_thread::sleep_for(300ms);  // wait_ready's connection has been counted out
    std::vector<std::unique_ptr<Raw>> open;
    for (int i = 0; i < 4; ++i)
        open.push_back(std::make_unique<Raw>(daemon.port()));
    // wait_ready's own connection is gone by now; these four are all from 127.0.0.1.
    Raw fifth(daemon.port());
    auto refused = fifth.read(2s);
    BOOST_TEST(status_of(refused.data) == 503u, refused.data);
    BOOST_TEST(refused.data.find("max_connections_per_ip") != std::string::npos);
    BOOST_TEST(refused.closed);
    open.pop_back();
    BOOST_TEST(wait_until(
        [&] {
            HttpClient http("127.0.0.1", daemon.port());
            return http.get("/livez").status == 200;
        },
        5s));
}

BOOST_AUTO_TEST_CASE(requests_over_the_rate_get_429_with_retry_after) {
    LimitsDaemon daemon({{"requests_per_minute", 5}});
    HttpClient http("127.0.0.1", daemon.port());
    // wait_ready spent some of the address's budget already; spend the rest.
    unsigned status = 200;
    HttpResponse last;
    for (int i = 0; i < 10 && status != 429; ++i) {
        last = http.get("/streaming/channels");
        status = last.status;
    }
    BOOST_TEST(status == 429u);
    BOOST_TEST(!last.header("retry-after").empty());
    BOOST_TEST(std::stoi(last.header("retry-after")) <= 12);
    // The open route is not counted.
    BOOST_TEST(http.get("/livez").status == 200u);

    WsClient ws("127.0.0.1", daemon.port());
    BOOST_CHECK_THROW(ws.connect("/streaming/ws"), std::exception);
    BOOST_TEST(ws.refused_status() == 429u);
}

BOOST_AUTO_TEST_CASE(websocket_requests_over_the_rate_get_errors_then_1008) {
    LimitsDaemon daemon({{"requests_per_minute", 30}});
    WsClient ws("127.0.0.1", daemon.port());
    ws.connect("/streaming/ws");
    int pongs = 0, refusals = 0;
    for (int i = 0; i < 100 && !ws.closed(); ++i) {
        ws.send_json({{"action", "ping"}});
        auto reply = ws.next_json(2s);
        if (!reply) break;
        std::string type(reply->at("type").as_string());
        if (type == "pong") ++pongs;
        if (type == "error") {
            ++refusals;
            BOOST_TEST(std::string(reply->at("detail").as_string()).find("too many requests") ==
                       0u);
        }
    }
    BOOST_TEST_MESSAGE("pongs " << pongs << ", refusals " << refusals << " closed " << ws.closed()
                                << " error " << ws.error());
    BOOST_TEST(pongs <= 31);
    BOOST_TEST(refusals >= 1);
    BOOST_TEST(ws.closed());
    BOOST_TEST(ws.close_code().value_or(0) == 1008);
}

BOOST_AUTO_TEST_CASE(out_of_file_descriptors_clients_hear_503_at_once_and_service_resumes) {
    LimitsDaemon daemon({});
    auto pid = std::to_string(daemon.daemon->pid());
    std::size_t in_use = 0;
    for ([[maybe_unused]] const auto& fd :
         std::filesystem::directory_iterator("/proc/" + pid + "/fd"))
        ++in_use;
    // Room for a few connections more than the daemon holds now.
    auto limit = std::to_string(in_use + 6);
    BOOST_REQUIRE(
        std::system(("prlimit --pid " + pid + " --nofile=" + limit + ":" + limit).c_str()) == 0);
    std::vector<std::unique_ptr<Raw>> held;
    int refused = 0;
    for (int i = 0; i < 20; ++i) {
        auto raw = std::make_unique<Raw>(daemon.port());
        raw->send("GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n");
        auto answer = raw->read(2s);
        BOOST_REQUIRE_MESSAGE(!answer.data.empty(), "connection " << i << " got no answer");
        if (status_of(answer.data) == 503u) {
            ++refused;
            BOOST_TEST(answer.data.find("out of file descriptors") != std::string::npos);
            BOOST_TEST(answer.closed);
        } else {
            BOOST_TEST(status_of(answer.data) == 200u);
            held.push_back(std::move(raw));  // keeps its descriptor busy
        }
    }
    BOOST_TEST(refused > 0);
    // Logged once, not once per refused client.
    BOOST_TEST(count_occurrences(daemon.daemon->log(), "out of file descriptors") == 1u,
               daemon.daemon->log_tail());
    held.clear();
    BOOST_TEST(wait_until(
        [&] {
            Raw raw(daemon.port());
            raw.send("GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n");
            return status_of(raw.read(1s).data) == 200u;
        },
        5s, 50ms));
}
