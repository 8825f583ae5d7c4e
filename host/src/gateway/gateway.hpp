// The gateway: HTTP/1.1 REST API, Server-Sent Events and WebSocket on one listener.
#pragma once

#include "access/access.hpp"
#include "bus/bus.hpp"
#include "config/config.hpp"
#include "plugins/plugins.hpp"
#include "scheduler/scheduler.hpp"
#include "telemetry/telemetry.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

namespace tickerd::gateway {

// Everything the handlers read or change. Owned by main; outlives the server.
struct Services {
    const config::DaemonConfig& config;
    config::StateStore& state;
    scheduler::WorkerManager& workers;
    plugins::PluginHost& plugins;
    bus::Bus& bus;
    telemetry::Store& telemetry;
    access::Gatekeeper& access;
    std::chrono::steady_clock::time_point started_at;
};

// GET /'s document as JSON text (also what SIGUSR1 logs).
std::string status_json(Services& services);

// The limits clients are held to (CONTRACT.md §6).
using Limits = access::Limits;

class Server {
  public:
    Server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint,
           Services& services, Limits limits = {});
    ~Server();

    unsigned short port() const;
    void start();
    // Stops accepting, closes every stream cleanly (SSE: end of body; WS: close 1001).
    void stop();

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace tickerd::gateway
