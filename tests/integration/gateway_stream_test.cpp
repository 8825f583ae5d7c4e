#define BOOST_TEST_MODULE gateway_stream
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

// The streaming side of the gateway over real loopback sockets: SSE and WebSocket sessions
// fed by the embedded bus. A small front end in this file accepts connections, reads the
// request and hands it to start_sse / start_websocket the way the HTTP side does, so these
// tests exercise the sessions on their own.

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "gateway/send_batch.hpp"
#include "gateway/streams.hpp"
#include "plugins/plugins.hpp"
#include "scheduler/scheduler.hpp"
#include "support/support.hpp"
#include "telemetry/telemetry.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <sys/socket.h>

#include <atomic>
#include <optional>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using namespace tickerd;
using tickerd::testing::SseClient;
using tickerd::testing::WsClient;

namespace {

struct QuietLogs {
    QuietLogs() { tickerd::log::init(tickerd::log::Level::warning); }
};
BOOST_TEST_GLOBAL_FIXTURE(QuietLogs);

const std::string kAapl = "stream:market_data:AAPL";
const std::string kMsft = "stream:market_data:MSFT";

// Reads one request per connection and hands the connection over, like the HTTP side.
class Connection : public std::enable_shared_from_this<Connection> {
  public:
    Connection(tcp::socket socket, gateway::StreamContext context)
        : stream_(std::move(socket)), context_(context) {}

    void run() {
        http::async_read(stream_, buffer_, request_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (!ec) self->route();
                         });
    }

  private:
    void route() {
        std::string_view target = request_.target();
        auto question = target.find('?');
        std::string_view query =
            question == std::string_view::npos ? "" : target.substr(question + 1);
        if (websocket::is_upgrade(request_)) {
            auto accepted = gateway::accept_websocket(request_);
            if (!accepted) return refuse(accepted.error());
            return gateway::start_websocket(transport(), query, std::move(*accepted), context_);
        }
        Result<gateway::ChannelSet> channels;
        if (request_.method() == http::verb::post) {
            boost::system::error_code ec;
            auto body = json::parse(request_.body(), ec);
            if (ec) return refuse(Error::malformed("malformed JSON"));
            channels = gateway::resolve_channels_from_body(body, 100);
        } else {
            channels = gateway::resolve_channels_from_query(query, 100);
        }
        if (!channels) return refuse(channels.error());
        gateway::start_sse(transport(), std::move(*channels), context_);
    }

    std::unique_ptr<gateway::Transport> transport() {
        return gateway::make_plain_transport(stream_.release_socket());
    }

    void refuse(const Error& error) {
        response_.result(error.status);
        response_.set(http::field::content_type, "application/json");
        response_.body() = json::serialize(json::object{{"detail", error.detail}});
        response_.prepare_payload();
        http::async_write(
            stream_, response_,
            [self = shared_from_this()](beast::error_code, std::size_t) { self->stream_.close(); });
    }

    beast::tcp_stream stream_;
    gateway::StreamContext context_;
    beast::flat_buffer buffer_;
    gateway::Request request_;
    http::response<http::string_body> response_;
};

// The daemon's parts, built in-process, with the streams served on 127.0.0.1:<port>.
struct StreamFixture {
    explicit StreamFixture(gateway::Limits stream_limits = {})
        : limits(stream_limits),
          state(state_dir.path(), config::RuntimeConfig{}),
          plugins({TICKERD_TEST_VENDOR_DIR}),
          bus(bus::make_embedded_bus()),
          workers(io, state, plugins, *bus, telemetry),
          alerts(*bus, state, daemon_config.alerts, ""),
          services{daemon_config, state,  workers,
                   plugins,       *bus,   telemetry,
                   *gatekeeper,   alerts, std::chrono::steady_clock::now()},
          acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        plugins.load_all();
        plugins.configure({}, false);
        do_accept();
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([this] { io.run(); });
    }

    ~StreamFixture() {
        registry.close_all();
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (registry.open_count() > 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
        }
        asio::post(io, [this] { acceptor.close(); });
        work.reset();
        io.stop();
        for (auto& thread : threads)
            thread.join();
    }

    unsigned short port() const { return acceptor.local_endpoint().port(); }

    void do_accept() {
        acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket s) {
            if (ec) return;
            std::make_shared<Connection>(std::move(s), gateway::StreamContext{services,
                                                                              limits,
                                                                              registry,
                                                                              reader,
                                                                              {},
                                                                              nullptr,
                                                                              {},
                                                                              {},
                                                                              {},
                                                                              {},
                                                                              wheel,
                                                                              wakeups})
                ->run();
            do_accept();
        });
    }

    // Publishes a market_data message for `symbol`, padded to roughly `padding` bytes.
    bus::MessagePtr publish(const std::string& symbol, double price, std::size_t padding = 0) {
        bus::Envelope envelope{
            DataType::market_data, symbol, "mock", {{"price", price}}, 0, false, 0, ""};
        if (padding > 0) envelope.data["padding"] = std::string(padding, 'x');
        auto channel = channel_name(DataType::market_data, symbol);
        return sequencer.publish_next(channel, [&](uint64_t seq) {
            auto message = bus::make_message(envelope, seq, std::chrono::system_clock::now());
            bus->publish(message, 300s);
            return message;
        });
    }

    // Waits (bounded) until the channel has `count` subscribers.
    bool wait_for_subscribers(const std::string& channel, std::size_t count,
                              std::chrono::milliseconds timeout = 10s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (bus->stats(channel).subscribers == count) return true;
            std::this_thread::sleep_for(5ms);
        }
        return bus->stats(channel).subscribers == count;
    }

    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
        io.get_executor()};
    gateway::Limits limits;
    tickerd::testing::TempDir state_dir{"tickerd-gwstream"};
    config::DaemonConfig daemon_config;
    config::StateStore state;
    plugins::PluginHost plugins;
    std::unique_ptr<bus::Bus> bus;
    telemetry::Store telemetry;
    scheduler::WorkerManager workers;
    alerts::AlertCenter alerts;
    std::shared_ptr<access::Gatekeeper> gatekeeper =
        access::Gatekeeper::make(access::AccessSettings{}).value();
    // Auth is the HTTP side's; these streams are opened as someone who may read everything.
    access::Principal reader{"test", {access::Scope::read}, {}, std::nullopt};
    gateway::Services services;
    gateway::ClosableRegistry registry;
    std::shared_ptr<gateway::TimerWheel> wheel = std::make_shared<gateway::TimerWheel>(io);
    std::shared_ptr<gateway::WriterWakeups> wakeups =
        std::make_shared<gateway::WriterWakeups>(io, 2);
    bus::ChannelSequencer sequencer;
    tcp::acceptor acceptor;
    std::vector<std::thread> threads;
};

