// Fan-out benchmark: N SSE + M WebSocket subscribers on one channel of a real daemon, fed at a
// fixed message rate, measured for a while. Reports deliveries/s, loss (per-client gaps in
// metadata.seq), latency (message timestamp to receive), and the daemon's memory per
// connection and CPU per million deliveries. A tool, not a test: see --help.
//
//   fanout_bench [--sse 1000] [--ws 1000] [--rate 100] [--duration 30]
//                [--port P [--pid PID]] [--symbol BENCH] [--redis on [--read-from replica]]
//                [--auth on] [--tls on]
//                [--sse-query '&fields=price&where=price>0']
//
// Without --port it starts its own daemon (TICKERD_DAEMON_BINARY, mock vendor). With
// --redis on it starts a redis-server, a worker instance and an edge instance instead, and
// the clients connect to the edge: latency is then worker → Redis → edge → client; with
// --read-from replica a replica of that redis-server runs too and the edge reads it
// (redis.read_from), so the latency adds replication: worker → primary → replica → edge →
// client. With --port
// it attaches to a running one and reconfigures it through the API (adds the instrument, sets
// the market_data cadence to 1/rate seconds, starts worker_market_data); --pid lets it read
// that daemon's memory and CPU from /proc.
//
// --auth on turns auth on in its own daemon: SSE clients send an API key in Authorization,
// WebSocket clients a minted token in ?access_token=, as browsers do. --tls on adds a TLS
// listener (a throwaway self-signed certificate) and every client streams over TLS. Compare
// the CPU per million deliveries with and without. --sse-query adds to the SSE clients' URL
// (a view: mode=delta, fields=, where=), to compare the cost of a shared view.
#include "support/support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>
#include <type_traits>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using namespace tickerd::testing;

namespace {

struct Options {
    int sse = 1000;
    int ws = 1000;
    double rate = 100;
    int duration_s = 30;
    int port = 0;  // 0: start a daemon
    int pid = 0;   // with --port: the daemon's pid, for /proc readings
    std::string host = "127.0.0.1";
    std::string symbol = "BENCH";
    int connect_timeout_s = 120;
    int io_threads = 2;
    bool redis = false;         // worker + Redis + edge instead of one daemon
    bool read_replica = false;  // with redis: the edge reads a replica of it
    bool auth = false;          // own daemon: auth on, clients present credentials
    bool tls = false;           // own daemon: clients stream over TLS
    std::string sse_query;      // added to the SSE URL: "&fields=price&where=price>0" (a view)
};

void usage() {
    std::cout << "usage: fanout_bench [--sse N] [--ws M] [--rate MSG_PER_S] [--duration SECONDS]\n"
                 "                    [--port PORT [--pid PID]] [--host H] [--symbol SYM]\n"
                 "                    [--connect-timeout SECONDS] [--threads N] [--redis on]\n"
                 "                    [--read-from primary|replica]\n"
                 "                    [--auth on] [--tls on] [--sse-query '&where=price>0']\n"
                 "defaults: 1000 SSE + 1000 WebSocket, 100 msg/s, 30 s, own daemon\n";
}

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            usage();
            std::exit(0);
        }
        if (i + 1 >= argc) {
            std::cerr << "fanout_bench: " << flag << " needs a value\n";
            std::exit(2);
        }
        std::string value = argv[++i];
        try {
            if (flag == "--sse")
                options.sse = std::stoi(value);
            else if (flag == "--ws")
                options.ws = std::stoi(value);
            else if (flag == "--rate")
                options.rate = std::stod(value);
            else if (flag == "--duration")
                options.duration_s = std::stoi(value);
            else if (flag == "--port")
                options.port = std::stoi(value);
            else if (flag == "--pid")
                options.pid = std::stoi(value);
            else if (flag == "--host")
                options.host = value;
            else if (flag == "--symbol")
                options.symbol = value;
            else if (flag == "--connect-timeout")
                options.connect_timeout_s = std::stoi(value);
            else if (flag == "--threads")
                options.io_threads = std::stoi(value);
            else if (flag == "--redis")
                options.redis = value == "on";
            else if (flag == "--read-from")
                options.read_replica = value == "replica";
            else if (flag == "--auth")
                options.auth = value == "on";
            else if (flag == "--tls")
                options.tls = value == "on";
            else if (flag == "--sse-query")
                options.sse_query = value;
            else {
                std::cerr << "fanout_bench: unknown flag " << flag << "\n";
                usage();
                std::exit(2);
            }
        } catch (const std::exception&) {
            std::cerr << "fanout_bench: bad value for " << flag << ": " << value << "\n";
            std::exit(2);
        }
    }
    if (options.sse < 0 || options.ws < 0 || options.rate <= 0 || options.rate > 100 ||
        options.duration_s <= 0 || options.io_threads <= 0) {
        std::cerr << "fanout_bench: counts >= 0, 0 < rate <= 100 (the cadence floor is 0.01 s), "
                     "duration > 0\n";
        std::exit(2);
    }
    if (options.read_replica && !options.redis) {
        std::cerr << "fanout_bench: --read-from replica goes with --redis on\n";
        std::exit(2);
    }
    if ((options.auth || options.tls) && (options.port != 0 || options.redis)) {
        std::cerr << "fanout_bench: --auth and --tls configure the bench's own single daemon\n";
        std::exit(2);
    }
    return options;
}

