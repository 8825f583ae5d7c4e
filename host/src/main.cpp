// tickerd: wires the parts together and runs them. No logic of its own beyond start-up order
// and the shutdown sequence.
#include "access/access.hpp"
#include "alerts/alerts.hpp"
#include "bus/bus.hpp"
#include "cluster/cluster.hpp"
#include "config/config.hpp"
#include "core/huge_pages.hpp"
#include "core/log.hpp"
#include "core/systemd.hpp"
#include "gateway/gateway.hpp"
#include "plugins/plugins.hpp"
#include "scheduler/scheduler.hpp"
#include "telemetry/telemetry.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace tickerd;

namespace {

constexpr auto kShutdownGrace = std::chrono::seconds(5);
constexpr auto kCloseFlushTime = std::chrono::milliseconds(500);
// The contract promises exit within 10 s of SIGTERM. A plugin that ignores cancellation
// could hold a vendor thread forever; past this deadline the process exits regardless.
constexpr auto kForcedExitAfter = std::chrono::milliseconds(9500);

// An installed daemon finds its vendors under its own prefix; one run from the build tree
// uses the vendors built beside it and keeps state in ./var.
config::InstallDefaults install_defaults() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    fs::path installed_vendors = exe.parent_path().parent_path() / TICKERD_INSTALL_VENDOR_SUBDIR;
    if (!ec && fs::is_directory(installed_vendors, ec)) {
        return {{installed_vendors}, "/var/lib/tickerd"};
    }
    return {{TICKERD_BUILD_VENDOR_DIR}, fs::current_path() / "var"};
}

asio::ip::tcp::endpoint resolve_listen(asio::io_context& io, const std::string& listen) {
    auto [host, port] = config::parse_listen(listen).value();  // checked when it was loaded
    asio::ip::tcp::resolver resolver(io);
    auto results =
        resolver.resolve(host, std::to_string(port), asio::ip::resolver_base::numeric_service);
    if (results.empty()) throw config::ConfigError("listen: cannot resolve '" + host + "'");
    return results.begin()->endpoint();
}

// Written via a temporary file and rename, so a reader never sees a partial number.
void write_port_file(const fs::path& path, unsigned short port) {
    fs::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << port << "\n";
        if (!out) throw std::runtime_error("cannot write port file " + tmp.string());
    }
    fs::rename(tmp, path);
}

// What --check-config says about made-up data: the vendors that serve it, and the simulated
// plugins left unused because no vendors entry names them.
std::vector<std::string> simulated_vendors(const plugins::PluginHost& host) {
    std::vector<std::string> lines;
    std::set<std::string> used;
    for (const auto& instance : host.instances()) {
        if (!instance.simulated) continue;
        used.insert(instance.plugin);
        lines.push_back("vendor '" + instance.name + "' (plugin " + instance.plugin +
                        ") serves simulated data; its messages carry \"metadata\": "
                        "{\"simulated\": true}");
    }
    for (const auto& plugin : host.plugins()) {
        if (plugin.simulated && !used.contains(plugin.name)) {
            lines.push_back("plugin " + plugin.name +
                            " serves simulated data and is not used (no \"vendors\" entry names "
                            "it)");
        }
    }
    return lines;
}

// "host-1234": unique among instances sharing one Redis, and readable in messages.
std::string instance_name() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return std::string(host) + "-" + std::to_string(::getpid());
}

std::unique_ptr<bus::Bus> make_bus(asio::io_context& io, const config::DaemonConfig& cfg) {
    if (!cfg.redis.enabled) return bus::make_embedded_bus(cfg.history);
    return bus::make_redis_bus(io, {cfg.redis.address, cfg.redis.buffer_limit,
                                    std::chrono::seconds(cfg.runtime.global.cache_ttl_seconds),
                                    cfg.history, cfg.redis.read_from});
}

// The main listener, and TLS on it or on a second one.
gateway::Listeners listeners_of(asio::io_context& io, const config::DaemonConfig& cfg) {
    gateway::Listeners listeners{resolve_listen(io, cfg.listen), std::nullopt, nullptr,
                                 cfg.reuse_port};
    if (!cfg.tls.enabled()) return listeners;
    auto context = gateway::TlsContext::make(cfg.tls);
    if (!context) throw config::ConfigError(context.error().detail);
    listeners.tls_context = *context;
    if (!cfg.tls.listen.empty()) listeners.tls = resolve_listen(io, cfg.tls.listen);
    return listeners;
}

