// What isolating a vendor costs (README, "Isolating a vendor"): one call to the mock vendor
// in process and through its runner (µs per call, wall and CPU, the runner's CPU included),
// the runner's memory, and how long a runner takes to start and to come back after SIGKILL.
// A tool, not a test.
//
//   isolation_bench [--calls 20000] [--restarts 20]
#include "plugins/plugins.hpp"
#include "support/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;
using namespace tickerd;

// CPU seconds (user + system) a process has used, from /proc/<pid>/stat.
double cpu_seconds_of(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto after = text.rfind(')');
    if (after == std::string::npos) return 0;
    std::istringstream fields(text.substr(after + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
        if (i == 15) break;
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

plugins::InstancePtr instance_named(plugins::PluginHost& host, const std::string& name) {
    for (const auto& instance : host.ranked_for(DataType::market_data)) {
        if (instance->name() == name) return instance;
    }
    throw std::runtime_error("no instance " + name);
}

long runner_pid(const plugins::Instance& instance) {
    return static_cast<long>(instance.runner_json()->at("pid").to_number<int64_t>());
}

bool call_ok(plugins::Instance& instance) {
    plugins::CancelFlag cancel;
    auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(5);
    return instance.fetch(DataType::market_data, "MSFT", deadline, cancel).status == TICKERD_OK;
}

void bench_calls(plugins::Instance& instance, int calls, long runner) {
    for (int i = 0; i < 100; ++i)
        call_ok(instance);  // warm up
    double cpu_before = testing::own_cpu_seconds() + (runner ? cpu_seconds_of(runner) : 0);
    auto start = Clock::now();
    for (int i = 0; i < calls; ++i) {
        if (!call_ok(instance)) throw std::runtime_error("a call failed");
    }
    double wall = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu = testing::own_cpu_seconds() + (runner ? cpu_seconds_of(runner) : 0) - cpu_before;
    std::printf("  %-12s %7d calls: %8.1f us wall, %8.1f us CPU per call%s\n",
                instance.name().c_str(), calls, wall / calls * 1e6, cpu / calls * 1e6,
                runner ? " (daemon + runner)" : "");
}

}  // namespace

int main(int argc, char** argv) {
    int calls = 20000;
    int restarts = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        if (flag == "--calls") {
            calls = std::stoi(argv[i + 1]);
        } else if (flag == "--restarts") {
            restarts = std::stoi(argv[i + 1]);
        } else {
            std::cerr << "usage: isolation_bench [--calls N] [--restarts N]\n";
            return 2;
        }
    }
    plugins::PluginHost host({TICKERD_TEST_VENDOR_DIR});
    host.load_all();
    plugins::InstanceConfig inside;
    inside.name = "inside";
    inside.plugin = "mock";
    auto outside = inside;
    outside.name = "outside";
    outside.isolation = isolation::Isolation::process;
    outside.restart.backoff_ms = 0;
    outside.restart.bench_after = 0;

    auto started = Clock::now();
    auto problems = host.configure({inside, outside}, true);
    auto configured_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    for (const auto& problem : problems)
        std::cerr << problem << "\n";
    auto in_process = instance_named(host, "inside");
    auto isolated = instance_named(host, "outside");

    std::printf("one fetch of the mock, sequential\n");
    bench_calls(*in_process, calls, 0);
    bench_calls(*isolated, calls, runner_pid(*isolated));

    auto status = *isolated->runner_json();
    isolation::add_memory(status);
    auto memory = status.at("memory_kb").as_object();
    std::printf("runner memory (the mock loaded, %d calls served): RSS %lld kB, PSS %lld kB\n",
                calls + 100, static_cast<long long>(memory.at("rss").to_number<int64_t>()),
                static_cast<long long>(memory.at("pss").to_number<int64_t>()));
    std::printf("both instances configured (one runner started, instance created): %.1f ms\n",
                configured_ms);

    double total_ms = 0;
    for (int i = 0; i < restarts; ++i) {
        ::kill(static_cast<pid_t>(runner_pid(*isolated)), SIGKILL);
        auto killed = Clock::now();
        // The first call after the death fails (transient); the next one starts a runner.
        while (!call_ok(*isolated)) {
        }
        total_ms += std::chrono::duration<double, std::milli>(Clock::now() - killed).count();
    }
    std::printf(
        "restart after SIGKILL (backoff 0): %.1f ms from the kill to the next answered call "
        "(mean of %d)\n",
        total_ms / restarts, restarts);
}