// ------------------------------------------------------------------------------ measurements

// Latency histogram in 0.1 ms buckets up to 10 s (the last bucket collects the rest).
class LatencyHistogram {
  public:
    void add(double ms) {
        auto bucket = static_cast<std::size_t>(std::max(0.0, ms) * 10);
        buckets_[std::min(bucket, kBuckets - 1)].fetch_add(1, std::memory_order_relaxed);
    }
    double percentile(double p) const {
        uint64_t total = 0;
        for (const auto& bucket : buckets_)
            total += bucket.load();
        if (total == 0) return 0;
        auto wanted = static_cast<uint64_t>(p * static_cast<double>(total));
        uint64_t seen = 0;
        for (std::size_t i = 0; i < kBuckets; ++i) {
            seen += buckets_[i].load();
            if (seen > wanted) return static_cast<double>(i) / 10.0;
        }
        return static_cast<double>(kBuckets) / 10.0;
    }

  private:
    static constexpr std::size_t kBuckets = 100000;
    std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
};

struct Totals {
    std::atomic<bool> measuring{false};
    std::atomic<uint64_t> delivered{0};  // data messages received while measuring
    std::atomic<uint64_t> gaps{0};       // messages missing between consecutive seqs
    std::atomic<uint64_t> out_of_order{0};
    std::atomic<uint64_t> ready{0};    // subscribed (SSE 200 / WS "connected")
    std::atomic<uint64_t> failed{0};   // could not subscribe
    std::atomic<uint64_t> dropped{0};  // closed by the server after subscribing
    std::atomic<int64_t> max_seq{0};
    LatencyHistogram latency;
    std::mutex errors_mutex;
    std::map<std::string, int> errors;  // why connections failed or ended, counted

    void note_error(const std::string& why) {
        std::lock_guard lock(errors_mutex);
        ++errors[why];
    }
};

// Cheap field extraction: parsing 100k JSON documents a second would make the client the
// bottleneck, and these fields have a fixed, flat form in the daemon's serialisation.
std::optional<int64_t> extract_seq(std::string_view text) {
    auto at = text.rfind("\"seq\":");
    if (at == std::string_view::npos) return std::nullopt;
    int64_t value = 0;
    bool any = false;
    for (std::size_t i = at + 6;
         i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
        value = value * 10 + (text[i] - '0');
        any = true;
    }
    return any ? std::optional<int64_t>(value) : std::nullopt;
}

std::optional<std::chrono::system_clock::time_point> extract_timestamp(std::string_view text) {
    static constexpr std::string_view kKey = "\"timestamp\":\"";
    auto at = text.find(kKey);
    if (at == std::string_view::npos) return std::nullopt;
    auto start = at + kKey.size();
    auto end = text.find('"', start);
    if (end == std::string_view::npos) return std::nullopt;
    return parse_iso8601(text.substr(start, end - start));
}

// One subscriber's view of the channel's sequence.
struct SequenceTracker {
    int64_t last = -1;

