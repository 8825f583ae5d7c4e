// Fan-out benchmark: N SSE + M WebSocket subscribers on one channel of a real daemon, fed at a
// fixed message rate, measured for a while. Reports deliveries/s, loss (per-client gaps in
// metadata.seq), latency (message timestamp to receive), and the daemon's memory per
// connection and CPU per million deliveries. A tool, not a test: see --help.
//
//   fanout_bench [--sse 1000] [--ws 1000] [--rate 100] [--duration 30]
//                [--port P [--pid PID]] [--symbol BENCH]
//                [--redis on|cluster [--read-from replica]]
//                [--auth on] [--tls on]
//                [--sse-query '&fields=price&where=price>0']
//
// Without --port it starts its own daemon (TICKERD_DAEMON_BINARY, mock vendor). With
// --redis on it starts a redis-server, a worker instance and an edge instance instead, and
// the clients connect to the edge: latency is then worker → Redis → edge → client; with
// --read-from replica a replica of that redis-server runs too and the edge reads it
// (redis.read_from), so the latency adds replication: worker → primary → replica → edge →
// client. --redis cluster runs a Redis Cluster instead (three primaries with a replica each,
// redis-cli --cluster create) and both instances use it (redis.cluster_nodes). The
// redis-server CPU reported is that of every Redis process of the run. With --port
// it attaches to a running one and reconfigures it through the API (adds the instrument, sets
// the market_data cadence to 1/rate seconds, starts worker_market_data); --pid lets it read
// that daemon's memory and CPU from /proc.
//
// --auth on turns auth on in its own daemon: SSE clients send an API key in Authorization,
// WebSocket clients a minted token in ?access_token=, as browsers do. --tls on adds a TLS
// listener (a throwaway self-signed certificate) and every client streams over TLS. Compare
// the CPU per million deliveries with and without. --sse-query adds to the SSE clients' URL
// (a view: mode=delta, fields=, where=), to compare the cost of a shared view.
//
// Side by side with Nchan (issue 14; bench/peers.sh runs the table):
//
//   fanout_bench --target tickerd|nchan-memory|nchan-redis [--inject worker|redis|api]
//                [--channels C] [--client-procs N] [--source-addresses K] [--summary on]
//                [--edges E]
//
// --target nchan-memory starts nginx with Nchan (bench/nchan/nginx.conf.in, memory store),
// nchan-redis the same with Nchan's Redis store on a redis-server of its own; the bench POSTs
// ready StreamMessages to /pub/<channel> at --rate per channel and the clients subscribe to
// /sub/<channel> over WebSocket or EventSource. For tickerd, --inject redis starts a
// redis-server and one edge instance and PUBLISHes the same StreamMessages to the channels
// (and SETs latest:<channel>), --inject api POSTs {"data": …} to /streaming/publish/<channel>
// of one daemon (embedded bus), and --inject worker (the default) is the mock-fed worker above.
// The same clients measure every target: loss from metadata.seq gaps, latency from the
// message's timestamp (microseconds when the bench writes it), and the server's CPU per
// delivery and memory per connection (RSS, and PSS of anonymous and shared memory, over all its
// processes — nginx's master and workers — less the idle baseline); with Redis in the path,
// redis-server's CPU separately.
// --edges E (with --inject redis) starts E edge processes on one port (reuse_port): the
// kernel spreads the clients among them, and the server's CPU and memory are all of theirs —
// the way past one process's open-file limit (50,000 connections on this machine).
// --channels spreads the subscribers over C channels, each at --rate. --client-procs forks
// that many client processes, and --source-addresses binds the sockets to 127.0.0.1 .. K in
// turn, so tens of thousands of connections neither share one process's file limit nor run
// out of ephemeral ports. --summary adds one "SUMMARY key=value …" line for scripts.
//
// --probe-status MS (tickerd) asks GET / every MS milliseconds on a connection of its own for
// the whole run and reports its latency while the clients connect, while messages flow and
// while they all disconnect at once at the end; the disconnect is timed until the daemon
// counts its streams down (tickerd_streams_open), with the daemon's CPU for it.
#include "support/redis_cluster.hpp"
#include "support/support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>

#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
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
    bool redis = false;              // worker + Redis + edge instead of one daemon
    bool read_replica = false;       // with redis: the edge reads a replica of it
    bool cluster = false;            // with redis: a three-shard Redis Cluster
    bool auth = false;               // own daemon: auth on, clients present credentials
    bool tls = false;                // own daemon: clients stream over TLS
    std::string sse_query;           // added to the SSE URL: "&fields=price&where=price>0" (a view)
    std::string target = "tickerd";  // tickerd | nchan-memory | nchan-redis
    std::string inject;              // tickerd: worker (default) | redis | api; nchan: http
    int channels = 1;                // subscribers spread over this many channels
    int client_procs = 1;            // client processes (forked from this one)
    int edges = 1;                   // --inject redis: edge processes sharing one port
    int source_addresses = 0;        // 127.0.0.1 .. K as source addresses; 0: one per 10,000
    bool summary = false;            // print a SUMMARY key=value line
    int probe_status_ms = 0;         // GET / every this many ms through the run; 0: none
    std::string nginx = "/usr/sbin/nginx";
    std::string nchan_conf = TICKERD_BENCH_DIR "/nchan/nginx.conf.in";

    bool nchan() const { return target != "tickerd"; }
    bool injected() const { return inject != "worker"; }
};