json::object parse_object(const std::string& text) {
    return json::parse(text).as_object();
}

// The next text frame as a JSON object; fails the test on timeout.
json::object next_json(WsClient& client, std::chrono::milliseconds timeout = 10s) {
    auto text = client.next_text(timeout);
    BOOST_REQUIRE_MESSAGE(text, "no WebSocket message in time: " << client.error());
    return parse_object(*text);
}

std::vector<std::string> channels_of(const json::object& reply) {
    std::vector<std::string> channels;
    for (const auto& channel : reply.at("channels").as_array()) {
        channels.emplace_back(channel.as_string());
    }
    return channels;
}

uint64_t seq_of(const json::object& data_frame) {
    return data_frame.at("message").at("metadata").at("seq").to_number<uint64_t>();
}

gateway::ChannelSet expect_channels(const Result<gateway::ChannelSet>& result) {
    BOOST_REQUIRE_MESSAGE(result, "expected channels, got " << result.error());
    return *result;
}

Error expect_error(const Result<gateway::ChannelSet>& result) {
    BOOST_REQUIRE_MESSAGE(!result, "expected an error");
    return result.error();
}

}  // namespace

// ---- resolve_channels -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(resolve_channels_unions_validates_and_orders) {
    auto result = gateway::resolve_channels({kAapl, "stream:news:msft"}, {"market_data", "news"},
                                            {"aapl", "BRK-B"}, 100);
    std::vector<std::string> expected{kAapl, "stream:news:MSFT", "stream:market_data:BRK-B",
                                      "stream:news:AAPL", "stream:news:BRK-B"};
    BOOST_TEST(expect_channels(result) == expected, boost::test_tools::per_element());

    auto bad_channel = expect_error(gateway::resolve_channels({"x"}, {}, {}, 100));
    BOOST_TEST(bad_channel.status == 422u);
    BOOST_TEST(bad_channel.detail.find(
                   "channels: 'x' is not a valid channel (expected stream:<data_type>:<SYMBOL>, "
                   "the data type one of market_data, ") == 0u,
               bad_channel.detail);
    auto bad_type = expect_error(gateway::resolve_channels({}, {"quotes"}, {"A"}, 9));
    BOOST_TEST(bad_type.status == 422u);
    BOOST_TEST(bad_type.detail.find("'quotes'") != std::string::npos);
    auto bad_symbol = expect_error(gateway::resolve_channels({}, {"news"}, {"A B"}, 9));
    BOOST_TEST(bad_symbol.status == 422u);
    BOOST_TEST(bad_symbol.detail.find("symbols: 'A B'") == 0u);

    auto empty = expect_error(gateway::resolve_channels({}, {}, {"AAPL"}, 9));
    BOOST_TEST(empty.status == 400u);
    BOOST_TEST(empty.detail == "At least one channel must be specified");
    BOOST_TEST(
        expect_channels(gateway::resolve_channels({}, {}, {}, 9, gateway::EmptyChannels::allow))
            .empty());

    auto too_many =
        expect_error(gateway::resolve_channels({}, {"market_data", "news"}, {"A", "B"}, 3));
    BOOST_TEST(too_many.status == 422u);
}

