// TLS from outside (CONTRACT.md §6): REST, SSE and WebSocket over TLS with a certificate from
// a test CA, TLS 1.1 refused, the certificate renewed on SIGHUP while a stream stays open,
// client certificates demanded with a client CA, and TLS on a second listener beside plain
// HTTP.
#define BOOST_TEST_MODULE daemon_tls
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>

#include <openssl/x509.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <regex>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

const std::string kAapl = "stream:market_data:AAPL";

void run(const std::string& command) {
    BOOST_REQUIRE_MESSAGE(std::system((command + " 2>/dev/null").c_str()) == 0, command);
}

// A CA, and certificates it signs for 127.0.0.1 (servers) or a client.
struct Certificates {
    TempDir dir{"tickerd-tls"};
    std::filesystem::path ca = dir / "ca.pem";
    std::filesystem::path ca_key = dir / "ca.key";

    Certificates() {
        run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tickerd-test-ca -keyout " +
            ca_key.string() + " -out " + ca.string());
    }
    // Writes <name>.pem and <name>.key; the serial tells one certificate from another.
    void issue(const std::string& name, const std::string& serial) const {
        auto key = (dir / (name + ".key")).string();
        auto csr = (dir / (name + ".csr")).string();
        auto ext = dir.write(name + ".ext", "subjectAltName=IP:127.0.0.1\n");
        run("openssl req -newkey rsa:2048 -nodes -subj /CN=" + name + " -keyout " + key + " -out " +
            csr);
        run("openssl x509 -req -in " + csr + " -CA " + ca.string() + " -CAkey " + ca_key.string() +
            " -set_serial " + serial + " -days 2 -extfile " + ext.string() + " -out " +
            (dir / (name + ".pem")).string());
    }
    std::string pem(const std::string& name) const { return (dir / (name + ".pem")).string(); }
    std::string key(const std::string& name) const { return (dir / (name + ".key")).string(); }
};

Certificates& certificates() {
    static Certificates instance;
    static bool issued = [] {
        instance.issue("server", "1001");
        instance.issue("client", "3003");
        return true;
    }();
    (void)issued;
    return instance;
}

ssl::context client_context(bool with_certificate = false,
                            ssl::context::method method = ssl::context::tls_client) {
    ssl::context context(method);
    context.load_verify_file(certificates().ca.string());
    context.set_verify_mode(ssl::verify_peer);
    if (with_certificate) {
        context.use_certificate_chain_file(certificates().pem("client"));
        context.use_private_key_file(certificates().key("client"), ssl::context::pem);
    }
    return context;
}

struct TlsClient {
    asio::io_context io;
    ssl::context context;
    beast::ssl_stream<beast::tcp_stream> stream;

    TlsClient(unsigned short port, ssl::context ctx)
        : context(std::move(ctx)), stream(io, context) {
        beast::get_lowest_layer(stream).expires_after(10s);
        beast::get_lowest_layer(stream).connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }
    void handshake() { stream.handshake(ssl::stream_base::client); }
    long serial() {
        X509* peer = SSL_get1_peer_certificate(stream.native_handle());
        BOOST_REQUIRE(peer);
        long value = ASN1_INTEGER_get(X509_get_serialNumber(peer));
        X509_free(peer);
        return value;
    }
    // Sends the request of an SSE stream on `channel`; read_until() reads what follows.
    void subscribe(const std::string& channel) {
        http::request<http::empty_body> request{http::verb::get,
                                                "/streaming/subscribe/sse?channels=" + channel, 11};
        request.set(http::field::host, "127.0.0.1");
        http::write(stream, request);
    }
    // Reads until `text` has arrived (or 10 s passed); returns everything read.
    std::string read_until(const std::string& text) {
        std::string received;
        char chunk[4096];
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (received.find(text) == std::string::npos &&
               std::chrono::steady_clock::now() < deadline)
            received.append(chunk, stream.read_some(asio::buffer(chunk)));
        return received;
    }
    http::response<http::string_body> get(const std::string& target) {
        http::request<http::empty_body> request{http::verb::get, target, 11};
        request.set(http::field::host, "127.0.0.1");
        http::write(stream, request);
        beast::flat_buffer buffer;
        http::response<http::string_body> response;
        http::read(stream, buffer, response);
        return response;
    }
};

