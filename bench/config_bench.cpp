// Configuration at scale (issue 14): loads instruments one POST at a time through the API of
// the built daemon and reports what an operator feels — a POST's latency (p50/p99/max, over
// all of them and over the last tenth, when the config is largest), add/replace/delete POSTs at
// full size, a GET /streaming/channels page, walking every page, and the time from a kill -9
// to the daemon answering again with every instrument. With --scheduler it instead runs every
// worker over the instruments with the mock vendor and reports the daemon's CPU. A tool, not
// a test.
//
//   config_bench [--instruments 100000] [--types 1]
//   config_bench --scheduler [--instruments 10000] [--types 5] [--interval 60] [--seconds 30]
//                [--no-bars]   (--interval 0: each data type at its default cadence)
//
// One client, one request in flight (keep-alive): the latency is the daemon's answer time
// including its fsync, on this machine's disk.
#include "support/clients.hpp"
#include "support/daemon.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace tickerd::testing;
using Clock = std::chrono::steady_clock;
namespace json = boost::json;

const std::vector<std::string> kTypes{"market_data", "news", "fundamentals", "analytics",
                                      "insider_data"};

struct Options {
    std::size_t instruments = 0;  // 0: the mode's default
    std::size_t types = 0;
    bool scheduler = false;
    bool bars = true;  // --no-bars: no OHLC bars, to see the polling apart from aggregating
    double interval = 60;
    double seconds = 30;
};

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string percentiles(std::vector<double> samples) {
    if (samples.empty()) return "none";
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) {
        return samples[std::min(samples.size() - 1, static_cast<std::size_t>(q * samples.size()))];
    };
    char text[128];
    std::snprintf(text, sizeof text, "p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu)", at(0.5),
                  at(0.99), samples.back(), samples.size());
    return text;
}

std::string symbol(std::size_t n) {
    char text[16];
    std::snprintf(text, sizeof text, "S%06zu", n);
    return text;
}

json::object instrument(std::size_t n, std::size_t types) {
    json::array data_types;
    for (std::size_t t = 0; t < types; ++t)
        data_types.emplace_back(kTypes[t]);
    return {{"symbol", symbol(n)}, {"data_types", std::move(data_types)}};
}

double cpu_seconds(pid_t pid);  // user + system, from /proc

double timed_post(HttpClient& http, const std::string& target, const json::value& body,
                  unsigned expected) {
    auto start = Clock::now();
    auto response = http.post_json(target, body);
    auto ms = ms_since(start);
    if (response.status != expected)
        throw std::runtime_error(target + ": " + std::to_string(response.status) + " " +
                                 response.body);
    return ms;
}

// The daemon's CPU per request tells its own cost apart from waiting for the disk or for
// a core (the machine may be shared).
void load(HttpClient& http, pid_t daemon, std::size_t count, std::size_t types) {
    auto cpu = cpu_seconds(daemon);
    std::vector<double> all;
    std::vector<double> last_tenth;
    for (std::size_t n = 0; n < count; ++n) {
        auto ms = timed_post(http, "/streaming/config/instruments", instrument(n, types), 201);
        all.push_back(ms);
        if (n >= count - count / 10) last_tenth.push_back(ms);
    }
    std::cout << "POST (adding " << count << ")      " << percentiles(all) << "\n"
              << "POST (the last tenth)     " << percentiles(last_tenth) << "\n";
    std::printf("daemon CPU per POST        %.0f us\n",
                1e6 * (cpu_seconds(daemon) - cpu) / static_cast<double>(count));
}

// Add, replace and delete at full size, mixed.
void churn(HttpClient& http, std::size_t count, std::size_t types) {
    std::vector<double> samples;
    for (std::size_t i = 0; i < 300; ++i) {
        auto n = count + i / 3;
        if (i % 3 == 2) {
            auto start = Clock::now();
            auto response = http.del("/streaming/config/instruments/" + symbol(n));
            samples.push_back(ms_since(start));
            if (response.status != 204) throw std::runtime_error("DELETE: " + response.body);
        } else {
            samples.push_back(
                timed_post(http, "/streaming/config/instruments", instrument(n, types), 201));
        }
    }
    std::cout << "POST/DELETE at full size  " << percentiles(samples) << "\n";
}

void pages(HttpClient& http) {
    auto page = [&](const std::string& query, std::string* next) {
        auto start = Clock::now();
        auto response = http.get("/streaming/channels" + query);
        auto ms = ms_since(start);
        if (response.status != 200) throw std::runtime_error("channels: " + response.body);
        auto body = response.json();
        const auto& link = body.at("next");
        if (next) *next = link.is_null() ? std::string() : std::string(link.as_string());
        return ms;
    };
    std::vector<double> first;
    for (int i = 0; i < 20; ++i)
        first.push_back(page("", nullptr));
    std::cout << "channels page (1000)      " << percentiles(first) << "\n";
    std::vector<double> large;
    for (int i = 0; i < 5; ++i)
        large.push_back(page("?limit=10000", nullptr));
    std::cout << "channels page (10000)     " << percentiles(large) << "\n";
    std::string next;
    std::size_t count = 0;
    auto start = Clock::now();
    std::vector<double> each;
    do {
        each.push_back(page(next.empty() ? std::string() : "?after=" + next, &next));
        ++count;
    } while (!next.empty());
    std::printf("every page (%zu)           %.0f ms in all; %s\n", count, ms_since(start),
                percentiles(each).c_str());
}