BOOST_AUTO_TEST_CASE(published_types_are_channels_only_where_declared) {
    std::vector<std::string> declared{"signals"};
    ChannelTypes types(declared);
    auto refuse = gateway::EmptyChannels::refuse;
    auto both =
        gateway::resolve_channels({"stream:signals:aapl"}, {"signals"}, {"MSFT"}, 9, refuse, types);
    std::vector<std::string> expected{"stream:signals:AAPL", "stream:signals:MSFT"};
    BOOST_TEST(expect_channels(both) == expected, boost::test_tools::per_element());
    // Without the declaration, the same names are refused, naming what is served.
    auto undeclared = expect_error(gateway::resolve_channels({"stream:signals:AAPL"}, {}, {}, 9));
    BOOST_TEST(undeclared.status == 422u);
    BOOST_TEST(undeclared.detail.find("signals") != std::string::npos);
    auto query =
        gateway::resolve_channels_from_query("data_types=signals&symbols=A", 9, refuse, types);
    BOOST_TEST(expect_channels(query) == std::vector<std::string>{"stream:signals:A"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(resolve_channels_from_query_and_body) {
    // The seed's WebSocket example: symbols without data_types add nothing.
    auto seed =
        gateway::resolve_channels_from_query("channels=stream:market_data:AAPL&symbols=AAPL", 100);
    BOOST_TEST(expect_channels(seed) == std::vector<std::string>{kAapl},
               boost::test_tools::per_element());
    auto encoded = gateway::resolve_channels_from_query(
        "channels=stream%3Amarket_data%3A%5EGSPC,,&data_types=news&symbols=%20msft&_=17", 100);
    std::vector<std::string> expected{"stream:market_data:^GSPC", "stream:news:MSFT"};
    BOOST_TEST(expect_channels(encoded) == expected, boost::test_tools::per_element());
    BOOST_TEST(expect_error(gateway::resolve_channels_from_query("channels=%zz", 9)).status ==
               400u);
    BOOST_TEST(expect_error(gateway::resolve_channels_from_query("", 9)).status == 400u);

    auto body = gateway::resolve_channels_from_body(
        json::parse(R"({"channels":[],"data_types":["market_data"],"symbols":["aapl"]})"), 100);
    BOOST_TEST(expect_channels(body) == std::vector<std::string>{kAapl},
               boost::test_tools::per_element());
    auto not_object = expect_error(gateway::resolve_channels_from_body(json::array{}, 9));
    BOOST_TEST(not_object.status == 422u);
    auto wrong_type =
        expect_error(gateway::resolve_channels_from_body(json::parse(R"({"symbols":"AAPL"})"), 9));
    BOOST_TEST(wrong_type.status == 422u);
    BOOST_TEST(wrong_type.detail.find("symbols:") == 0u);
    auto unknown =
        expect_error(gateway::resolve_channels_from_body(json::parse(R"({"channel":["x"]})"), 9));
    BOOST_TEST(unknown.status == 422u);
    BOOST_TEST(unknown.detail.find("channel:") == 0u);
}

// ---- SSE --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(sse_get_sends_retry_then_latest_then_messages_in_order) {
    StreamFixture fixture;
    auto latest = fixture.publish("AAPL", 100);

    SseClient client("127.0.0.1", fixture.port());
    auto opened = client.open_get("/streaming/subscribe/sse?channels=" + kAapl);
    BOOST_TEST(opened.status == 200u);
    BOOST_TEST(opened.headers["content-type"] == "text/event-stream; charset=utf-8");
    BOOST_TEST(opened.headers["cache-control"] == "no-cache");
    BOOST_TEST(opened.headers["x-accel-buffering"] == "no");

    auto first = client.next_event(10s);
    BOOST_REQUIRE(first);
    BOOST_TEST(first->retry.value_or(0) == 3000);
    BOOST_TEST(!first->is_data());

    auto snapshot = client.next_data_event(10s);
    BOOST_REQUIRE(snapshot);
    BOOST_TEST(snapshot->id.value_or("") == latest->id);
    BOOST_TEST(!snapshot->event.has_value());
    BOOST_TEST(*snapshot->data == latest->json);

    std::vector<bus::MessagePtr> published;
    for (int i = 0; i < 5; ++i)
        published.push_back(fixture.publish("AAPL", 101 + i));
    for (const auto& message : published) {
        auto event = client.next_data_event(10s);
        BOOST_REQUIRE(event);
        BOOST_TEST(event->id.value_or("") == message->id);
        BOOST_TEST(!event->event.has_value());
        BOOST_TEST(event->json().at("metadata").at("seq").to_number<uint64_t>() == message->seq);
    }
}

BOOST_AUTO_TEST_CASE(sse_post_subscribes_to_data_types_times_symbols) {
    StreamFixture fixture;
    SseClient client("127.0.0.1", fixture.port());
    auto opened = client.open_post("/streaming/subscribe/sse",
                                   R"({"data_types":["market_data"],"symbols":["msft","aapl"]})");
    BOOST_TEST(opened.status == 200u);
    BOOST_REQUIRE(fixture.wait_for_subscribers(kAapl, 1));
    BOOST_REQUIRE(fixture.wait_for_subscribers(kMsft, 1));

    auto msft = fixture.publish("MSFT", 300);
    fixture.publish("GOOG", 1);  // not subscribed
    auto aapl = fixture.publish("AAPL", 200);
    auto first = client.next_data_event(10s);
    auto second = client.next_data_event(10s);
    BOOST_REQUIRE(first && second);
    BOOST_TEST(first->json().at("id").as_string() == msft->id);
    BOOST_TEST(second->json().at("channel").as_string() == kAapl);
    BOOST_TEST(second->json().at("id").as_string() == aapl->id);
    // Several channels: each id is the stream's position in every channel, in its order
    // (market_data × MSFT, AAPL), what a resume reads back.
    BOOST_TEST(first->id.value_or("") == std::to_string(msft->seq) + ".0");
    BOOST_TEST(second->id.value_or("") ==
               std::to_string(msft->seq) + "." + std::to_string(aapl->seq));
}

BOOST_AUTO_TEST_CASE(sse_sends_keepalive_comments_when_idle) {
    gateway::Limits limits;
    limits.keepalive_interval = 1s;
    StreamFixture fixture(limits);
    SseClient client("127.0.0.1", fixture.port());
    BOOST_TEST(client.open_get("/streaming/subscribe/sse?channels=" + kAapl).status == 200u);
    bool keepalive = false;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!keepalive && std::chrono::steady_clock::now() < deadline) {
        auto event = client.next_event(3s);
        if (!event) continue;
        for (const auto& comment : event->comments)
            keepalive |= comment == "keepalive";
    }
    BOOST_TEST(keepalive);
    BOOST_TEST(!client.ended());
}

// ---- WebSocket --------------------------------------------------------------------------

// A WebSocket client that never answers anything: the opening handshake by hand, then the
// server's frames read raw (unmasked, uncompressed) and counted by kind.
class MuteWsClient {
  public:
    MuteWsClient(unsigned short port, const std::string& target) {
        socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        std::string request = "GET " + target +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: "
                              "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        asio::write(socket_, asio::buffer(request));
        timeval tick{0, 100'000};  // recv gives up after 0.1 s, so reads can be bounded
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
        while (pending_.find("\r\n\r\n") == std::string::npos && receive()) {
        }
        auto end = pending_.find("\r\n\r\n");
        BOOST_TEST_REQUIRE(pending_.starts_with("HTTP/1.1 101"), pending_);
        pending_.erase(0, end + 4);
    }

    struct Seen {
        int pings = 0;
        int texts = 0;
        bool hung_up = false;  // the server closed the connection (or sent a close frame)
    };

    // Reads for `duration`, or until the server hangs up.
    Seen read_for(std::chrono::milliseconds duration) {
        Seen seen;
        auto until = std::chrono::steady_clock::now() + duration;
        while (!seen.hung_up && std::chrono::steady_clock::now() < until) {
            while (auto opcode = next_frame()) {
                if (*opcode == 0x9) ++seen.pings;
                if (*opcode == 0x1) ++seen.texts;
                if (*opcode == 0x8) seen.hung_up = true;
            }
            if (!receive() && !timed_out_) seen.hung_up = true;
        }
        return seen;
    }

  private:
    // Appends what arrives within 0.1 s; false when nothing did (timed_out_ says which).
    bool receive() {
        char buffer[4096];
        auto got = ::recv(socket_.native_handle(), buffer, sizeof buffer, 0);
        timed_out_ = got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        if (got <= 0) return false;
        pending_.append(buffer, static_cast<std::size_t>(got));
        return true;
    }

    // The opcode of the next complete frame in pending_, which it removes.
    std::optional<int> next_frame() {
        if (pending_.size() < 2) return std::nullopt;
        auto byte = [&](std::size_t i) { return static_cast<unsigned char>(pending_[i]); };
        std::size_t length = byte(1) & 0x7f, header = 2;
        if (length == 126) {
            if (pending_.size() < 4) return std::nullopt;
            length = (std::size_t(byte(2)) << 8) | byte(3);
            header = 4;
        } else if (length == 127) {
            if (pending_.size() < 10) return std::nullopt;
            length = 0;
            for (std::size_t i = 2; i < 10; ++i)
                length = (length << 8) | byte(i);
            header = 10;
        }
        if (pending_.size() < header + length) return std::nullopt;
        int opcode = byte(0) & 0x0f;
        pending_.erase(0, header + length);
        return opcode;
    }

    asio::io_context io_;
    tcp::socket socket_{io_};
    std::string pending_;
    bool timed_out_ = false;
};

// The keepalive: a WebSocket with nothing to send is pinged every interval, and dropped when
// its client answers no ping for two; one whose messages flow is not pinged at all (the
// kernel finds a client gone there, as what is sent stays unacknowledged).
BOOST_AUTO_TEST_CASE(ws_pings_only_an_idle_link_and_drops_a_client_that_does_not_answer) {
    gateway::Limits limits;
    limits.keepalive_interval = 1s;
    StreamFixture fixture(limits);

    MuteWsClient flowing(fixture.port(), "/streaming/ws?channels=" + kAapl);
    BOOST_REQUIRE(fixture.wait_for_subscribers(kAapl, 1));
    MuteWsClient::Seen seen;
    for (int i = 0; i < 10; ++i) {  // a message every 0.3 s for 3 s: three intervals
        fixture.publish("AAPL", 100 + i);
        auto part = flowing.read_for(300ms);
        seen.pings += part.pings;
        seen.texts += part.texts;
        seen.hung_up |= part.hung_up;
    }
    BOOST_TEST(seen.texts >= 10);
    BOOST_TEST(seen.pings == 0);
    BOOST_TEST(!seen.hung_up);

    MuteWsClient idle(fixture.port(), "/streaming/ws?channels=" + kAapl);
    auto idle_seen = idle.read_for(15s);
    BOOST_TEST(idle_seen.pings >= 1);
    BOOST_TEST(idle_seen.hung_up, "a client answering no ping was not dropped");
}

BOOST_AUTO_TEST_CASE(ws_connected_then_latest_then_data_frames) {
    StreamFixture fixture;
    auto latest = fixture.publish("AAPL", 100);
    WsClient client("127.0.0.1", fixture.port());
    client.connect("/streaming/ws?channels=" + kAapl + "&symbols=AAPL");

    auto connected = next_json(client);
    BOOST_TEST(connected.at("type").as_string() == "connected");
    BOOST_TEST(channels_of(connected) == std::vector<std::string>{kAapl},
               boost::test_tools::per_element());
    auto snapshot = next_json(client);
    BOOST_TEST(snapshot.at("type").as_string() == "data");
    BOOST_TEST(snapshot.at("channel").as_string() == kAapl);
    BOOST_TEST(snapshot.at("message").at("id").as_string() == latest->id);

    std::vector<bus::MessagePtr> published;
    // Sizes across the 7-bit, 16-bit and 64-bit length encodings.
    for (std::size_t padding : {0u, 200u, 70000u, 10u}) {
        published.push_back(fixture.publish("AAPL", 1, padding));
    }
    for (const auto& message : published) {
        auto frame = next_json(client);
        BOOST_TEST(frame.at("type").as_string() == "data");
        BOOST_TEST(frame.at("message").at("id").as_string() == message->id);
        BOOST_TEST(seq_of(frame) == message->seq);
    }
}

BOOST_AUTO_TEST_CASE(ws_runtime_actions_echo_ids) {
    StreamFixture fixture;
    auto latest_msft = fixture.publish("MSFT", 300);
    WsClient client("127.0.0.1", fixture.port());
    client.connect("/streaming/ws");
    auto connected = next_json(client);
    BOOST_TEST(connected.at("type").as_string() == "connected");
    BOOST_TEST(connected.at("channels").as_array().empty());

    client.send_text(R"({"action":"subscribe","id":"c1","channels":["stream:market_data:msft"]})");
    auto subscribed = next_json(client);
    BOOST_TEST(subscribed.at("type").as_string() == "subscribed");
    BOOST_TEST(subscribed.at("id").as_string() == "c1");
    BOOST_TEST(channels_of(subscribed) == std::vector<std::string>{kMsft},
               boost::test_tools::per_element());
    auto snapshot = next_json(client);  // the new channel's latest message follows the ack
    BOOST_TEST(snapshot.at("message").at("id").as_string() == latest_msft->id);

    client.send_text(
        R"({"action":"subscribe","id":2,"data_types":["market_data"],"symbols":["AAPL"]})");
    auto second = next_json(client);
    BOOST_TEST(second.at("id").as_int64() == 2);
    BOOST_TEST(channels_of(second) == (std::vector<std::string>{kMsft, kAapl}),
               boost::test_tools::per_element());

    auto aapl = fixture.publish("AAPL", 1);
    auto data = next_json(client);
    BOOST_TEST(data.at("channel").as_string() == kAapl);
    BOOST_TEST(data.at("message").at("id").as_string() == aapl->id);

    client.send_text(R"({"action":"list_subscriptions","id":"l"})");
    auto list = next_json(client);
    BOOST_TEST(list.at("type").as_string() == "subscriptions");
    BOOST_TEST(list.at("id").as_string() == "l");
    BOOST_TEST(channels_of(list).size() == 2u);

    client.send_text(R"({"action":"unsubscribe","id":"u","channels":["stream:market_data:AAPL"]})");
    auto unsubscribed = next_json(client);
    BOOST_TEST(unsubscribed.at("type").as_string() == "unsubscribed");
    BOOST_TEST(unsubscribed.at("id").as_string() == "u");
    BOOST_TEST(channels_of(unsubscribed) == std::vector<std::string>{kMsft},
               boost::test_tools::per_element());
    BOOST_REQUIRE(fixture.wait_for_subscribers(kAapl, 0));

    fixture.publish("AAPL", 2);  // no longer subscribed: nothing may arrive for it
    client.send_text(R"({"action":"ping","id":"p"})");
    auto pong = next_json(client);
    BOOST_TEST(pong.at("type").as_string() == "pong");
    BOOST_TEST(pong.at("id").as_string() == "p");
}

BOOST_AUTO_TEST_CASE(ws_malformed_requests_get_errors_and_the_link_stays_usable) {
    StreamFixture fixture;
    WsClient client("127.0.0.1", fixture.port());
    client.connect("/streaming/ws?channels=bogus");
    BOOST_TEST(next_json(client).at("type").as_string() == "connected");
    auto query_error = next_json(client);
    BOOST_TEST(query_error.at("type").as_string() == "error");
    BOOST_TEST(std::string(query_error.at("detail").as_string()).find("'bogus'") !=
               std::string::npos);

    struct Case {
        std::string request;
        std::string detail_part;
        bool has_id;
    };
    std::vector<Case> cases{
        {"not json", "malformed JSON", false},
        {"[1,2]", "JSON object", false},
        {R"({"id":1})", "action", true},
        {R"({"action":"dance","id":1})", "'dance'", true},
        {R"({"action":"subscribe","id":1,"channels":["nope"]})", "channels: 'nope'", true},
        {R"({"action":"subscribe","id":1,"channelz":[]})", "channelz", true},
        {R"({"action":"subscribe","id":1})", "At least one channel", true},
        {R"({"action":"subscribe","id":1,"symbols":[1]})", "symbols", true},
        {R"({"action":"ping","id":1,"extra":true})", "extra", true},
    };
    for (const auto& c : cases) {
        client.send_text(c.request);
        auto reply = next_json(client);
        BOOST_TEST_CONTEXT(c.request) {
            BOOST_TEST(reply.at("type").as_string() == "error");
            BOOST_TEST(std::string(reply.at("detail").as_string()).find(c.detail_part) !=
                       std::string::npos);
            BOOST_TEST(reply.contains("id") == c.has_id);
        }
    }
    client.send_text(R"({"action":"ping"})");
    BOOST_TEST(next_json(client).at("type").as_string() == "pong");
    BOOST_TEST(!client.closed());
}

// Framing details with Beast's own client: fragmented requests, client pings, size cap.
BOOST_AUTO_TEST_CASE(ws_fragments_pings_and_message_size_limit) {
    StreamFixture fixture;
    asio::io_context io;
    websocket::stream<tcp::socket> ws(io);
    ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), fixture.port()));
    ws.handshake("127.0.0.1", "/streaming/ws");
    beast::flat_buffer buffer;
    ws.read(buffer);  // connected
    buffer.clear();

    std::string pong_payload;
    ws.control_callback([&](websocket::frame_type kind, beast::string_view payload) {
        if (kind == websocket::frame_type::pong) pong_payload = std::string(payload);
    });
    ws.ping("are you there");
    ws.text(true);
    ws.write_some(false, asio::buffer(std::string(R"({"action":)")));
    ws.write_some(true, asio::buffer(std::string(R"("ping","id":"frag"})")));
    ws.read(buffer);
    auto reply = parse_object(beast::buffers_to_string(buffer.data()));
    buffer.clear();
    BOOST_TEST(reply.at("type").as_string() == "pong");
    BOOST_TEST(reply.at("id").as_string() == "frag");
    BOOST_TEST(pong_payload == "are you there");

    // A message longer than one read (the thread's 16 KB buffer) arrives whole.
    std::string long_id(40 * 1024, 'x');
    ws.write(asio::buffer(R"({"action":"ping","id":")" + long_id + R"("})"));
    ws.read(buffer);
    reply = parse_object(beast::buffers_to_string(buffer.data()));
    buffer.clear();
    BOOST_TEST(reply.at("type").as_string() == "pong");
    BOOST_TEST(reply.at("id").as_string() == long_id);

    ws.write(asio::buffer(std::string(70 * 1024, ' ')));  // over the 64 KiB cap
    beast::error_code ec;
    ws.read(buffer, ec);
    BOOST_TEST((ec == websocket::error::closed), ec.message());
    BOOST_TEST(ws.reason().code == 1009);
}