    void record(std::string_view message, Totals& totals) {
        auto received = std::chrono::system_clock::now();
        auto seq = extract_seq(message);
        if (!seq) return;
        if (last >= 0) {
            if (*seq > last + 1) totals.gaps.fetch_add(static_cast<uint64_t>(*seq - last - 1));
            if (*seq <= last) totals.out_of_order.fetch_add(1);
        }
        last = std::max(last, *seq);
        int64_t seen = totals.max_seq.load();
        while (*seq > seen && !totals.max_seq.compare_exchange_weak(seen, *seq)) {
        }
        if (!totals.measuring.load(std::memory_order_relaxed)) return;
        totals.delivered.fetch_add(1, std::memory_order_relaxed);
        if (auto sent = extract_timestamp(message)) {
            totals.latency.add(std::chrono::duration<double, std::milli>(received - *sent).count());
        }
    }
};

// --------------------------------------------------------------------------------- subscribers

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// What a subscriber needs to open its stream: where, and with which credential and TLS.
struct Subscription {
    tcp::endpoint endpoint;
    std::string target;
    std::string authorization;    // "Bearer …", or empty
    ssl::context* tls = nullptr;  // set: streams over TLS
};

// Connects `stream` and, over TLS, shakes hands; then `next`, or `fail` with the reason.
template <class Stream, class Next, class Fail>
void open_stream(Stream& stream, const tcp::endpoint& endpoint, Next next, Fail fail) {
    beast::get_lowest_layer(stream).async_connect(endpoint, [&stream, next,
                                                             fail](beast::error_code ec) {
        if (ec) return fail("connect: " + ec.message());
        if constexpr (std::is_same_v<Stream, TlsStream>) {
            stream.async_handshake(ssl::stream_base::client, [next, fail](beast::error_code ec) {
                if (ec) return fail("TLS handshake: " + ec.message());
                next();
            });
        } else {
            next();
        }
    });
}

template <class Stream>
Stream make_stream(asio::io_context& io, ssl::context* tls) {
    if constexpr (std::is_same_v<Stream, TlsStream>)
        return Stream(io, *tls);
    else
        return Stream(io);
}

template <class Stream>
class SseSubscriber : public std::enable_shared_from_this<SseSubscriber<Stream>> {
  public:
    SseSubscriber(asio::io_context& io, Totals& totals, ssl::context* tls)
        : stream_(make_stream<Stream>(io, tls)), totals_(totals) {}

    void start(const Subscription& subscription) {
        request_ = {http::verb::get, subscription.target, 11};
        request_.set(http::field::host, subscription.endpoint.address().to_string());
        request_.set(http::field::accept, "text/event-stream");
        if (!subscription.authorization.empty())
            request_.set(http::field::authorization, subscription.authorization);
        auto self = this->shared_from_this();
        open_stream(
            stream_, subscription.endpoint,
            [self] {
                http::async_write(
                    self->stream_, self->request_,
                    [self](beast::error_code ec, std::size_t) { self->on_write(ec); });
            },
            [self](const std::string& why) { self->fail(why); });
    }

  private:
    void on_write(beast::error_code ec) {
        if (ec) return fail("write: " + ec.message());
        parser_.body_limit(boost::none);
        http::async_read_header(stream_, buffer_, parser_,
                                [self = this->shared_from_this()](
                                    beast::error_code ec, std::size_t) { self->on_header(ec); });
    }

    void on_header(beast::error_code ec) {
        if (ec) return fail("read header: " + ec.message());
        if (parser_.get().result_int() != 200) {
            return fail("SSE status " + std::to_string(parser_.get().result_int()));
        }
        subscribed_ = true;
        totals_.ready.fetch_add(1);
        read_more();
    }

    void read_more() {
        parser_.get().body().data = chunk_;
        parser_.get().body().size = sizeof chunk_;
        http::async_read_some(stream_, buffer_, parser_,
                              [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                  self->on_read(ec);
                              });
    }

    void on_read(beast::error_code ec) {
        std::size_t got = sizeof chunk_ - parser_.get().body().size;
        for (const auto& event : sse_.feed(std::string_view(chunk_, got))) {
            if (event.data) tracker_.record(*event.data, totals_);
        }
        if (ec == http::error::need_buffer) ec = {};
        if (ec || parser_.is_done()) return fail(ec ? "SSE read: " + ec.message() : "SSE ended");
        read_more();
    }

    void fail(const std::string& why) {
        (subscribed_ ? totals_.dropped : totals_.failed).fetch_add(1);
        totals_.note_error(why);
    }

