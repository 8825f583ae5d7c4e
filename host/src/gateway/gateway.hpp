// The gateway: HTTP/1.1 REST API, Server-Sent Events and WebSocket on one listener.
#pragma once

#include "access/access.hpp"
#include "alerts/alerts.hpp"
#include "bus/bus.hpp"
#include "config/config.hpp"
#include "plugins/plugins.hpp"
#include "scheduler/scheduler.hpp"
#include "telemetry/telemetry.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <optional>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace tickerd::gateway {

// The threads running the streams' I/O context (main starts them; the gateway shares work
// among them). Accepting and REST run on one more thread, with an I/O context of its own, so
// that a request is never queued behind thousands of streams' writes or closes.
inline constexpr int kIoThreads = 2;

// Everything the handlers read or change. Owned by main; outlives the server.
struct Services {
    const config::DaemonConfig& config;
    config::StateStore& state;
    scheduler::WorkerManager& workers;
    plugins::PluginHost& plugins;
    bus::Bus& bus;
    telemetry::Store& telemetry;
    access::Gatekeeper& access;
    alerts::AlertCenter& alerts;
    std::chrono::steady_clock::time_point started_at;
    // With Redis: whether this instance's config changes are in the shared config yet.
    std::function<config::SharedConfigState()> shared_config = {};
};

// GET /'s document as JSON text (also what SIGUSR1 logs).
std::string status_json(Services& services);

// The limits clients are held to (CONTRACT.md §6).
using Limits = access::Limits;

// The TLS certificate in force. reload() (SIGHUP) swaps in one read anew: new connections get
// it, open ones keep the one they started with. Thread-safe.
class TlsContext {
  public:
    // The certificate, key and client CA read and checked; a problem names the setting.
    static Result<std::shared_ptr<TlsContext>> make(const access::TlsSettings& settings);
    Result<void> reload(const access::TlsSettings& settings);
    std::shared_ptr<boost::asio::ssl::context> current() const;

  private:
    explicit TlsContext(std::shared_ptr<boost::asio::ssl::context> context);
    std::atomic<std::shared_ptr<boost::asio::ssl::context>> current_;
};

// Where the server listens: the main listener, and TLS on it or on a second one.
struct Listeners {
    boost::asio::ip::tcp::endpoint main;
    std::optional<boost::asio::ip::tcp::endpoint> tls;  // a second listener, for TLS
    std::shared_ptr<TlsContext> tls_context;            // null: no TLS anywhere
    bool reuse_port = false;  // SO_REUSEPORT: several processes accept on one port
};

// The two I/O contexts the server runs on (main runs both).
struct IoContexts {
    boost::asio::io_context& streams;   // SSE and WebSocket sessions: kIoThreads threads
    boost::asio::io_context& requests;  // the listeners and REST: one thread
    // A run of stream writers sends its writes in one io_uring submission (send_batch.hpp);
    // off, or where the kernel refuses io_uring, each write is its own sendmsg().
    bool io_uring = true;
};

class Server {
  public:
    // A plain connection starts on `requests` and moves to `streams` when it asks for a
    // stream. TLS connections run on `streams` from the start: OpenSSL's state cannot move.
    Server(IoContexts io, const Listeners& listeners, Services& services, Limits limits = {});
    ~Server();

    unsigned short port() const;      // the main listener's
    unsigned short tls_port() const;  // the second listener's; 0 when there is none
    void start();
    // Stops accepting, closes every stream cleanly (SSE: end of body; WS: close 1001).
    void stop();

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace tickerd::gateway