// The access settings, and protected mode: without auth the daemon serves loopback only,
// unless told explicitly (and then it says so at every start).
std::shared_ptr<access::Gatekeeper> open_gate(const config::DaemonConfig& cfg,
                                              const asio::ip::tcp::endpoint& endpoint) {
    auto gatekeeper = access::Gatekeeper::make(cfg.access);
    if (!gatekeeper) throw config::ConfigError(gatekeeper.error().detail);
    if (cfg.access.enabled || endpoint.address().is_loopback()) return *gatekeeper;
    if (!cfg.access.allow_unauthenticated_remote) {
        throw config::ConfigError(
            "listen: " + cfg.listen +
            " is not loopback and auth is off: anyone who can reach it could change the "
            "configuration and read every stream. Turn auth on (auth.enabled, with keys), or set "
            "auth.allow_unauthenticated_remote to serve it anyway");
    }
    BOOST_LOG_TRIVIAL(warning) << "listening on " << cfg.listen
                               << " without auth (auth.allow_unauthenticated_remote): anyone who "
                                  "can reach it can change the configuration";
    return *gatekeeper;
}

// Everything a start would refuse, said before starting: plugins that do not load or do not
// match the vendors config, credentials, certificates or webhook secrets that do not load,
// and a non-loopback listener without auth.
int check_config(const config::DaemonConfig& cfg) {
    plugins::PluginHost host(cfg.plugin_dirs, cfg.plugin_host);
    host.load_all();
    std::vector<std::string> problems;
    for (const auto& plugin : host.plugins()) {
        if (plugin.state == plugins::PluginState::refused)
            problems.push_back(plugin.file + ": " + plugin.refusal->detail);
    }
    for (auto& problem : host.configure(cfg.vendors, cfg.vendors_given)) {
        problems.push_back(std::move(problem));
    }
    asio::io_context io;
    try {
        listeners_of(io, cfg);
    } catch (const std::exception& e) {
        problems.push_back(e.what());
    }
    try {
        open_gate(cfg, resolve_listen(io, cfg.listen));
    } catch (const std::exception& e) {
        problems.push_back(e.what());
    }
    for (auto& problem : alerts::secret_problems(cfg.alerts))
        problems.push_back(std::move(problem));
    for (const auto& line : simulated_vendors(host))
        std::cout << "simulated: " << line << "\n";
    for (const auto& problem : problems)
        std::cout << "problem: " << problem << "\n";
    std::cout << (problems.empty() ? "configuration OK\n" : "configuration has problems\n");
    return problems.empty() ? 0 : 1;
}

using ConfigLoader = std::function<config::DaemonConfig()>;

// SIGHUP: the config file is read again and what can change while running does (the log
// level, the vendor instances), then the plugin folders are rescanned. A config that does
// not load is refused with one log line and the running one is kept.
void reload(const ConfigLoader& load_config, const config::DaemonConfig& running,
            plugins::PluginHost& plugin_host, access::Gatekeeper& gatekeeper,
            const std::shared_ptr<gateway::TlsContext>& tls) {
    try {
        auto next = load_config();
        log::set_level(next.log_level);
        // A renewed certificate serves new connections; open ones keep theirs.
        if (tls && next.tls.enabled()) {
            if (auto reloaded = tls->reload(next.tls); !reloaded) {
                BOOST_LOG_TRIVIAL(error) << "SIGHUP: the TLS certificate is refused, the running "
                                         << "one is kept: " << reloaded.error().detail;
            }
        }
        // Keys and secrets are read again; a key file that cannot be read keeps the old ones.
        if (auto reloaded = gatekeeper.reload(next.access); !reloaded) {
            BOOST_LOG_TRIVIAL(error) << "SIGHUP: the access settings are refused, the running "
                                     << "ones are kept: " << reloaded.error().detail;
        }
        for (const auto& problem : plugin_host.configure(next.vendors, next.vendors_given))
            BOOST_LOG_TRIVIAL(error) << "vendor configuration: " << problem;
        for (const auto& key : config::restart_only_changes(running, next)) {
            BOOST_LOG_TRIVIAL(warning)
                << "SIGHUP: " << key << " changed; it takes effect at the next restart";
        }
        BOOST_LOG_TRIVIAL(info) << "SIGHUP: config reloaded";
    } catch (const config::ConfigError& e) {
        BOOST_LOG_TRIVIAL(error) << "SIGHUP: the new config is refused, the running one is kept: "
                                 << e.what();
    }
    BOOST_LOG_TRIVIAL(info) << "SIGHUP: " << plugins::describe(plugin_host.rescan());
}

std::vector<std::string> bar_types(const BarSettings& bars) {
    std::vector<std::string> types;
    for (const auto& interval : bars.intervals)
        types.push_back(bar_channel_type(interval));
    return types;
}