void usage() {
    std::cout << "usage: fanout_bench [--sse N] [--ws M] [--rate MSG_PER_S] [--duration SECONDS]\n"
                 "                    [--port PORT [--pid PID]] [--host H] [--symbol SYM]\n"
                 "                    [--connect-timeout SECONDS] [--threads N] [--redis on]\n"
                 "                    [--read-from primary|replica]\n"
                 "                    [--auth on] [--tls on] [--sse-query '&where=price>0']\n"
                 "                    [--target tickerd|nchan-memory|nchan-redis]\n"
                 "                    [--inject worker|redis|api] [--channels C]\n"
                 "                    [--client-procs N] [--source-addresses K] [--summary on]\n"
                 "                    [--edges E] [--probe-status MS]\n"
                 "                    [--nginx PATH] [--nchan-conf TEMPLATE]\n"
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
            else if (flag == "--redis") {
                options.redis = value == "on" || value == "cluster";
                options.cluster = value == "cluster";
            } else if (flag == "--read-from")
                options.read_replica = value == "replica";
            else if (flag == "--auth")
                options.auth = value == "on";
            else if (flag == "--tls")
                options.tls = value == "on";
            else if (flag == "--sse-query")
                options.sse_query = value;
            else if (flag == "--target")
                options.target = value;
            else if (flag == "--inject")
                options.inject = value;
            else if (flag == "--channels")
                options.channels = std::stoi(value);
            else if (flag == "--client-procs")
                options.client_procs = std::stoi(value);
            else if (flag == "--edges")
                options.edges = std::stoi(value);
            else if (flag == "--source-addresses")
                options.source_addresses = std::stoi(value);
            else if (flag == "--summary")
                options.summary = value == "on";
            else if (flag == "--probe-status")
                options.probe_status_ms = std::stoi(value);
            else if (flag == "--nginx")
                options.nginx = value;
            else if (flag == "--nchan-conf")
                options.nchan_conf = value;
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
    if (options.target != "tickerd" && options.target != "nchan-memory" &&
        options.target != "nchan-redis") {
        std::cerr << "fanout_bench: --target is tickerd, nchan-memory or nchan-redis\n";
        std::exit(2);
    }
    if (options.inject.empty()) options.inject = options.nchan() ? "http" : "worker";
    if (options.nchan()
            ? options.inject != "http"
            : options.inject != "worker" && options.inject != "redis" && options.inject != "api") {
        std::cerr << "fanout_bench: --inject is worker, redis or api for tickerd (Nchan is fed "
                     "by HTTP POST)\n";
        std::exit(2);
    }
    // The worker polls at a cadence of at least 0.01 s; injected messages can go faster.
    double max_rate = options.injected() ? 100000 : 100;
    if (options.sse < 0 || options.ws < 0 || options.rate <= 0 || options.rate > max_rate ||
        options.duration_s <= 0 || options.io_threads <= 0 || options.channels <= 0 ||
        options.client_procs <= 0 || options.source_addresses < 0 ||
        options.source_addresses > 254) {
        std::cerr << "fanout_bench: counts >= 0, 0 < rate <= 100 with the worker (the cadence "
                     "floor is 0.01 s), duration > 0, 0 <= source addresses <= 254\n";
        std::exit(2);
    }
    if ((options.nchan() || options.injected()) &&
        (options.port != 0 || options.redis || options.auth || options.tls ||
         !options.sse_query.empty())) {
        std::cerr << "fanout_bench: --port, --redis, --auth, --tls and --sse-query go with the "
                     "mock-fed tickerd (--inject worker)\n";
        std::exit(2);
    }
    if (options.edges > 1 && (options.nchan() || options.inject != "redis")) {
        std::cerr << "fanout_bench: --edges goes with --target tickerd --inject redis\n";
        std::exit(2);
    }
    if (options.channels > 1 && !options.injected()) {
        std::cerr << "fanout_bench: --channels > 1 needs injected messages (--inject redis|api, "
                     "or an Nchan target)\n";
        std::exit(2);
    }
    if (options.read_replica && (!options.redis || options.cluster)) {
        std::cerr << "fanout_bench: --read-from replica goes with --redis on\n";
        std::exit(2);
    }
    if (options.cluster && (options.nchan() || options.injected())) {
        std::cerr << "fanout_bench: --redis cluster runs a worker and an edge of tickerd\n";
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
    void merge(const LatencyHistogram& other) {
        for (std::size_t i = 0; i < kBuckets; ++i)
            buckets_[i].fetch_add(other.buckets_[i].load(), std::memory_order_relaxed);
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

// One client process's counters. With --client-procs they live in memory shared with the parent
// (atomics work across processes there), which sets `measuring` and `stop` and sums them.
struct Totals {
    std::atomic<bool> measuring{false};
    std::atomic<bool> stop{false};       // forked clients: time to report and exit
    std::atomic<uint64_t> delivered{0};  // data messages received while measuring
    std::atomic<uint64_t> gaps{0};       // messages missing between consecutive seqs
    std::atomic<uint64_t> out_of_order{0};
    std::atomic<uint64_t> ready{0};    // subscribed (SSE 200 / WS "connected")
    std::atomic<uint64_t> failed{0};   // could not subscribe
    std::atomic<uint64_t> dropped{0};  // closed by the server after subscribing
    std::atomic<int64_t> max_seq{0};
    LatencyHistogram latency;

    uint64_t resolved() const { return ready + failed + dropped; }
    void add(const Totals& other) {
        delivered += other.delivered;
        gaps += other.gaps;
        out_of_order += other.out_of_order;
        ready += other.ready;
        failed += other.failed;
        dropped += other.dropped;
        max_seq = std::max(max_seq.load(), other.max_seq.load());
        latency.merge(other.latency);
    }
};

// Why connections failed or ended, counted: this process's own (a forked client sends its
// counts to the parent through a pipe when it exits).
struct ErrorCounts {
    std::mutex mutex;
    std::map<std::string, int> counts;
};
ErrorCounts& errors() {
    static ErrorCounts instance;
    return instance;
}
void note_error(const std::string& why) {
    std::lock_guard lock(errors().mutex);
    ++errors().counts[why];
}

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
    std::string authorization;                // "Bearer …", or empty
    ssl::context* tls = nullptr;              // set: streams over TLS
    std::optional<asio::ip::address> source;  // the local address to connect from
    bool raw = false;  // Nchan: every WebSocket frame is a message, no "connected" first
};

// Binds the socket to `source` (port chosen at connect time, so each source address has the
// whole ephemeral range towards the server), or leaves the kernel's choice.
void bind_source(tcp::socket& socket, const std::optional<asio::ip::address>& source,
                 beast::error_code& ec) {
    if (!source) return;
    socket.open(source->is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (ec) return;
#ifdef IP_BIND_ADDRESS_NO_PORT
    int one = 1;
    ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
    socket.bind(tcp::endpoint(*source, 0), ec);
}

// Connects `stream` and, over TLS, shakes hands; then `next`, or `fail` with the reason.
template <class Stream, class Next, class Fail>
void open_stream(Stream& stream, const Subscription& subscription, Next next, Fail fail) {
    beast::error_code bind_error;
    bind_source(beast::get_lowest_layer(stream).socket(), subscription.source, bind_error);
    if (bind_error) return fail("bind: " + bind_error.message());
    const auto& endpoint = subscription.endpoint;
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
            stream_, subscription,
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
        note_error(why);
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
        raw_ = subscription.raw;
        auto self = this->shared_from_this();
        open_stream(
            ws_.next_layer(), subscription,
            [self] {
                self->ws_.async_handshake(self->host_, self->target_,
                                          [self](beast::error_code ec) { self->on_handshake(ec); });
            },
            [self](const std::string& why) { self->fail(why); });
    }

  private:
    void on_handshake(beast::error_code ec) {
        if (ec) return fail("handshake: " + ec.message());
        if (raw_) {
            subscribed_ = true;
            totals_.ready.fetch_add(1);
        }
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
        if (raw_ || text.find("\"type\":\"data\"") != std::string_view::npos) {
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
        note_error(why);
    }

    websocket::stream<Stream> ws_;
    Totals& totals_;
    std::string host_;
    std::string target_;
    beast::flat_buffer buffer_;
    SequenceTracker tracker_;
    bool subscribed_ = false;
    bool raw_ = false;
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

// To the hard limit: the servers started from here inherit it, and so do forked clients.
void raise_file_limit(std::size_t wanted) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
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
    auto digits = std::to_string(static_cast<uint64_t>(value));
    std::string text;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
        text += digits[i];
    }
    return text;
}

// ------------------------------------------------------------------------ servers, side by side

// What a server (all of its processes) holds and has spent so far.
struct ServerUsage {
    double rss_mb = 0;
    // Proportional, anonymous and shared memory only (Pss_Anon + Pss_Shmem): nginx's master and
    // worker share Nchan's memory; code and libraries (Pss_File) are left out, as their share
    // moves with every other process on the machine mapping the same files.
    double pss_mb = 0;
    double cpu_seconds = 0;
};

std::optional<ServerUsage> read_server_usage(const std::vector<int>& pids) {
    if (pids.empty()) return std::nullopt;
    ServerUsage total;
    for (int pid : pids) {
        auto usage = read_usage(pid);
        if (!usage) return std::nullopt;
        total.rss_mb += usage->rss_mb;
        total.cpu_seconds += usage->cpu_seconds;
        std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
        for (std::string line; std::getline(rollup, line);) {
            for (std::string_view key : {"Pss_Anon:", "Pss_Shmem:"}) {
                if (line.rfind(key, 0) == 0)
                    total.pss_mb += std::stod(line.substr(key.size())) / 1024.0;
            }
        }
    }
    return total;
}

// The processes whose parent is `parent` (nginx's workers).
std::vector<int> children_of(int parent) {
    std::vector<int> children;
    std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
    if (!proc) return children;
    while (auto* entry = ::readdir(proc.get())) {
        if (!std::isdigit(static_cast<unsigned char>(entry->d_name[0]))) continue;
        std::ifstream stat_file(std::string("/proc/") + entry->d_name + "/stat");
        std::string stat((std::istreambuf_iterator<char>(stat_file)),
                         std::istreambuf_iterator<char>());
        auto after_name = stat.rfind(')');
        if (after_name == std::string::npos) continue;
        std::istringstream fields(stat.substr(after_name + 2));
        std::string state;
        int ppid = 0;
        if (fields >> state >> ppid && ppid == parent) children.push_back(std::stoi(entry->d_name));
    }
    return children;
}

// A redis-server's pid, from INFO.
int redis_pid(unsigned short port) {
    RedisClient client(port);
    auto info = client.call({"INFO", "server"});
    auto at = info.find("process_id:");
    return at == std::string::npos ? 0 : std::atoi(info.c_str() + at + 11);
}

// nginx with Nchan, from bench/nchan/nginx.conf.in, as a non-daemon child; SIGTERM (nginx's
// fast shutdown, which stops its workers too) when it goes.
class NchanServer {
  public:
    NchanServer(const Options& options, unsigned short redis_port) : port_(free_port()) {
        std::ifstream in(options.nchan_conf);
        if (!in) throw std::runtime_error("cannot read " + options.nchan_conf);
        rlimit limit{};
        ::getrlimit(RLIMIT_NOFILE, &limit);
        std::string conf;
        for (std::string line; std::getline(in, line);) {
            if (redis_port == 0 && line.find("# redis only") != std::string::npos) continue;
            replace_all(line, "@PREFIX@", dir_.path().string());
            replace_all(line, "@PORT@", std::to_string(port_));
            replace_all(line, "@NOFILE@", std::to_string(limit.rlim_cur));
            replace_all(line, "@REDIS_PORT@", std::to_string(redis_port));
            conf += line + "\n";
        }
        dir_.folder("logs");
        dir_.folder("tmp");
        auto conf_file = dir_.write("nginx.conf", conf);
        pid_ = spawn_process({options.nginx, "-p", dir_.path().string(), "-c", conf_file.string(),
                              "-e", (dir_ / "logs/error.log").string(), "-g", "daemon off;"},
                             {}, dir_ / "nginx.out");
        bool up = wait_until(
            [&] {
                if (!running()) return true;
                try {
                    HttpClient probe("127.0.0.1", port_, 1s);
                    return probe.get("/").status != 0 && !children_of(pid_).empty();
                } catch (const std::exception&) {
                    return false;
                }
            },
            15s);
        if (!up || !running()) {
            throw std::runtime_error("nginx did not start: " + read_file(dir_ / "nginx.out") +
                                     read_file(dir_ / "logs/error.log"));
        }
    }
    ~NchanServer() {
        if (!running()) return;
        ::kill(pid_, SIGTERM);
        if (!reap_process(pid_, 10s)) {
            ::kill(pid_, SIGKILL);
            reap_process(pid_, 10s);
        }
    }
    NchanServer(const NchanServer&) = delete;
    NchanServer& operator=(const NchanServer&) = delete;

    unsigned short port() const { return port_; }
    // The master and its workers.
    std::vector<int> pids() const {
        auto pids = children_of(pid_);
        pids.insert(pids.begin(), pid_);
        return pids;
    }

  private:
    bool running() {
        if (!exited_ && reap_process(pid_, 0ms)) exited_ = true;
        return !exited_;
    }
    static void replace_all(std::string& text, const std::string& from, const std::string& to) {
        for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at))
            text.replace(at, from.size(), to), at += to.size();
    }

    TempDir dir_{"tickerd-nchan"};
    unsigned short port_;
    pid_t pid_ = -1;
    bool exited_ = false;
};

