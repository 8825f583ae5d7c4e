// GET /metrics: the Prometheus text format. The counters bumped on hot paths live in the
// telemetry store's Metrics; what is a state rather than a count (Redis, plugins, workers,
// the process) is read here, at scrape time, so it costs nothing between scrapes.
#include "gateway/rest.hpp"

#include <boost/beast/http/field.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace tickerd::gateway {

namespace {

using telemetry::Exposition;

// The text format's media type, as Prometheus asks for it.
constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

void gauge(Exposition& out, std::string_view name, std::string_view help, double value) {
    out.family(name, "gauge", help);
    out.sample(name, {}, value);
}

void counter(Exposition& out, std::string_view name, std::string_view help, double value) {
    out.family(name, "counter", help);
    out.sample(name, {}, value);
}

// The process_* families every Prometheus client library exposes, from /proc/self.
void write_process(Exposition& out) {
    std::ifstream stat_file("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
    // Fields after the command name, which is in parentheses and may hold spaces.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::vector<std::string> field(std::istream_iterator<std::string>(fields), {});
    if (field.size() < 22) return;
    double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    // Fields 14 and 15 (utime, stime), 22 (starttime), 23 (vsize), 24 (rss), numbered from 1
    // with the pid and the name as 1 and 2.
    counter(out, "process_cpu_seconds_total", "User and system CPU time spent, in seconds",
            (std::stod(field[11]) + std::stod(field[12])) / ticks);
    gauge(out, "process_virtual_memory_bytes", "Virtual memory size, in bytes",
          std::stod(field[20]));
    gauge(out, "process_resident_memory_bytes", "Resident memory size, in bytes",
          std::stod(field[21]) * page);
    std::ifstream boot("/proc/stat");
    for (std::string key; boot >> key;) {
        if (key != "btime") continue;
        double boot_time = 0;
        boot >> boot_time;
        gauge(out, "process_start_time_seconds", "Start time since the Unix epoch, in seconds",
              boot_time + std::stod(field[19]) / ticks);
        break;
    }
    std::error_code ec;
    double fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++fds;
    gauge(out, "process_open_fds", "Open file descriptors", fds);
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
        gauge(out, "process_max_fds", "The limit on open file descriptors",
              static_cast<double>(limit.rlim_cur));
}

void write_bus(Exposition& out, Services& services) {
    auto bus = services.bus.health();
    gauge(out, "tickerd_bus_channels",
          "Channels the bus holds here (subscribed to, or with a latest message)",
          static_cast<double>(bus.channels));
    if (!services.config.redis.enabled) return;
    gauge(out, "tickerd_redis_connected", "1 while the link to Redis is up", bus.connected);
    counter(out, "tickerd_redis_published_total", "Messages Redis acknowledged",
            static_cast<double>(bus.published));
    gauge(out, "tickerd_redis_buffered_messages",
          "Messages waiting for Redis (kept while it is away, up to redis.buffer_limit)",
          static_cast<double>(bus.buffered));
    counter(out, "tickerd_redis_dropped_total",
            "Messages dropped, oldest first, from a full Redis buffer",
            static_cast<double>(bus.dropped));
    counter(out, "tickerd_redis_write_refusals_total",
            "Writes Redis refused (out of memory, a read-only replica, ...)",
            static_cast<double>(bus.write_refusals));
    gauge(out, "tickerd_redis_refusing", "1 while Redis has refused a write in the last 10 s",
          bus.refusing);
    // One sample per node in use: writes go to the primary (every primary, in a cluster),
    // subscriptions and reads to redis.read_from's node.
    out.family("tickerd_redis_node_info", "gauge", "The Redis nodes the links talk to now");
    for (auto [use, nodes] :
         {std::pair<std::string_view, std::string_view>{"write", bus.write_node},
          {"read", bus.read_node}}) {
        while (!nodes.empty()) {
            auto comma = nodes.find(',');
            out.sample("tickerd_redis_node_info", {{"use", use}, {"node", nodes.substr(0, comma)}},
                       1);
            nodes.remove_prefix(comma == std::string_view::npos ? nodes.size() : comma + 1);
        }
    }
}

void write_plugins(Exposition& out, Services& services) {
    std::map<std::string_view, double> plugins{{"loaded", 0}, {"refused", 0}};
    std::map<std::string_view, double> refusals;
    for (const auto& plugin : services.plugins.plugins()) {
        ++plugins[plugins::to_string(plugin.state)];
        if (plugin.refusal) ++refusals[plugins::to_string(plugin.refusal->reason)];
    }
    out.family("tickerd_plugins", "gauge", "Plugin files found, by state");
    for (const auto& [state, count] : plugins)
        out.sample("tickerd_plugins", {{"state", state}}, count);
    out.family("tickerd_plugin_refusals", "gauge", "Plugin files refused now, by reason");
    for (const auto& [reason, count] : refusals)
        out.sample("tickerd_plugin_refusals", {{"reason", reason}}, count);

    std::map<std::string_view, double> instances{{"ready", 0}, {"failed", 0}};
    for (const auto& instance : services.plugins.instances())
        ++instances[plugins::to_string(instance.state)];
    out.family("tickerd_vendor_instances", "gauge", "Vendor instances, by state");
    for (const auto& [state, count] : instances)
        out.sample("tickerd_vendor_instances", {{"state", state}}, count);

    auto http = services.plugins.http_counters();
    counter(out, "tickerd_plugin_http_requests_total",
            "HTTP requests plugins made through the host", static_cast<double>(http.requests));
    counter(out, "tickerd_plugin_http_failures_total",
            "Plugin HTTP requests that got no answer (connection, TLS, timeout)",
            static_cast<double>(http.failures));
    counter(out, "tickerd_plugin_http_received_bytes_total",
            "Bytes plugins received through the host's HTTP client",
            static_cast<double>(http.bytes_received));
}

void write_workers(Exposition& out, Services& services) {
    auto statuses = services.workers.statuses();
    out.family("tickerd_worker_running", "gauge", "1 while the worker runs, by worker");
    for (const auto& status : statuses) {
        out.sample("tickerd_worker_running", {{"worker", status.worker_id}},
                   status.status == scheduler::WorkerState::running);
    }
    out.family("tickerd_worker_stalled", "gauge",
               "1 while a running worker's polls fail and it has published nothing for three "
               "intervals");
    for (const auto& status : statuses)
        out.sample("tickerd_worker_stalled", {{"worker", status.worker_id}}, status.stalled);
    out.family("tickerd_worker_polls_total", "counter", "Polls, by worker and result");
    for (const auto& status : statuses) {
        out.sample("tickerd_worker_polls_total",
                   {{"worker", status.worker_id}, {"result", "success"}},
                   static_cast<double>(status.success_count));
        out.sample("tickerd_worker_polls_total",
                   {{"worker", status.worker_id}, {"result", "error"}},
                   static_cast<double>(status.error_count));
    }
    out.family("tickerd_worker_vendor_timeouts_total", "counter",
               "Vendor calls that ran past their timeout, by worker");
    for (const auto& status : statuses) {
        out.sample("tickerd_worker_vendor_timeouts_total", {{"worker", status.worker_id}},
                   static_cast<double>(status.timeout_count));
    }
    gauge(out, "tickerd_instruments", "Instruments configured",
          static_cast<double>(services.state.snapshot()->instruments.size()));
}

}  // namespace

Reply get_metrics(Services& services, const RouteArgs&) {
    Exposition out;
    out.family("tickerd_build_info", "gauge", "Always 1; the labels say which build runs");
    out.sample("tickerd_build_info", {{"version", TICKERD_VERSION}}, 1);
    gauge(out, "tickerd_uptime_seconds", "Seconds since the daemon started",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - services.started_at)
              .count());
    write_process(out);
    services.telemetry.metrics().write(out);
    write_bus(out, services);
    write_plugins(out, services);
    write_workers(out, services);
    services.alerts.write_metrics(out);
    return {
        200, out.take(), {{boost::beast::http::field::content_type, std::string(kContentType)}}};
}

}  // namespace tickerd::gateway