DaemonOptions daemon_options(const TempDir& files, const std::filesystem::path& state,
                             const json::object& extra = {}) {
    // No request rate limit: the bench is the one client, sending as fast as it is answered.
    json::object config{{"vendors", mock_vendors()},
                        {"instruments", json::array{}},
                        {"limits", {{"requests_per_minute", 0}}}};
    for (const auto& item : extra)
        config[item.key()] = item.value();
    DaemonOptions options;
    options.config_file = write_config(files, config);
    options.state_dir = state;
    return options;
}

// From kill -9 to the daemon answering with the last instrument added.
void restart(std::unique_ptr<DaemonProcess>& daemon, DaemonOptions options,
             const std::string& last_symbol) {
    auto port = daemon->port();
    daemon->kill_hard();
    options.listen = "127.0.0.1:" + std::to_string(port);
    auto start = Clock::now();
    daemon = std::make_unique<DaemonProcess>(options);
    for (;;) {
        try {
            HttpClient http("127.0.0.1", port, std::chrono::milliseconds(2000));
            if (http.get("/streaming/config/instruments/" + last_symbol).status == 200) break;
        } catch (const std::exception&) {
        }
        if (!daemon->running())
            throw std::runtime_error("the daemon exited: " + daemon->log_tail());
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::printf("restart after kill -9      %.0f ms (to answering with every instrument)\n",
                ms_since(start));
    daemon->wait_ready();
    auto state = daemon->state_dir();
    for (const auto& name : {"state.json", "state.journal", "state.journal.2"}) {
        std::error_code ec;
        auto size = std::filesystem::file_size(state / name, ec);
        if (!ec) std::printf("  %-13s            %.1f MB\n", name, size / 1e6);
    }
}

double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto fields = text.substr(text.rfind(')') + 2);
    std::istringstream words(fields);
    std::string word;
    unsigned long ticks = 0;
    for (int field = 3; words >> word; ++field) {
        if (field == 14 || field == 15) ticks += std::stoul(word);
        if (field == 15) break;
    }
    return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double published(HttpClient& http) {
    auto metrics = http.get("/metrics").body;
    double total = 0;
    std::istringstream lines(metrics);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("tickerd_messages_published_total{"))
            total += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return total;
}

void run_scheduler(const Options& options) {
    TempDir files("tickerd-config-bench");
    json::object cadences;  // --interval 0: the default cadences (60 s to 1800 s)
    for (std::size_t t = 0; t < options.types && options.interval > 0; ++t)
        cadences[kTypes[t]] = json::object{{"interval_seconds", options.interval}};
    double settle = options.interval > 0 ? options.interval : 60;
    json::object extra{{"cadences", cadences}};
    if (!options.bars) extra["bars"] = json::object{{"intervals", json::array{}}};
    auto daemon_config = daemon_options(files, files.path() / "state", extra);
    auto daemon = std::make_unique<DaemonProcess>(daemon_config);
    daemon->wait_ready();
    HttpClient http("127.0.0.1", daemon->port());
    for (std::size_t n = 0; n < options.instruments; ++n)
        timed_post(http, "/streaming/config/instruments", instrument(n, options.types), 201);
    if (http.post("/streaming/config/workers/start-all").status != 204)
        throw std::runtime_error("start-all refused");
    // One interval to settle (every instrument polled once, staggered), then measure.
    std::this_thread::sleep_for(std::chrono::duration<double>(settle));
    auto cpu = cpu_seconds(daemon->pid());
    auto messages = published(http);
    auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(options.seconds));
    auto wall = ms_since(start) / 1000;
    auto used = cpu_seconds(daemon->pid()) - cpu;
    auto sent = published(http) - messages;
    std::printf(
        "scheduler: %zu instruments x %zu types every %.0f s: %.0f polls/s, daemon CPU "
        "%.2f %% of a core (%.1f us a poll, mock vendor and publishing included)\n",
        options.instruments, options.types, options.interval, sent / wall, 100 * used / wall,
        sent > 0 ? 1e6 * used / sent : 0.0);
}

void run_load(const Options& options) {
    TempDir files("tickerd-config-bench");
    auto daemon_config = daemon_options(files, files.path() / "state");
    auto daemon = std::make_unique<DaemonProcess>(daemon_config);
    daemon->wait_ready();
    HttpClient http("127.0.0.1", daemon->port());
    load(http, daemon->pid(), options.instruments, options.types);
    churn(http, options.instruments, options.types);
    pages(http);
    restart(daemon, daemon_config, symbol(options.instruments - 1));
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&] {
            if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
            return std::stod(argv[++i]);
        };
        if (arg == "--scheduler") {
            options.scheduler = true;
        } else if (arg == "--no-bars") {
            options.bars = false;
        } else if (arg == "--instruments") {
            options.instruments = static_cast<std::size_t>(value());
        } else if (arg == "--types") {
            options.types = std::clamp<std::size_t>(static_cast<std::size_t>(value()), 1, 5);
        } else if (arg == "--interval") {
            options.interval = value();
        } else if (arg == "--seconds") {
            options.seconds = value();
        } else {
            std::cerr << "usage: config_bench [--scheduler [--no-bars]] [--instruments N] "
                         "[--types 1-5] "
                         "[--interval S] [--seconds S]\n";
            return 2;
        }
    }
    if (options.instruments == 0) options.instruments = options.scheduler ? 10000 : 100000;
    if (options.types == 0) options.types = options.scheduler ? 5 : 1;
    try {
        if (options.scheduler) {
            run_scheduler(options);
        } else {
            run_load(options);
        }
    } catch (const std::exception& e) {
        std::cerr << "config_bench: " << e.what() << "\n";
        return 1;
    }
}