BOOST_AUTO_TEST_CASE(ws_client_close_is_answered_and_the_session_ends) {
    StreamFixture fixture;
    asio::io_context io;
    websocket::stream<tcp::socket> ws(io);
    ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), fixture.port()));
    ws.handshake("127.0.0.1", "/streaming/ws?channels=" + kAapl);
    beast::flat_buffer buffer;
    ws.read(buffer);  // connected
    BOOST_REQUIRE(fixture.wait_for_subscribers(kAapl, 1));

    // Beast's close() sends the client's close and waits for the server's answer: it
    // returns without error only when the server echoed it.
    beast::error_code ec;
    ws.close(websocket::close_reason(websocket::close_code::going_away, "bye"), ec);
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(fixture.wait_for_subscribers(kAapl, 0));
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (fixture.registry.open_count() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    BOOST_TEST(fixture.registry.open_count() == 0u);
}

BOOST_AUTO_TEST_CASE(ws_protocol_error_is_closed_1002_and_nothing_after_it_counts) {
    StreamFixture fixture;
    asio::io_context io;
    tcp::socket raw(io);
    raw.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), fixture.port()));
    websocket::stream<tcp::socket&> ws(raw);
    ws.handshake("127.0.0.1", "/streaming/ws");
    beast::flat_buffer buffer;
    ws.read(buffer);  // connected
    buffer.clear();
    // A continuation frame with no message before it (FIN, opcode 0, masked, empty), then a
    // well-formed ping request that must not be answered.
    const unsigned char orphan[] = {0x80, 0x80, 1, 2, 3, 4};
    asio::write(raw, asio::buffer(orphan));
    ws.text(true);
    ws.write(asio::buffer(std::string(R"({"action":"ping","id":"late"})")));
    beast::error_code ec;
    ws.read(buffer, ec);
    BOOST_TEST((ec == websocket::error::closed), ec.message());
    BOOST_TEST(ws.reason().code == 1002);
    BOOST_TEST(std::string(ws.reason().reason.data(), ws.reason().reason.size()) ==
               "continuation without a message");
}