struct TlsDaemon {
    TempDir files{"tickerd-tls-daemon"};
    std::unique_ptr<DaemonProcess> daemon;

    explicit TlsDaemon(json::object tls) {
        json::object config{
            {"vendors", {{{"name", "mock"}, {"plugin", "mock"}}}},
            {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
            {"cadences", {{"market_data", {{"interval_seconds", 0.2}}}}},
            {"tls", tls}};
        DaemonOptions options;
        options.config_file = write_config(files, config);
        options.env = {{"AUTO_START_WORKERS", "true"}};
        daemon = std::make_unique<DaemonProcess>(options);
    }
    // The daemon's plain /livez check cannot talk TLS: its log says when it listens.
    void wait_listening() {
        BOOST_REQUIRE_MESSAGE(
            wait_until([&] { return !tls_port_text().empty() || listening(); }, 20s),
            daemon->log_tail());
    }
    bool listening() const { return daemon->log().find("listening on port") != std::string::npos; }
    std::string tls_port_text() const {
        std::smatch match;
        auto log = daemon->log();
        static const std::regex pattern("TLS on port ([0-9]+)");
        return std::regex_search(log, match, pattern) ? match[1].str() : "";
    }
    unsigned short main_port() const {
        std::smatch match;
        auto log = daemon->log();
        static const std::regex pattern("listening on port ([0-9]+)");
        BOOST_REQUIRE(std::regex_search(log, match, pattern));
        return static_cast<unsigned short>(std::stoi(match[1].str()));
    }
};

json::object server_tls() {
    return {{"cert_file", certificates().pem("server")},
            {"key_file", certificates().key("server")}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(rest_sse_and_websocket_over_tls) {
    TlsDaemon daemon(server_tls());
    daemon.wait_listening();
    auto port = daemon.main_port();

    TlsClient rest(port, client_context());
    rest.handshake();
    BOOST_TEST(rest.serial() == 1001);
    BOOST_TEST(rest.get("/livez").result_int() == 200u);
    BOOST_TEST(rest.get("/streaming/channels").result_int() == 200u);

    // An SSE stream: a StreamMessage arrives over TLS.
    TlsClient sse(port, client_context());
    sse.handshake();
    sse.subscribe(kAapl);
    auto received = sse.read_until("\"channel\":\"" + kAapl + "\"");
    BOOST_TEST(received.starts_with("HTTP/1.1 200 OK"));
    BOOST_TEST(received.find("\"channel\":\"" + kAapl + "\"") != std::string::npos);

    // wss://
    asio::io_context io;
    auto context = client_context();
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(io, context);
    beast::get_lowest_layer(ws).expires_after(10s);
    beast::get_lowest_layer(ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    ws.next_layer().handshake(ssl::stream_base::client);
    beast::get_lowest_layer(ws).expires_never();
    ws.handshake("127.0.0.1", "/streaming/ws?channels=" + kAapl);
    beast::flat_buffer buffer;
    ws.read(buffer);
    BOOST_TEST(json::parse(beast::buffers_to_string(buffer.data())).at("type").as_string() ==
               "connected");
    buffer.clear();
    ws.read(buffer);
    BOOST_TEST(json::parse(beast::buffers_to_string(buffer.data())).at("type").as_string() ==
               "data");
    buffer.clear();
    // What the client sends is read from its TLS records and answered.
    ws.write(asio::buffer(std::string(R"({"action":"ping","id":"over tls"})")));
    json::object pong;
    for (int i = 0; i < 50 && !pong.contains("id"); ++i) {  // data may come first
        buffer.clear();
        ws.read(buffer);
        pong = json::parse(beast::buffers_to_string(buffer.data())).as_object();
        if (pong.at("type").as_string() != "pong") pong.clear();
    }
    BOOST_TEST(pong.at("type").as_string() == "pong");
    BOOST_TEST(pong.at("id").as_string() == "over tls");

    // Plain HTTP on the TLS listener gets nothing it could take for an answer.
    {
        asio::io_context plain_io;
        tcp::socket plain(plain_io);
        plain.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        asio::write(plain, asio::buffer(std::string("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")));
        boost::system::error_code ec;
        char reply[256];
        auto n = plain.read_some(asio::buffer(reply), ec);
        BOOST_TEST(std::string(reply, n).find("200 OK") == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(tls_1_1_is_refused) {
    TlsDaemon daemon(server_tls());
    daemon.wait_listening();
    ssl::context old(ssl::context::tlsv11_client);
    old.set_verify_mode(ssl::verify_none);
    SSL_CTX_set_security_level(old.native_handle(), 0);
    TlsClient client(daemon.main_port(), std::move(old));
    BOOST_CHECK_THROW(client.handshake(), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(a_renewed_certificate_serves_new_connections_while_a_stream_goes_on) {
    auto& certs = certificates();
    TempDir live("tickerd-tls-live");
    auto cert = live / "server.pem";
    auto key = live / "server.key";
    std::filesystem::copy_file(certs.pem("server"), cert);
    std::filesystem::copy_file(certs.key("server"), key);
    TlsDaemon daemon({{"cert_file", cert.string()}, {"key_file", key.string()}});
    daemon.wait_listening();
    auto port = daemon.main_port();

    TlsClient stream(port, client_context());
    stream.handshake();
    stream.subscribe(kAapl);
    stream.read_until("data: ");

    certs.issue("renewed", "2002");
    std::filesystem::copy_file(certs.pem("renewed"), cert,
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(certs.key("renewed"), key,
                               std::filesystem::copy_options::overwrite_existing);
    ::kill(daemon.daemon->pid(), SIGHUP);
    BOOST_REQUIRE(wait_until(
        [&] { return daemon.daemon->log().find("SIGHUP: config reloaded") != std::string::npos; },
        10s));

    TlsClient fresh(port, client_context());
    fresh.handshake();
    BOOST_TEST(fresh.serial() == 2002);
    // The stream opened before goes on, on the certificate it started with.
    BOOST_TEST(stream.serial() == 1001);
    BOOST_TEST(stream.read_until("data: ").find("data: ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_client_ca_demands_client_certificates) {
    auto tls = server_tls();
    tls["client_ca_file"] = certificates().ca.string();
    TlsDaemon daemon(tls);
    daemon.wait_listening();
    TlsClient anonymous(daemon.main_port(), client_context(false));
    bool refused = false;
    try {
        anonymous.handshake();
        anonymous.get("/livez");  // TLS 1.3 reports a refused client certificate on first use
    } catch (const boost::system::system_error&) {
        refused = true;
    }
    BOOST_TEST(refused);
    TlsClient known(daemon.main_port(), client_context(true));
    known.handshake();
    BOOST_TEST(known.get("/livez").result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(tls_on_a_second_listener_beside_plain_http) {
    auto tls = server_tls();
    tls["listen"] = "127.0.0.1:0";
    TlsDaemon daemon(tls);
    daemon.daemon->wait_ready();  // the main listener is plain here
    BOOST_REQUIRE(wait_until([&] { return !daemon.tls_port_text().empty(); }, 5s));
    auto tls_port = static_cast<unsigned short>(std::stoi(daemon.tls_port_text()));
    TlsClient client(tls_port, client_context());
    client.handshake();
    BOOST_TEST(client.get("/streaming/channels").result_int() == 200u);
    HttpClient plain("127.0.0.1", daemon.daemon->port());
    BOOST_TEST(plain.get("/streaming/channels").status == 200u);
}

BOOST_AUTO_TEST_CASE(a_key_that_does_not_match_the_certificate_stops_start_up) {
    TempDir files("tickerd-tls-mismatch");
    auto config = write_config(files, {{"tls",
                                        {{"cert_file", certificates().pem("server")},
                                         {"key_file", certificates().key("client")}}}});
    auto result = run_daemon_command({"--config", config.string(), "--listen", "127.0.0.1:0",
                                      "--state-dir", (files / "state").string()});
    BOOST_TEST(!result.status.success());
    // OpenSSL says "key values mismatch" as it reads the key; the check after it says why too.
    BOOST_TEST(result.output.find("cannot start: tls.key_file: ") != std::string::npos,
               result.output);
    BOOST_TEST(result.output.find("mismatch") != std::string::npos, result.output);
}