// ---------------------------------------------------------------------------------- injection

// The timestamp of a StreamMessage, with microseconds when the bench writes it (the daemon
// writes milliseconds; parse_iso8601 reads either).
std::string iso8601_micros(std::chrono::system_clock::time_point now) {
    auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
    std::tm parts{};
    ::gmtime_r(&seconds, &parts);
    char text[80];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.tm_year + 1900,
                  parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                  static_cast<int>(micros % 1000000));
    return text;
}

// A quote's data, shaped like the mock's market_data.
std::string quote_data(const std::string& symbol, uint64_t seq, const std::string& timestamp) {
    double price = 100.0 + static_cast<double>(seq % 100) / 100.0;
    char text[512];
    std::snprintf(text, sizeof text,
                  R"({"symbol":"%s","price":%.2f,"open":100.0,"high":101.0,"low":99.0,)"
                  R"("previous_close":100.0,"change":%.2f,"change_percent":%.4f,"volume":%llu,)"
                  R"("currency":"USD","exchange":"MOCK","market_time":"%s"})",
                  symbol.c_str(), price, price - 100.0, price - 100.0,
                  static_cast<unsigned long long>(1000000 + seq * 100), timestamp.c_str());
    return text;
}

// A ready StreamMessage (CONTRACT.md §3), as the daemon writes one for a polled quote, with
// metadata.seq counting the channel's messages and the send time in microseconds.
std::string stream_message(const std::string& channel, const std::string& symbol, uint64_t seq,
                           std::chrono::system_clock::time_point now) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    auto timestamp = iso8601_micros(now);
    return R"({"id":")" + std::to_string(ms) + "-" + std::to_string(seq) + R"(","channel":")" +
           channel + R"(","data_type":"market_data","update_type":"snapshot","timestamp":")" +
           timestamp + R"(","symbol":")" + symbol + R"(","data":)" +
           quote_data(symbol, seq, timestamp) +
           R"(,"vendor":"bench","metadata":{"worker_id":"worker_market_data","seq":)" +
           std::to_string(seq) + R"(,"retry_count":0,"fallback_used":false,"latency_ms":0.0}})";
}