BOOST_AUTO_TEST_CASE(ws_shutdown_closes_with_1001_and_sse_ends) {
    StreamFixture fixture;
    WsClient ws("127.0.0.1", fixture.port());
    ws.connect("/streaming/ws?channels=" + kAapl);
    BOOST_TEST(next_json(ws).at("type").as_string() == "connected");
    SseClient sse("127.0.0.1", fixture.port());
    BOOST_TEST(sse.open_get("/streaming/subscribe/sse?channels=" + kAapl).status == 200u);
    BOOST_REQUIRE(fixture.wait_for_subscribers(kAapl, 2));
    auto message = fixture.publish("AAPL", 5);

    fixture.registry.close_all();
    auto data = next_json(ws);  // what was queued still arrives
    BOOST_TEST(data.at("message").at("id").as_string() == message->id);
    BOOST_TEST(!ws.next_text(5s));
    BOOST_TEST(ws.closed());
    BOOST_TEST(ws.close_code().value_or(0) == 1001);
    BOOST_TEST(ws.close_reason() == "server shutting down");

    auto event = sse.next_data_event(5s);
    BOOST_REQUIRE(event);
    BOOST_TEST(event->id.value_or("") == message->id);
    BOOST_TEST(!sse.next_event(5s));
    BOOST_TEST(sse.ended());
    BOOST_TEST(fixture.bus->stats(kAapl).subscribers == 0u);
}