    Stream stream_;
    Totals& totals_;
    http::request<http::empty_body> request_;
    beast::flat_buffer buffer_;
    http::response_parser<http::buffer_body> parser_;
    char chunk_[4096];
    SseParser sse_;
    SequenceTracker tracker_;
    bool subscribed_ = false;
};

template <class Stream>
class WsSubscriber : public std::enable_shared_from_this<WsSubscriber<Stream>> {
  public:
    WsSubscriber(asio::io_context& io, Totals& totals, ssl::context* tls)
        : ws_(make_stream<Stream>(io, tls)), totals_(totals) {}

    void start(const Subscription& subscription) {
        const auto& endpoint = subscription.endpoint;
        host_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
        target_ = subscription.target;
        auto self = this->shared_from_this();
        open_stream(
            ws_.next_layer(), endpoint,
            [self] {
                self->ws_.async_handshake(self->host_, self->target_,
                                          [self](beast::error_code ec) { self->on_handshake(ec); });
            },
            [self](const std::string& why) { self->fail(why); });
    }

  private:
    void on_handshake(beast::error_code ec) {
        if (ec) return fail("handshake: " + ec.message());
        read_more();
    }

    void read_more() {
        ws_.async_read(buffer_, [self = this->shared_from_this()](
                                    beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            std::string why = "WS read: " + ec.message();
            if (ws_.reason().code != websocket::close_code::none) {
                why = "WS closed " + std::to_string(ws_.reason().code) + " " +
                      std::string(ws_.reason().reason.c_str());
            }
            return fail(why);
        }
        auto data = buffer_.cdata();
        std::string_view text(static_cast<const char*>(data.data()), data.size());
        if (text.find("\"type\":\"data\"") != std::string_view::npos) {
            tracker_.record(text, totals_);
        } else if (!subscribed_ && text.find("\"type\":\"connected\"") != std::string_view::npos) {
            subscribed_ = true;
            totals_.ready.fetch_add(1);
        }
        buffer_.consume(buffer_.size());
        read_more();
    }

    void fail(const std::string& why) {
        (subscribed_ ? totals_.dropped : totals_.failed).fetch_add(1);
        totals_.note_error(why);
    }

    websocket::stream<Stream> ws_;
    Totals& totals_;
    std::string host_;
    std::string target_;
    beast::flat_buffer buffer_;
    SequenceTracker tracker_;
    bool subscribed_ = false;
};

// ------------------------------------------------------------------------------ the daemon

struct ProcessUsage {
    double rss_mb = 0;
    double cpu_seconds = 0;
};

std::optional<ProcessUsage> read_usage(int pid) {
    if (pid <= 0) return std::nullopt;
    ProcessUsage usage;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0) usage.rss_mb = std::stod(line.substr(6)) / 1024.0;
    }
    std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    auto after_name = stat.rfind(')');
    if (after_name == std::string::npos) return std::nullopt;
    std::istringstream fields(stat.substr(after_name + 2));
    std::vector<std::string> values;
    for (std::string value; fields >> value;)
        values.push_back(value);
    // Fields 14 and 15 of /proc/pid/stat (utime, stime); values[0] is field 3.
    if (values.size() < 13) return std::nullopt;
    double ticks = std::stod(values[11]) + std::stod(values[12]);
    usage.cpu_seconds = ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
    return usage;
}

void raise_file_limit(std::size_t wanted) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < wanted) {
        limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, wanted);
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur < wanted) {
        std::cerr << "warning: RLIMIT_NOFILE is " << limit.rlim_cur << ", below the " << wanted
                  << " file descriptors wanted\n";
    }
}

void expect_status(const HttpResponse& response, unsigned status, const std::string& what) {
    if (response.status != status) {
        throw std::runtime_error(what + ": " + std::to_string(response.status) + " " +
                                 response.body);
    }
}

// One instrument, market data every 1/rate seconds, no retries (a failed poll would show up
// as a missing message, which a fault-free mock never produces), worker running.
void configure_channel(HttpClient& http, const Options& options, const Headers& admin) {
    auto send = [&](std::string_view method, std::string_view target, const json::value& body) {
        return http.request(method, target, body.is_null() ? "" : json::serialize(body),
                            "application/json", admin);
    };
    expect_status(send("POST", "/streaming/config/instruments",
                       {{"symbol", options.symbol}, {"data_types", {"market_data"}}}),
                  201, "adding the instrument");
    expect_status(send("PUT", "/streaming/config/cadences/market_data",
                       {{"interval_seconds", 1.0 / options.rate}, {"retry_attempts", 0}}),
                  200, "setting the cadence");
    expect_status(send("POST", "/streaming/config/workers/worker_market_data/start", nullptr), 204,
                  "starting the worker");
}