int run(const config::DaemonConfig& cfg, const ConfigLoader& load_config) {
    if (cfg.role != config::Role::all && !cfg.redis.enabled) {
        throw std::runtime_error("--role " + std::string(config::to_string(cfg.role)) +
                                 " shares work through Redis: set REDIS_ENABLED=true");
    }
    if (auto bars = scheduler::check_bar_settings(cfg.bars); !bars) {
        throw std::runtime_error(bars.error().field + ": " + bars.error().detail);
    }
    // An edge serves clients from Redis only: it loads no vendors and polls nothing.
    bool polls = cfg.role != config::Role::edge;
    plugins::PluginHost plugin_host(polls ? cfg.plugin_dirs : std::vector<fs::path>{},
                                    cfg.plugin_host);
    plugin_host.load_all();
    for (const auto& problem : plugin_host.configure(cfg.vendors, cfg.vendors_given)) {
        BOOST_LOG_TRIVIAL(error) << "vendor configuration: " << problem;
    }
    config::StateStore state(cfg.state_dir, cfg.runtime);
    BOOST_LOG_TRIVIAL(info) << "state kept in " << state.state_file().string();

    // Before the I/O context: a connection or stream still queued there when it is destroyed
    // counts itself out of the metrics.
    telemetry::Store telemetry({cfg.published_types, cfg.metrics_symbol_labels});
    asio::io_context io(gateway::kIoThreads);
    // The listeners and REST, on a thread of their own (see gateway.hpp); kept running until
    // the stopper stops it, though a moment may come with nothing for it to do.
    asio::io_context requests_io(1);
    auto requests_work = asio::make_work_guard(requests_io);
    // The scheduler's timers and its vendor calls' outcomes, on a thread of their own too: a
    // poll then wakes one thread, not both stream threads (README, "Configuration at scale").
    asio::io_context polling_io(1);
    auto polling_work = asio::make_work_guard(polling_io);
    auto bus = make_bus(io, cfg);
    bus->start();
    scheduler::Options scheduling;
    scheduling.bars = cfg.bars;
    std::unique_ptr<cluster::ConfigSync> config_sync;
    if (cfg.redis.enabled) {
        // Instruments and cadences are shared by every instance on this Redis.
        config_sync = cluster::make_config_sync(io, cfg.redis.address, instance_name(), state);
        config_sync->start();
    }
    if (cfg.redis.enabled && polls) {
        // Several polling instances on one Redis split the work with leases.
        scheduling.instance = instance_name();
        scheduling.share = cluster::make_redis_work_share(
            io, cfg.redis.address, scheduling.instance,
            std::chrono::milliseconds(cfg.redis.lease_ms), state, bar_types(cfg.bars),
            [&bus](const std::string& channel) { return bus->latest(channel); });
        scheduling.share->start();
        BOOST_LOG_TRIVIAL(info) << "sharing the work through Redis leases as "
                                << scheduling.instance;
    }
    // The price alerts hear of every market_data message this instance publishes.
    alerts::AlertCenter alert_center(*bus, state, cfg.alerts,
                                     cfg.redis.enabled ? instance_name() : "");
    scheduling.on_market_data = [&alert_center](const std::string& symbol,
                                                const boost::json::object& data,
                                                std::chrono::system_clock::time_point at) {
        alert_center.on_market_data(symbol, data, at);
    };
    scheduler::WorkerManager workers(polling_io, state, plugin_host, *bus, telemetry, scheduling);
    auto listeners = listeners_of(io, cfg);
    auto gatekeeper = open_gate(cfg, listeners.main);
    gateway::Services services{cfg,         state,        workers,
                               plugin_host, *bus,         telemetry,
                               *gatekeeper, alert_center, std::chrono::steady_clock::now()};
    if (config_sync) services.shared_config = [&config_sync] { return config_sync->state(); };
    gateway::Server server({io, requests_io, cfg.io_uring}, listeners, services, cfg.limits);
    server.start();
    BOOST_LOG_TRIVIAL(info) << "tickerd " << TICKERD_VERSION << " listening on port "
                            << server.port()
                            << (listeners.tls_context && !listeners.tls ? " (TLS)" : "");
    if (server.tls_port() != 0) BOOST_LOG_TRIVIAL(info) << "TLS on port " << server.tls_port();
    if (cfg.port_file) write_port_file(*cfg.port_file, server.port());
    systemd::notify_ready("listening on port " + std::to_string(server.port()));
    // The watchdog hears from the I/O loop itself: a stalled loop stops the pings.
    asio::steady_timer watchdog(io);
    std::function<void()> ping_watchdog = [&] {
        systemd::notify_watchdog();
        watchdog.expires_after(*systemd::watchdog_interval());
        watchdog.async_wait([&](const boost::system::error_code& ec) {
            if (!ec) ping_watchdog();
        });
    };
    if (systemd::watchdog_interval()) ping_watchdog();

    if (polls && cfg.streaming_enabled && cfg.auto_start_workers) workers.start_all();

    // Plugin files dropped in, replaced or removed are picked up without a restart.
    std::optional<plugins::PluginWatcher> watcher;
    if (polls) {
        watcher.emplace(io, plugin_host);
        watcher->start();
    }
    // SIGHUP reloads (plugin code runs: off the I/O threads); SIGUSR1 logs a status dump.
    asio::thread_pool reloader(1);
    asio::signal_set operator_signals(io, SIGHUP, SIGUSR1);
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int signal) {
            if (ec) return;
            if (signal == SIGHUP) {
                BOOST_LOG_TRIVIAL(info)
                    << "SIGHUP: reloading "
                    << (cfg.config_path ? cfg.config_path->string() : "the configuration");
                systemd::notify_reloading();
                asio::post(reloader, [&] {
                    reload(load_config, cfg, plugin_host, *gatekeeper, listeners.tls_context);
                    systemd::notify_ready("reloaded");
                });
            } else {
                BOOST_LOG_TRIVIAL(info) << "SIGUSR1: status " << gateway::status_json(services);
            }
            operator_signals.async_wait(on_signal);
        };
    operator_signals.async_wait(on_signal);

    std::thread stopper;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        BOOST_LOG_TRIVIAL(info) << "signal " << signal << ": shutting down";
        systemd::notify_stopping();
        server.stop();
        operator_signals.cancel();
        watchdog.cancel();
        std::thread([] {
            std::this_thread::sleep_for(kForcedExitAfter);
            BOOST_LOG_TRIVIAL(error) << "shutdown took too long (a vendor call ignores "
                                        "cancellation); exiting now";
            std::_Exit(0);
        }).detach();
        // Workers finish their in-flight polls (bounded by the grace period) off the I/O
        // threads, while the I/O threads flush the streams' clean closes.
        stopper = std::thread([&] {
            if (watcher) watcher->stop();  // a rescan in progress finishes first
            reloader.join();
            workers.shutdown(kShutdownGrace);
            alert_center.stop();
            std::this_thread::sleep_for(kCloseFlushTime);
            if (scheduling.share) scheduling.share->stop();  // its leases lapse for others
            if (config_sync) config_sync->stop();
            bus->stop();  // while the I/O threads still run its links
            requests_io.stop();
            polling_io.stop();
            io.stop();
        });
    });

    // Last before running: nothing that may throw follows, so the system rules never read a
    // worker manager already gone (the stopper stops them before the workers go).
    alert_center.start({workers, plugin_host, telemetry, cfg.redis.enabled});
    std::vector<std::thread> threads;
    threads.emplace_back([&] { requests_io.run(); });
    threads.emplace_back([&] { polling_io.run(); });
    for (int i = 1; i < gateway::kIoThreads; ++i)
        threads.emplace_back([&] { io.run(); });
    io.run();
    for (auto& thread : threads)
        thread.join();
    if (stopper.joinable()) stopper.join();
    BOOST_LOG_TRIVIAL(info) << "stopped";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    config::DaemonConfig cfg;
    try {
        cfg = config::load(argc, argv, config::process_environment(), install_defaults());
    } catch (const config::ConfigError& e) {
        std::cerr << "tickerd: " << e.what() << "\n";
        return argc > 0 &&
                       std::find(argv, argv + argc, std::string("--check-config")) != argv + argc
                   ? 1
                   : 2;
    }
    if (cfg.command == config::Command::show_help) {
        std::cout << config::usage();
        return 0;
    }
    if (cfg.command == config::Command::show_version) {
        std::cout << "tickerd " << TICKERD_VERSION << " (plugin ABI " << TICKERD_ABI_MAJOR << "."
                  << TICKERD_ABI_MINOR << ")\n";
        return 0;
    }
    std::optional<huge_pages::Outcome> heap;
    if (cfg.command == config::Command::run && cfg.huge_pages)
        heap = huge_pages::reexec_with_huge_pages(argv);  // returns here only if it did not
    log::init(cfg.log_level, cfg.log_format);
    if (cfg.command == config::Command::check_config) return check_config(cfg);
    if (heap) BOOST_LOG_SEV(boost::log::trivial::logger::get(), heap->level) << heap->line;
    try {
        return run(cfg, [argc, argv] {
            return config::load(argc, argv, config::process_environment(), install_defaults());
        });
    } catch (const std::exception& e) {
        BOOST_LOG_TRIVIAL(fatal) << "cannot start: " << e.what();
        return 1;
    }
}