// ---- Slow consumers and fan-out -----------------------------------------------------------

namespace {

gateway::Limits tight_limits() {
    gateway::Limits limits;
    limits.max_queued_messages = 16;
    limits.max_queued_bytes = 1024 * 1024;
    return limits;
}

constexpr std::size_t kLargePadding = 64 * 1024;
constexpr int kMaxPublishes = 3000;

}  // namespace

BOOST_AUTO_TEST_CASE(ws_slow_consumer_is_closed_4008_while_a_fast_one_gets_everything) {
    StreamFixture fixture(tight_limits());
    WsClient slow("127.0.0.1", fixture.port());
    slow.connect("/streaming/ws?channels=" + kAapl);
    WsClient fast("127.0.0.1", fixture.port());
    fast.connect("/streaming/ws?channels=" + kAapl);
    BOOST_REQUIRE(fixture.wait_for_subscribers(kAapl, 2));
    BOOST_TEST(next_json(fast).at("type").as_string() == "connected");

    // The fast client reads in lockstep with the publisher; the slow one reads nothing
    // until the server has let it go.
    int published = 0;
    uint64_t expected_seq = 0;
    bool in_order = true;
    while (published < kMaxPublishes && fixture.bus->stats(kAapl).subscribers == 2) {
        auto message = fixture.publish("AAPL", published, kLargePadding);
        ++published;
        auto frame = next_json(fast);
        in_order &= seq_of(frame) == ++expected_seq && seq_of(frame) == message->seq;
    }
    BOOST_TEST_MESSAGE("slow client cut after " << published << " messages");
    BOOST_REQUIRE(fixture.bus->stats(kAapl).subscribers == 1u);
    BOOST_TEST(in_order);

    // After the cut the fast client still gets every message.
    for (int i = 0; i < 50; ++i) {
        auto message = fixture.publish("AAPL", i, kLargePadding);
        auto frame = next_json(fast);
        in_order &= seq_of(frame) == message->seq;
    }
    BOOST_TEST(in_order);

    // The slow client reads what reached it, then the close frame.
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!slow.closed() && std::chrono::steady_clock::now() < deadline)
        slow.next_text(5s);
    BOOST_TEST(slow.closed());
    BOOST_TEST(slow.close_code().value_or(0) == 4008);
    BOOST_TEST(slow.close_reason() == "slow consumer: send queue full");
}