std::string with_commas(double value) {
    auto text = std::to_string(static_cast<uint64_t>(value));
    for (int i = static_cast<int>(text.size()) - 3; i > 0; i -= 3)
        text.insert(static_cast<std::size_t>(i), ",");
    return text;
}

}  // namespace

// The credentials of a bench daemon with auth on: an admin key to configure it, a read key for
// the SSE clients, and the secret that signs the WebSocket clients' tokens.
struct BenchKeys {
    std::string admin = "bench-admin-key-0123456789abcdef0123456789abcdef";
    std::string reader = "bench-read-key-0123456789abcdef0123456789abcdef0";
    std::string secret = "bench-hs256-secret-0123456789abcdef0123456789abcdef";
};

json::object auth_config(const TempDir& dir, const BenchKeys& keys) {
    auto key = [&](const std::string& name, const std::string& value, const char* scope) {
        return json::object{
            {"name", name}, {"key_file", dir.write(name, value).string()}, {"scopes", {scope}}};
    };
    return {{"enabled", true},
            {"keys",
             {key("bench-admin", keys.admin, "admin"), key("bench-reader", keys.reader, "read")}},
            {"jwt",
             {{"hs256_secret_file", dir.write("jwt.secret", keys.secret).string()},
              {"token_ttl_seconds", 86400}}}};
}

// A throwaway self-signed certificate for 127.0.0.1, and a second listener on a free port.
json::object tls_config(const TempDir& dir) {
    auto cert = (dir / "bench.pem").string();
    auto key = (dir / "bench.key").string();
    std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + cert + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed");
    return {{"cert_file", cert}, {"key_file", key}, {"listen", "127.0.0.1:0"}};
}

// Our own daemons poll the mock, which runs only when the config names it, and lift the limits
// meant for hostile clients: thousands of clients from one address, opened at once.
std::filesystem::path bench_config(const TempDir& dir, const Options& options,
                                   const BenchKeys& keys) {
    json::object config{{"vendors", mock_vendors()},
                        {"limits",
                         {{"max_connections_per_ip", 1'000'000},
                          {"max_connections", 1'000'000},
                          {"requests_per_minute", 0}}}};
    if (options.auth) config["auth"] = auth_config(dir, keys);
    if (options.tls) config["tls"] = tls_config(dir);
    return write_config(dir, config);
}

// The daemon's log says "TLS on port N" once its second listener is open.
unsigned short tls_port_of(const DaemonProcess& daemon) {
    static const std::regex pattern("TLS on port ([0-9]+)");
    std::smatch match;
    std::string log;
    wait_until(
        [&] {
            log = daemon.log();
            return std::regex_search(log, match, pattern);
        },
        10s);
    if (match.empty()) throw std::runtime_error("the daemon never said 'TLS on port N'");
    return static_cast<unsigned short>(std::stoi(match[1].str()));
}

// A token for the WebSocket clients, minted with the read key as a browser's backend would.
std::string mint_token(HttpClient& http, const BenchKeys& keys) {
    auto response = http.request("POST", "/streaming/tokens", "{}", "application/json",
                                 {{"Authorization", "Bearer " + keys.reader}});
    expect_status(response, 200, "minting a token");
    return std::string(response.json().at("token").as_string());
}