// Sends messages to every channel at `rate` each, round robin, paced on the clock (late sends
// go at once, none is skipped), until stopped; counts what it sent while `measuring`.
class Injector {
  public:
    // send(channel index, seq, now): publishes one message; false when the server refused it.
    using Send = std::function<bool(std::size_t, uint64_t, std::chrono::system_clock::time_point)>;

    Injector(std::size_t channels, double rate, Send send, const std::atomic<bool>& measuring)
        : channels_(channels), rate_(rate), send_(std::move(send)), measuring_(measuring) {
        thread_ = std::thread([this] { run(); });
    }
    ~Injector() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    uint64_t sent_measuring() const { return sent_measuring_; }
    uint64_t refused() const { return refused_; }
    const std::string& error() const { return error_; }

  private:
    void run() {
        std::vector<uint64_t> seqs(channels_, 0);
        auto interval =
            std::chrono::duration<double>(1.0 / (rate_ * static_cast<double>(channels_)));
        auto start = Clock::now();
        for (uint64_t n = 0; !stop_; ++n) {
            auto due = start + std::chrono::duration_cast<Clock::duration>(interval * n);
            while (!stop_ && Clock::now() < due)
                std::this_thread::sleep_for(std::min<Clock::duration>(due - Clock::now(), 50ms));
            if (stop_) break;
            auto channel = n % channels_;
            bool measuring = measuring_.load();
            try {
                if (!send_(channel, ++seqs[channel], std::chrono::system_clock::now())) ++refused_;
            } catch (const std::exception& e) {
                ++refused_;
                error_ = e.what();
            }
            if (measuring && measuring_.load()) ++sent_measuring_;
        }
    }

    std::size_t channels_;
    double rate_;
    Send send_;
    const std::atomic<bool>& measuring_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> sent_measuring_{0}, refused_{0};
    std::string error_;
    std::thread thread_;
};

// Asks GET / every `interval` on a keep-alive connection of its own and keeps each answer's
// latency under the phase the run was in: how responsive the daemon stays while thousands of
// clients connect, stream and leave.
class StatusProbe {
  public:
    enum Phase { connecting, streaming, disconnecting, kPhases };

    StatusProbe(const std::string& host, unsigned short port, std::chrono::milliseconds interval)
        : http_(host, port, 30s), interval_(interval) {
        http_.get("/");  // connected before the clients are
        thread_ = std::thread([this] { run(); });
    }
    ~StatusProbe() { stop(); }
    void enter(Phase phase) { phase_ = phase; }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    // "123 answers, p50 1.2 ms, p99 3.4 ms, max 5.6 ms"
    std::string describe(Phase phase) const {
        const auto& times = phases_[phase];
        if (times.answers == 0) return "no answers";
        char text[160];
        std::snprintf(
            text, sizeof text, "%zu answers, p50 %.1f ms, p99 %.1f ms, max %.1f ms%s",
            times.answers, times.latency.percentile(0.5), times.latency.percentile(0.99),
            times.max_ms,
            times.failures ? (", " + std::to_string(times.failures) + " failed").c_str() : "");
        return text;
    }
    double p99(Phase phase) const { return phases_[phase].latency.percentile(0.99); }

  private:
    void run() {
        while (!stop_) {
            auto phase = phase_.load();
            auto started = Clock::now();
            try {
                auto status = http_.get("/").status;
                auto ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
                auto& times = phases_[phase];
                if (status == 200) {
                    times.latency.add(ms);
                    ++times.answers;
                    times.max_ms = std::max(times.max_ms, ms);
                } else {
                    ++times.failures;
                }
            } catch (const std::exception&) {
                ++phases_[phase].failures;
            }
            std::this_thread::sleep_until(started + interval_);
        }
    }

    HttpClient http_;
    std::chrono::milliseconds interval_;
    std::atomic<Phase> phase_{connecting};
    std::atomic<bool> stop_{false};
    // The probe thread's until stop().
    struct PhaseTimes {
        LatencyHistogram latency;
        std::size_t answers = 0;
        int failures = 0;
        double max_ms = 0;
    };
    std::array<PhaseTimes, kPhases> phases_;
    std::thread thread_;
};