BOOST_AUTO_TEST_CASE(sse_slow_consumer_is_cut_while_a_fast_one_gets_everything) {
    StreamFixture fixture(tight_limits());
    SseClient slow("127.0.0.1", fixture.port());
    BOOST_TEST(slow.open_get("/streaming/subscribe/sse?channels=" + kAapl).status == 200u);
    SseClient fast("127.0.0.1", fixture.port());
    BOOST_TEST(fast.open_get("/streaming/subscribe/sse?channels=" + kAapl).status == 200u);
    BOOST_REQUIRE(fixture.wait_for_subscribers(kAapl, 2));

    int published = 0;
    bool in_order = true;
    while (published < kMaxPublishes && fixture.bus->stats(kAapl).subscribers == 2) {
        auto message = fixture.publish("AAPL", published, kLargePadding);
        ++published;
        auto event = fast.next_data_event(10s);
        BOOST_REQUIRE(event);
        in_order &= event->id.value_or("") == message->id;
    }
    BOOST_REQUIRE(fixture.bus->stats(kAapl).subscribers == 1u);
    BOOST_TEST(in_order);
    auto after = fixture.publish("AAPL", 0, kLargePadding);
    auto event = fast.next_data_event(10s);
    BOOST_REQUIRE(event);
    BOOST_TEST(event->id.value_or("") == after->id);

    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!slow.ended() && std::chrono::steady_clock::now() < deadline)
        slow.next_event(5s);
    BOOST_TEST(slow.ended());
    BOOST_TEST(!fast.ended());
}

