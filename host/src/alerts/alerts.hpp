// Alerts (CONTRACT.md §8): the system rules, evaluated every second from what the daemon
// looks like, fire and resolve on `stream:alerts:system`; the price rules (kept with the
// runtime config, changed through /streaming/alerts/rules) are evaluated on every
// market_data message this instance publishes and fire on `stream:alerts:{SYMBOL}`. Every
// alert is also POSTed, signed, to the webhooks whose rules take it.
//
// Threads: the system rules run on a thread of the center's own (reading statuses only), the
// price rules on the thread that published the message; neither waits on the network. Another
// thread of the center's publishes the alerts (numbered in Redis when it is on: a round trip), in
// order, retrying while Redis is away, and each webhook has a thread that POSTs, in order,
// retrying with capped backoff. Every queue is bounded.
#pragma once

#include "alerts/rules.hpp"
#include "bus/bus.hpp"
#include "config/config.hpp"
#include "plugins/plugins.hpp"
#include "scheduler/scheduler.hpp"
#include "telemetry/telemetry.hpp"

#include <memory>
#include <string>

namespace tickerd::alerts {

// What the system rules read; all must outlive the center's stop().
struct Sources {
    scheduler::WorkerManager& workers;
    plugins::PluginHost& plugins;
    telemetry::Store& telemetry;
    bool redis_enabled = false;
};

// What the daemon looks like now (alerts/probe.cpp).
SystemView probe(const Sources& sources, bus::Bus& bus);

// What reading the webhooks' secret files would refuse (for --check-config), one line each.
std::vector<std::string> secret_problems(const AlertSettings& settings);

// "sha256=<hex of HMAC-SHA256(secret, body)>": the X-Tickerd-Signature header.
std::string signature(std::string_view secret, std::string_view body);

class AlertCenter {
  public:
    // Reads the webhooks' secret files: one that cannot be read is a config::ConfigError
    // naming it. `bus` and `state` must outlive the center.
    AlertCenter(bus::Bus& bus, config::StateStore& state, const AlertSettings& settings,
                std::string instance);
    ~AlertCenter();
    AlertCenter(const AlertCenter&) = delete;
    AlertCenter& operator=(const AlertCenter&) = delete;

    // Any thread (the scheduler's on_market_data): the price rules of `symbol`.
    void on_market_data(const std::string& symbol, const boost::json::object& data, SysTime at);
    // Starts evaluating the system rules, every second.
    void start(Sources sources);
    // Stops the evaluation and the threads; what is still queued is dropped (and logged).
    void stop();

    // GET /streaming/alerts: what fires now, the rules, the webhooks' outcomes.
    boost::json::object status() const;
    void write_metrics(telemetry::Exposition& out) const;

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace tickerd::alerts