int main(int argc, char** argv) {
    auto options = parse_options(argc, argv);
    TempDir files("tickerd-fanout-bench");
    std::size_t connections = static_cast<std::size_t>(options.sse + options.ws);
    raise_file_limit(2 * connections + 256);  // before spawning: the daemon inherits it

    std::unique_ptr<DaemonProcess> daemon;
    std::unique_ptr<RedisServer> redis;
    std::unique_ptr<RedisServer> replica;   // with --read-from replica: the edge's
    std::unique_ptr<DaemonProcess> worker;  // with --redis: polls; `daemon` is the edge
    int pid = options.pid;
    unsigned short port = static_cast<unsigned short>(options.port);
    BenchKeys keys;
    if (options.redis) {
        redis = std::make_unique<RedisServer>();
        std::string read_from = "primary";
        if (options.read_replica) {
            replica = std::make_unique<RedisServer>(std::vector<std::string>{
                "--replicaof", "127.0.0.1", std::to_string(redis->port())});
            if (!wait_until([&] { return replica_linked(replica->port()); }, 15s)) {
                std::cerr << "fanout_bench: the replica did not link to the primary\n";
                return 1;
            }
            read_from = "127.0.0.1:" + std::to_string(replica->port());
        }
        auto instance = [&](const std::string& role) {
            DaemonOptions daemon_options;
            daemon_options.config_file = bench_config(files, options, keys);
            daemon_options.env = {{"REDIS_ENABLED", "true"},
                                  {"REDIS_HOST", "127.0.0.1"},
                                  {"REDIS_PORT", std::to_string(redis->port())},
                                  {"REDIS_READ_FROM", role == "edge" ? read_from : "primary"},
                                  {"TICKERD_ROLE", role}};
            auto process = std::make_unique<DaemonProcess>(daemon_options);
            process->wait_ready();
            return process;
        };
        worker = instance("worker");
        daemon = instance("edge");
    } else if (options.port == 0) {
        DaemonOptions daemon_options;
        daemon_options.config_file = bench_config(files, options, keys);
        daemon = std::make_unique<DaemonProcess>(daemon_options);
        daemon->wait_ready();
    }
    if (daemon) {
        port = daemon->port();
        pid = daemon->pid();
    }
    std::string channel = "stream:market_data:" + options.symbol;
    HttpClient http(options.host, port);
    if (worker) {
        // The edge only needs to know the channel; the worker polls it.
        HttpClient worker_http(options.host, worker->port());
        configure_channel(worker_http, options, {});
        expect_status(http.post_json("/streaming/config/instruments",
                                     {{"symbol", options.symbol}, {"data_types", {"market_data"}}}),
                      201, "adding the instrument to the edge");
    } else {
        Headers admin;
        if (options.auth) admin.emplace_back("Authorization", "Bearer " + keys.admin);
        configure_channel(http, options, admin);
    }

    auto idle = read_usage(pid);
    auto totals_owner = std::make_unique<Totals>();  // the histogram is too big for the stack
    Totals& totals = *totals_owner;
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::vector<std::thread> threads;
    for (int i = 0; i < options.io_threads; ++i)
        threads.emplace_back([&] { io.run(); });

    // Connect in batches so the listener's backlog never overflows.
    ssl::context client_tls(ssl::context::tls_client);
    client_tls.set_verify_mode(ssl::verify_none);  // our own throwaway certificate
    auto stream_port = options.tls ? tls_port_of(*daemon) : port;
    tcp::endpoint endpoint(asio::ip::make_address(options.host), stream_port);
    Subscription sse{endpoint, "/streaming/subscribe/sse?channels=" + channel + options.sse_query,
                     "", options.tls ? &client_tls : nullptr};
    Subscription ws = sse;
    ws.target = "/streaming/ws?channels=" + channel;
    if (options.auth) {
        sse.authorization = "Bearer " + keys.reader;
        ws.target += "&access_token=" + mint_token(http, keys);
    }
    auto subscribe = [&](bool over_sse) {
        const auto& subscription = over_sse ? sse : ws;
        if (options.tls && over_sse)
            std::make_shared<SseSubscriber<TlsStream>>(io, totals, &client_tls)
                ->start(subscription);
        else if (options.tls)
            std::make_shared<WsSubscriber<TlsStream>>(io, totals, &client_tls)->start(subscription);
        else if (over_sse)
            std::make_shared<SseSubscriber<PlainStream>>(io, totals, nullptr)->start(subscription);
        else
            std::make_shared<WsSubscriber<PlainStream>>(io, totals, nullptr)->start(subscription);
    };
    auto connect_deadline = Clock::now() + std::chrono::seconds(options.connect_timeout_s);
    std::size_t started = 0;
    auto connect_started = Clock::now();
    while (started < connections && Clock::now() < connect_deadline) {
        std::size_t batch_end = std::min(connections, started + 100);
        for (; started < batch_end; ++started)
            subscribe(started < static_cast<std::size_t>(options.sse));
        wait_until(
            [&] { return totals.ready + totals.failed + totals.dropped >= started; },
            std::chrono::duration_cast<std::chrono::milliseconds>(connect_deadline - Clock::now()),
            5ms);
    }
    auto connect_seconds = std::chrono::duration<double>(Clock::now() - connect_started).count();
    std::this_thread::sleep_for(2s);  // let first (latest) messages and buffers settle
    auto connected = read_usage(pid);

    auto seq_at_start = totals.max_seq.load();
    auto cpu_at_start = read_usage(pid);
    auto measure_started = Clock::now();
    totals.measuring = true;
    std::this_thread::sleep_for(std::chrono::seconds(options.duration_s));
    totals.measuring = false;
    double measured = std::chrono::duration<double>(Clock::now() - measure_started).count();
    auto cpu_at_end = read_usage(pid);
    auto seq_at_end = totals.max_seq.load();

    io.stop();
    for (auto& thread : threads)
        thread.join();

    double published = static_cast<double>(seq_at_end - seq_at_start) / measured;
    double deliveries = static_cast<double>(totals.delivered.load()) / measured;
    double expected = published * static_cast<double>(totals.ready.load() - totals.dropped.load());

    std::string setup =
        daemon ? "own daemon, mock vendor" : "attached to port " + std::to_string(port);
    if (options.auth) setup += ", auth on";
    if (options.tls) setup += ", TLS";
    std::printf("\ntickerd fan-out benchmark (%s)\n", setup.c_str());
    std::printf("  %-22s %d SSE + %d WebSocket on %s\n", "subscribers", options.sse, options.ws,
                channel.c_str());
    std::printf("  %-22s %" PRIu64 " ready, %" PRIu64 " failed, %" PRIu64
                " dropped by the server (%.1f s to connect)\n",
                "connections", totals.ready.load(), totals.failed.load(), totals.dropped.load(),
                connect_seconds);
    std::printf("  %-22s target %.0f msg/s, published %.1f msg/s (seq %" PRId64 " -> %" PRId64
                ") over %.1f s\n",
                "channel rate", options.rate, published, seq_at_start, seq_at_end, measured);
    std::printf("  %-22s %s /s (expected %s /s)\n", "deliveries", with_commas(deliveries).c_str(),
                with_commas(expected).c_str());
    std::printf("  %-22s %" PRIu64 " missing (seq gaps), %" PRIu64 " out of order\n", "loss",
                totals.gaps.load(), totals.out_of_order.load());
    std::printf("  %-22s p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms (timestamps have ms resolution)\n",
                "latency", totals.latency.percentile(0.50), totals.latency.percentile(0.99),
                totals.latency.percentile(0.999));
    if (idle && connected && cpu_at_start && cpu_at_end) {
        double per_connection_kb = totals.ready > 0 ? (connected->rss_mb - idle->rss_mb) * 1024.0 /
                                                          static_cast<double>(totals.ready)
                                                    : 0;
        std::printf(
            "  %-22s %.1f MB idle -> %.1f MB connected (%.1f KB per connection), %.1f MB at the "
            "end\n",
            "daemon RSS", idle->rss_mb, connected->rss_mb, per_connection_kb, cpu_at_end->rss_mb);
        double cpu = cpu_at_end->cpu_seconds - cpu_at_start->cpu_seconds;
        double per_million =
            totals.delivered > 0 ? cpu / (static_cast<double>(totals.delivered) / 1e6) : 0;
        std::printf("  %-22s %.2f s over the run = %.2f CPU s per million deliveries\n",
                    "daemon CPU", cpu, per_million);
    } else {
        std::printf("  %-22s n/a (give --pid when attaching)\n", "daemon RSS / CPU");
    }
    {
        std::lock_guard lock(totals.errors_mutex);
        for (const auto& [why, count] : totals.errors)
            std::printf("  %-22s %d x %s\n", "connection ended", count, why.c_str());
    }
    bool clean = totals.failed == 0 && totals.dropped == 0 && totals.gaps == 0 &&
                 totals.out_of_order == 0 && totals.ready == connections;
    std::printf("  %-22s %s\n\n", "result",
                clean ? "OK: every subscriber got every message" : "PROBLEMS (see above)");
    if (daemon) daemon->terminate(10s);
    return clean ? 0 : 1;
}