// `count` WebSocket clients subscribed to AAPL, once the bus counts them all.
std::vector<std::unique_ptr<WsClient>> aapl_subscribers(StreamFixture& fixture, int count) {
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < count; ++i) {
        clients.push_back(std::make_unique<WsClient>("127.0.0.1", fixture.port()));
        clients.back()->connect("/streaming/ws?channels=" + kAapl);
    }
    BOOST_REQUIRE(fixture.wait_for_subscribers(kAapl, static_cast<std::size_t>(count)));
    return clients;
}

// How many of the clients read "connected", then exactly `published`, in order.
int clients_given_all(std::vector<std::unique_ptr<WsClient>>& clients,
                      const std::vector<bus::MessagePtr>& published) {
    int complete = 0;
    for (auto& client : clients) {
        BOOST_REQUIRE(next_json(*client).at("type").as_string() == "connected");
        bool all = true;
        for (const auto& message : published) {
            auto frame = next_json(*client);
            all &= frame.at("message").at("id").as_string() == message->id;
        }
        complete += all ? 1 : 0;
    }
    return complete;
}

BOOST_AUTO_TEST_CASE(ws_one_hundred_subscribers_get_every_message) {
    StreamFixture fixture;
    constexpr int kClients = 100;
    constexpr int kMessages = 200;
    auto clients = aapl_subscribers(fixture, kClients);

    std::vector<bus::MessagePtr> published;
    for (int i = 0; i < kMessages; ++i)
        published.push_back(fixture.publish("AAPL", i, 100));

    BOOST_TEST(clients_given_all(clients, published) == kClients);
}

// Three hundred subscribers are more than one run of writers (256): their writes go out in
// two io_uring batches, and a 70 KB frame is more than a loopback socket takes at once, so
// its rest is written the usual way. With the setting off, each write is its own sendmsg().
// Either way every client gets every message, in order.
BOOST_DATA_TEST_CASE(ws_three_hundred_subscribers_get_every_message_with_and_without_io_uring,
                     boost::unit_test::data::make({true, false}), io_uring) {
    gateway::SendBatch::enable(io_uring);
    StreamFixture fixture;
    constexpr int kClients = 300;
    auto clients = aapl_subscribers(fixture, kClients);

    auto batched_before = gateway::SendBatch::sends_batched();
    std::vector<bus::MessagePtr> published;
    for (int i = 0; i < 30; ++i)
        published.push_back(fixture.publish("AAPL", i, i == 10 ? 70000 : i % 2 ? 3000 : 100));

    BOOST_TEST(clients_given_all(clients, published) == kClients);
    auto batched = gateway::SendBatch::sends_batched() - batched_before;
    if (io_uring && !gateway::SendBatch::ring_open_on_this_thread()) {
        BOOST_TEST_MESSAGE("io_uring refused by this kernel: every write was a sendmsg()");
    } else if (io_uring) {
        BOOST_TEST(batched >= static_cast<std::uint64_t>(kClients));
    } else {
        BOOST_TEST(batched == 0u);
    }
    gateway::SendBatch::enable(true);
}