// The streams the daemon holds open now (both protocols), from its /metrics; -1 when it
// cannot be read.
int streams_open(const std::string& host, unsigned short port) {
    try {
        HttpClient http(host, port, 5s);
        auto body = http.get("/metrics").body;
        const std::string sample = "\ntickerd_streams_open{";
        int open = 0;
        bool found = false;
        for (auto at = body.find(sample); at != std::string::npos; at = body.find(sample, at + 1)) {
            auto value = body.find("} ", at);
            if (value == std::string::npos) return -1;
            open += std::stoi(body.substr(value + 2));
            found = true;
        }
        return found ? open : -1;
    } catch (const std::exception&) {
        return -1;
    }
}

// ------------------------------------------------------------------------------ the clients

// The subscribers of one process: an io_context, its threads, and the connections it opened.
class ClientGroup {
  public:
    explicit ClientGroup(int threads) : work_(asio::make_work_guard(io_)) {
        for (int i = 0; i < threads; ++i)
            threads_.emplace_back([this] { io_.run(); });
    }
    ~ClientGroup() { stop(); }
    void stop() {
        io_.stop();
        for (auto& thread : threads_)
            if (thread.joinable()) thread.join();
    }
    asio::io_context& io() { return io_; }

  private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::vector<std::thread> threads_;
};

// Counters in memory shared with forked client processes (MAP_SHARED, before the fork).
class SharedTotals {
  public:
    explicit SharedTotals(std::size_t count) : count_(count), bytes_(count * sizeof(Totals)) {
        void* memory =
            ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) throw std::runtime_error("mmap of the shared counters failed");
        totals_ = static_cast<Totals*>(memory);
        for (std::size_t i = 0; i < count_; ++i)
            new (&totals_[i]) Totals();
    }
    ~SharedTotals() {
        for (std::size_t i = 0; i < count_; ++i)
            totals_[i].~Totals();
        ::munmap(totals_, bytes_);
    }
    SharedTotals(const SharedTotals&) = delete;
    SharedTotals& operator=(const SharedTotals&) = delete;

    Totals& operator[](std::size_t i) { return totals_[i]; }
    std::size_t size() const { return count_; }

  private:
    std::size_t count_;
    std::size_t bytes_;
    Totals* totals_ = nullptr;
};

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

// The symbols of the bench's channels: --symbol itself for one, SYMBOL0 .. for several.
std::vector<std::string> bench_symbols(const Options& options) {
    if (options.channels == 1) return {options.symbol};
    std::vector<std::string> symbols;
    for (int c = 0; c < options.channels; ++c)
        symbols.push_back(options.symbol + std::to_string(c));
    return symbols;
}

// A forked client process's error counts, sent to the parent as "count\twhy" lines.
void send_errors(int fd) {
    std::string text;
    {
        std::lock_guard lock(errors().mutex);
        for (const auto& [why, count] : errors().counts)
            text += std::to_string(count) + "\t" + why + "\n";
    }
    for (std::size_t done = 0; done < text.size();) {
        auto wrote = ::write(fd, text.data() + done, text.size() - done);
        if (wrote <= 0) break;
        done += static_cast<std::size_t>(wrote);
    }
}

void receive_errors(int fd) {
    std::string text;
    char chunk[4096];
    for (ssize_t got; (got = ::read(fd, chunk, sizeof chunk)) > 0;)
        text.append(chunk, static_cast<std::size_t>(got));
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        auto tab = line.find('\t');
        if (tab == std::string::npos) continue;
        std::lock_guard lock(errors().mutex);
        errors().counts[line.substr(tab + 1)] += std::atoi(line.c_str());
    }
}

int main(int argc, char** argv) {
    auto options = parse_options(argc, argv);
    TempDir files("tickerd-fanout-bench");
    std::size_t connections = static_cast<std::size_t>(options.sse + options.ws);
    raise_file_limit(connections + 256);  // before spawning: the servers inherit it
    auto symbols = bench_symbols(options);
    auto channel_of = [&](std::size_t c) { return "stream:market_data:" + symbols[c]; };

    std::unique_ptr<DaemonProcess> daemon;
    std::unique_ptr<RedisServer> redis;
    std::unique_ptr<RedisServer> replica;   // with --read-from replica: the edge's
    std::unique_ptr<RedisCluster> cluster;  // with --redis cluster: instead of `redis`
    std::unique_ptr<DaemonProcess> worker;  // with --redis: polls; `daemon` is the edge
    std::unique_ptr<NchanServer> nchan;
    std::vector<std::unique_ptr<DaemonProcess>> more_edges;  // --edges: beside `daemon`
    int pid = options.pid;
    unsigned short port = static_cast<unsigned short>(options.port);
    BenchKeys keys;
    if (options.cluster) {
        cluster = std::make_unique<RedisCluster>(3, 1);
    } else if (options.redis || options.inject == "redis" || options.target == "nchan-redis") {
        redis = std::make_unique<RedisServer>();
    }
    auto edge_env = [&](const std::string& role, const std::string& read_from) {
        if (cluster) {
            std::string nodes;
            for (auto node : cluster->ports())
                nodes += (nodes.empty() ? "" : ",") + ("127.0.0.1:" + std::to_string(node));
            return EnvVars{
                {"REDIS_ENABLED", "true"}, {"REDIS_CLUSTER_NODES", nodes}, {"TICKERD_ROLE", role}};
        }
        return EnvVars{{"REDIS_ENABLED", "true"},
                       {"REDIS_HOST", "127.0.0.1"},
                       {"REDIS_PORT", std::to_string(redis->port())},
                       {"REDIS_READ_FROM", read_from},
                       {"TICKERD_ROLE", role}};
    };
    if (options.nchan()) {
        nchan = std::make_unique<NchanServer>(options,
                                              options.target == "nchan-redis" ? redis->port() : 0);
        port = nchan->port();
    } else if (options.redis) {
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
            daemon_options.env = edge_env(role, role == "edge" ? read_from : "primary");
            auto process = std::make_unique<DaemonProcess>(daemon_options);
            process->wait_ready();
            return process;
        };
        worker = instance("worker");
        daemon = instance("edge");
    } else if (options.port == 0) {
        // Its own daemon: mock-fed, fed through the publish API, or an edge fed by Redis (or
        // several on one port).
        DaemonOptions daemon_options;
        daemon_options.config_file = bench_config(files, options, keys);
        if (options.inject == "redis") daemon_options.env = edge_env("edge", "primary");
        if (options.edges > 1) {
            daemon_options.listen = "127.0.0.1:" + std::to_string(free_port());
            daemon_options.env.emplace_back("TICKERD_REUSE_PORT", "true");
        }
        daemon = std::make_unique<DaemonProcess>(daemon_options);
        daemon->wait_ready();
        for (int e = 1; e < options.edges; ++e) {
            more_edges.push_back(std::make_unique<DaemonProcess>(daemon_options));
            more_edges.back()->wait_ready();
        }
    }
    if (daemon) {
        port = daemon->port();
        pid = daemon->pid();
    }
    std::string channel = channel_of(0);
    HttpClient http(options.host, port);
    if (nchan) {
        // Channels exist once published to or subscribed.
    } else if (worker) {
        // The edge only needs to know the channel; the worker polls it.
        HttpClient worker_http(options.host, worker->port());
        configure_channel(worker_http, options, {});
        expect_status(http.post_json("/streaming/config/instruments",
                                     {{"symbol", options.symbol}, {"data_types", {"market_data"}}}),
                      201, "adding the instrument to the edge");
    } else if (options.injected()) {
        // The channels must exist; nothing polls them (workers start only when asked).
        for (const auto& symbol : symbols) {
            expect_status(http.post_json("/streaming/config/instruments",
                                         {{"symbol", symbol}, {"data_types", {"market_data"}}}),
                          201, "adding the instrument " + symbol);
        }
    } else {
        Headers admin;
        if (options.auth) admin.emplace_back("Authorization", "Bearer " + keys.admin);
        configure_channel(http, options, admin);
    }
    auto server_pids = [&] {
        if (nchan) return nchan->pids();
        std::vector<int> pids;
        if (pid > 0) pids.push_back(pid);
        for (const auto& edge : more_edges)
            pids.push_back(edge->pid());
        return pids;
    };
    std::vector<int> redis_pids;
    if (redis) redis_pids.push_back(redis_pid(redis->port()));
    if (replica) redis_pids.push_back(redis_pid(replica->port()));
    for (auto node : cluster ? cluster->ports() : std::vector<unsigned short>{})
        redis_pids.push_back(redis_pid(node));

    auto idle = read_server_usage(server_pids());

    // What each connection subscribes to, from where.
    ssl::context client_tls(ssl::context::tls_client);
    client_tls.set_verify_mode(ssl::verify_none);  // our own throwaway certificate
    auto stream_port = options.tls ? tls_port_of(*daemon) : port;
    tcp::endpoint endpoint(asio::ip::make_address(options.host), stream_port);
    std::string ws_token;
    if (options.auth) ws_token = "&access_token=" + mint_token(http, keys);
    std::size_t sources = options.source_addresses > 0
                              ? static_cast<std::size_t>(options.source_addresses)
                              : 1 + connections / 10000;
    auto subscription_of = [&](std::size_t i) {
        bool over_sse = i < static_cast<std::size_t>(options.sse);
        auto name = channel_of(i % symbols.size());
        Subscription subscription;
        subscription.endpoint = endpoint;
        subscription.tls = options.tls ? &client_tls : nullptr;
        if (nchan) {
            subscription.target = "/sub/" + name;
            subscription.raw = !over_sse;
        } else if (over_sse) {
            subscription.target = "/streaming/subscribe/sse?channels=" + name + options.sse_query;
            if (options.auth) subscription.authorization = "Bearer " + keys.reader;
        } else {
            subscription.target = "/streaming/ws?channels=" + name + ws_token;
        }
        if (sources > 1 && endpoint.address().is_loopback() && endpoint.address().is_v4()) {
            subscription.source =
                asio::ip::address_v4(0x7f000001u + static_cast<uint32_t>(i % sources));
        }
        return std::pair(over_sse, subscription);
    };
    auto subscribe = [&](asio::io_context& io, Totals& totals, std::size_t i) {
        auto [over_sse, subscription] = subscription_of(i);
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
    // Process k opens connections k, k + procs, …, in batches so the backlog never overflows.
    auto procs = static_cast<std::size_t>(options.client_procs);
    auto connect_deadline = Clock::now() + std::chrono::seconds(options.connect_timeout_s);
    auto connect_share = [&](std::size_t k, asio::io_context& io, Totals& totals) {
        std::size_t started = 0;
        for (std::size_t i = k; i < connections && Clock::now() < connect_deadline; i += procs) {
            subscribe(io, totals, i);
            if (++started % 100 != 0 && i + procs < connections) continue;
            wait_until([&] { return totals.resolved() >= started; },
                       std::chrono::duration_cast<std::chrono::milliseconds>(connect_deadline -
                                                                             Clock::now()),
                       5ms);
        }
    };

    std::unique_ptr<StatusProbe> probe;
    if (options.probe_status_ms > 0 && !nchan) {
        probe = std::make_unique<StatusProbe>(options.host, port,
                                              std::chrono::milliseconds(options.probe_status_ms));
    }
    SharedTotals shared(procs);
    std::vector<std::pair<pid_t, int>> children;  // pid, read end of its error pipe
    std::unique_ptr<ClientGroup> clients;         // in this process, without --client-procs
    auto connect_started = Clock::now();
    if (procs > 1) {
        for (std::size_t k = 0; k < procs; ++k) {
            int fds[2];
            if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
            std::cout.flush();
            pid_t child = ::fork();
            if (child < 0) throw std::runtime_error("fork failed");
            if (child == 0) {
                // A client process: no destructors (the servers and folders are the parent's).
                ::prctl(PR_SET_PDEATHSIG, SIGKILL);
                ::close(fds[0]);
                {
                    ClientGroup group(options.io_threads);
                    connect_share(k, group.io(), shared[k]);
                    while (!shared[k].stop)
                        std::this_thread::sleep_for(20ms);
                    group.stop();
                }
                send_errors(fds[1]);
                ::_exit(0);
            }
            ::close(fds[1]);
            children.emplace_back(child, fds[0]);
        }
    }

    // The feed, when the bench publishes (a thread: after the forks).
    std::atomic<bool> measuring{false};
    std::unique_ptr<Injector> injector;
    std::unique_ptr<RedisClient> redis_publisher;
    std::unique_ptr<HttpClient> http_publisher;
    if (nchan) {
        http_publisher = std::make_unique<HttpClient>(options.host, port);
        injector = std::make_unique<Injector>(
            symbols.size(), options.rate,
            [&](std::size_t c, uint64_t seq, std::chrono::system_clock::time_point now) {
                auto name = channel_of(c);
                auto status = http_publisher
                                  ->request("POST", "/pub/" + name,
                                            stream_message(name, symbols[c], seq, now))
                                  .status;
                return status == 201 || status == 202;
            },
            measuring);
    } else if (options.inject == "redis") {
        redis_publisher = std::make_unique<RedisClient>(redis->port());
        injector = std::make_unique<Injector>(
            symbols.size(), options.rate,
            [&](std::size_t c, uint64_t seq, std::chrono::system_clock::time_point now) {
                auto name = channel_of(c);
                auto message = stream_message(name, symbols[c], seq, now);
                redis_publisher->publish(name, message);
                redis_publisher->call({"SET", "latest:" + name, message, "EX", "3600"});
                return true;
            },
            measuring);
    } else if (options.inject == "api") {
        http_publisher = std::make_unique<HttpClient>(options.host, port);
        injector = std::make_unique<Injector>(
            symbols.size(), options.rate,
            [&](std::size_t c, uint64_t seq, std::chrono::system_clock::time_point now) {
                auto body = R"({"data":)" + quote_data(symbols[c], seq, iso8601_micros(now)) + "}";
                return http_publisher->request("POST", "/streaming/publish/" + channel_of(c), body)
                           .status == 202;
            },
            measuring);
    }

    auto totals_now = [&] {
        auto sum = std::make_unique<Totals>();  // the histogram is too big for the stack
        for (std::size_t k = 0; k < shared.size(); ++k)
            sum->add(shared[k]);
        return sum;
    };
    if (procs == 1) {
        clients = std::make_unique<ClientGroup>(options.io_threads);
        connect_share(0, clients->io(), shared[0]);
    } else {
        wait_until(
            [&] { return totals_now()->resolved() >= connections; },
            std::chrono::duration_cast<std::chrono::milliseconds>(connect_deadline - Clock::now()),
            20ms);
    }
    auto connect_seconds = std::chrono::duration<double>(Clock::now() - connect_started).count();
    if (probe) probe->enter(StatusProbe::streaming);
    std::this_thread::sleep_for(2s);  // let first (latest) messages and buffers settle
    auto connected = read_server_usage(server_pids());

    auto seq_at_start = totals_now()->max_seq.load();
    auto cpu_at_start = read_server_usage(server_pids());
    auto redis_at_start = read_server_usage(redis_pids);
    auto measure_started = Clock::now();
    for (std::size_t k = 0; k < shared.size(); ++k)
        shared[k].measuring = true;
    measuring = true;
    std::this_thread::sleep_for(std::chrono::seconds(options.duration_s));
    measuring = false;
    for (std::size_t k = 0; k < shared.size(); ++k)
        shared[k].measuring = false;
    double measured = std::chrono::duration<double>(Clock::now() - measure_started).count();
    auto cpu_at_end = read_server_usage(server_pids());
    auto redis_at_end = read_server_usage(redis_pids);
    auto seq_at_end = totals_now()->max_seq.load();

    if (injector) injector->stop();
    if (probe) probe->enter(StatusProbe::disconnecting);
    auto cpu_before_leaving = read_server_usage(server_pids());
    auto leaving_started = Clock::now();
    // Stopped and destroyed, so that its sockets close now, as a client process's do when it
    // exits (the disconnect --probe-status times).
    clients.reset();
    for (std::size_t k = 0; k < shared.size(); ++k)
        shared[k].stop = true;
    for (auto [child, fd] : children) {
        receive_errors(fd);
        ::close(fd);
        int status = 0;
        ::waitpid(child, &status, 0);
    }
    double leaving_seconds = 0, leaving_cpu_ms = 0;
    if (probe) {
        wait_until([&] { return streams_open(options.host, port) == 0; }, 60s, 20ms);
        leaving_seconds = std::chrono::duration<double>(Clock::now() - leaving_started).count();
        if (auto after = read_server_usage(server_pids()); after && cpu_before_leaving)
            leaving_cpu_ms = (after->cpu_seconds - cpu_before_leaving->cpu_seconds) * 1e3;
        probe->stop();
    }
    auto totals_owner = totals_now();
    Totals& totals = *totals_owner;

    double published = injector ? static_cast<double>(injector->sent_measuring()) /
                                      static_cast<double>(symbols.size()) / measured
                                : static_cast<double>(seq_at_end - seq_at_start) / measured;
    double deliveries = static_cast<double>(totals.delivered.load()) / measured;
    double expected = published * static_cast<double>(totals.ready.load() - totals.dropped.load());

    std::string setup =
        daemon ? "own daemon, mock vendor" : "attached to port " + std::to_string(port);
    if (options.auth) setup += ", auth on";
    if (options.tls) setup += ", TLS";
    if (options.inject == "redis")
        setup = options.edges > 1
                    ? std::to_string(options.edges) + " edges on one port fed by Redis PUBLISH"
                    : "one edge fed by Redis PUBLISH";
    if (options.inject == "api") setup = "own daemon fed through the publish API";
    if (nchan) setup = "nginx + Nchan, " + options.target.substr(6) + " store, fed by HTTP POST";
    std::string server = nchan ? "nginx" : "daemon";
    std::printf("\n%s fan-out benchmark (%s)\n", nchan ? "Nchan" : "tickerd", setup.c_str());
    std::printf("  %-22s %d SSE + %d WebSocket on %s\n", "subscribers", options.sse, options.ws,
                symbols.size() == 1 ? channel.c_str()
                                    : (std::to_string(symbols.size()) + " channels").c_str());
    std::printf("  %-22s %" PRIu64 " ready, %" PRIu64 " failed, %" PRIu64
                " dropped by the server (%.1f s to connect)\n",
                "connections", totals.ready.load(), totals.failed.load(), totals.dropped.load(),
                connect_seconds);
    if (procs > 1 || sources > 1) {
        std::printf("  %-22s %zu client processes, %zu source addresses\n", "clients", procs,
                    sources);
    }
    if (injector) {
        std::printf(
            "  %-22s target %.1f msg/s per channel, published %.1f msg/s per channel "
            "(%" PRIu64 " refused) over %.1f s\n",
            "channel rate", options.rate, published, injector->refused(), measured);
        if (!injector->error().empty())
            std::printf("  %-22s %s\n", "publish error", injector->error().c_str());
    } else {
        std::printf("  %-22s target %.0f msg/s, published %.1f msg/s (seq %" PRId64 " -> %" PRId64
                    ") over %.1f s\n",
                    "channel rate", options.rate, published, seq_at_start, seq_at_end, measured);
    }
    std::printf("  %-22s %s /s (expected %s /s)\n", "deliveries", with_commas(deliveries).c_str(),
                with_commas(expected).c_str());
    std::printf("  %-22s %" PRIu64 " missing (seq gaps), %" PRIu64 " out of order\n", "loss",
                totals.gaps.load(), totals.out_of_order.load());
    std::printf(
        "  %-22s p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms (%s)\n", "latency",
        totals.latency.percentile(0.50), totals.latency.percentile(0.99),
        totals.latency.percentile(0.999),
        injector && options.inject != "api" ? "timestamps in µs" : "timestamps have ms resolution");
    double per_connection_kb = 0, per_connection_pss_kb = 0, cpu = 0, cpu_us = 0;
    if (idle && connected && cpu_at_start && cpu_at_end) {
        auto ready = static_cast<double>(std::max<uint64_t>(totals.ready, 1));
        per_connection_kb = (connected->rss_mb - idle->rss_mb) * 1024.0 / ready;
        per_connection_pss_kb = (connected->pss_mb - idle->pss_mb) * 1024.0 / ready;
        std::printf(
            "  %-22s %.1f MB idle -> %.1f MB connected (%.1f KB per connection), %.1f MB at the "
            "end\n",
            (server + " RSS").c_str(), idle->rss_mb, connected->rss_mb, per_connection_kb,
            cpu_at_end->rss_mb);
        cpu = cpu_at_end->cpu_seconds - cpu_at_start->cpu_seconds;
        double per_million =
            totals.delivered > 0 ? cpu / (static_cast<double>(totals.delivered) / 1e6) : 0;
        cpu_us = per_million;  // CPU s per 10⁶ deliveries = µs per delivery
        std::printf("  %-22s %.2f s over the run = %.2f CPU s per million deliveries\n",
                    (server + " CPU").c_str(), cpu, per_million);
        if (nchan || injector) {
            std::printf("  %-22s %.1f MB idle -> %.1f MB connected (%.1f KB per connection)\n",
                        (server + " PSS").c_str(), idle->pss_mb, connected->pss_mb,
                        per_connection_pss_kb);
            std::printf("  %-22s %.2f µs per delivery, %.1f %% of a core\n",
                        (server + " CPU").c_str(), cpu_us, 100 * cpu / measured);
        }
    } else {
        std::printf("  %-22s n/a (give --pid when attaching)\n", "daemon RSS / CPU");
    }
    double redis_cpu = 0, redis_us = 0;
    if (redis_at_start && redis_at_end) {
        redis_cpu = redis_at_end->cpu_seconds - redis_at_start->cpu_seconds;
        redis_us = totals.delivered > 0
                       ? redis_cpu * 1e6 / static_cast<double>(totals.delivered.load())
                       : 0;
        std::printf("  %-22s %.2f µs per delivery, %.1f %% of a core (not in the above)\n",
                    "redis-server CPU", redis_us, 100 * redis_cpu / measured);
    }
    if (probe) {
        std::printf("  %-22s while connecting: %s\n", "GET / latency",
                    probe->describe(StatusProbe::connecting).c_str());
        std::printf("  %-22s while streaming: %s\n", "",
                    probe->describe(StatusProbe::streaming).c_str());
        std::printf("  %-22s while disconnecting: %s\n", "",
                    probe->describe(StatusProbe::disconnecting).c_str());
        std::printf("  %-22s %" PRIu64 " connections gone in %.2f s, %.0f ms of %s CPU\n",
                    "disconnect", totals.ready.load(), leaving_seconds, leaving_cpu_ms,
                    server.c_str());
    }
    {
        std::lock_guard lock(errors().mutex);
        for (const auto& [why, count] : errors().counts)
            std::printf("  %-22s %d x %s\n", "connection ended", count, why.c_str());
    }
    // Nothing delivered at all is no clean run: say what the daemons said.
    bool flowed = totals.delivered > 0;
    if (!flowed) {
        for (auto* process : {worker.get(), daemon.get()}) {
            if (process)
                std::printf("  nothing delivered; its log:\n%s\n", process->log_tail().c_str());
        }
    }
    bool clean = flowed && totals.failed == 0 && totals.dropped == 0 && totals.gaps == 0 &&
                 totals.out_of_order == 0 && totals.ready == connections &&
                 (!injector || injector->refused() == 0);
    std::printf("  %-22s %s\n\n", "result",
                clean ? "OK: every subscriber got every message" : "PROBLEMS (see above)");
    if (options.summary) {
        std::printf("SUMMARY target=%s inject=%s sse=%d ws=%d channels=%zu rate=%g ready=%" PRIu64
                    " failed=%" PRIu64 " dropped=%" PRIu64
                    " published=%.2f deliveries=%.0f expected=%.0f loss=%" PRIu64
                    " out_of_order=%" PRIu64
                    " p50_ms=%.1f p99_ms=%.1f p999_ms=%.1f cpu_us=%.2f cpu_pct=%.1f rss_kb=%.1f "
                    "pss_kb=%.1f redis_us=%.2f redis_pct=%.1f connect_s=%.1f clean=%d",
                    options.target.c_str(), options.inject.c_str(), options.sse, options.ws,
                    symbols.size(), options.rate, totals.ready.load(), totals.failed.load(),
                    totals.dropped.load(), published, deliveries, expected, totals.gaps.load(),
                    totals.out_of_order.load(), totals.latency.percentile(0.50),
                    totals.latency.percentile(0.99), totals.latency.percentile(0.999), cpu_us,
                    100 * cpu / measured, per_connection_kb, per_connection_pss_kb, redis_us,
                    100 * redis_cpu / measured, connect_seconds, clean ? 1 : 0);
        if (probe) {
            std::printf(
                " status_p99_connect_ms=%.1f status_p99_stream_ms=%.1f "
                "status_p99_leave_ms=%.1f leave_s=%.2f leave_cpu_ms=%.0f",
                probe->p99(StatusProbe::connecting), probe->p99(StatusProbe::streaming),
                probe->p99(StatusProbe::disconnecting), leaving_seconds, leaving_cpu_ms);
        }
        std::printf("\n");
    }
    std::fflush(stdout);
    if (daemon) daemon->terminate(10s);
    return clean ? 0 : 1;
}
