// Subscription churn on the in-process bus (the embedded bus, and the Redis bus's local
// fan-out): N subscribers join one channel, or N channels one each, and then all leave, while
// a publisher thread publishes on the channel(s) at a fixed rate. Reports the CPU time of the
// joins and of the departures (this thread's, so the publisher's share is not counted) and
// the longest a publish waited for the bus. A tool, not a test.
//
//   bus_churn_bench [--subscribers 10000] [--rate 100]
#include "bus/bus.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

using namespace tickerd;
using namespace std::chrono_literals;

namespace {

struct Counter : bus::Subscriber {
    std::atomic<uint64_t> seen{0};
    void deliver(const bus::MessagePtr&) override { seen.fetch_add(1, std::memory_order_relaxed); }
};

double thread_cpu_ms() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

struct Result {
    double join_ms = 0;
    double leave_ms = 0;
    double longest_publish_ms = 0;
};

// `channels` is 1 (everyone on one channel) or `subscribers` (a channel each).
Result run(int subscribers, int channels, int rate) {
    auto bus = bus::make_embedded_bus();
    auto channel_of = [&](int i) { return "stream:market_data:S" + std::to_string(i % channels); };
    std::atomic<bool> stop{false};
    std::atomic<double> longest{0};
    std::thread publisher([&] {
        uint64_t seq = 0;
        while (!stop) {
            bus::Envelope envelope;
            envelope.symbol = "S0";
            envelope.vendor = "bench";
            envelope.data = {{"price", 1.0}};
            auto message = bus::make_message(envelope, ++seq, std::chrono::system_clock::now());
            auto start = std::chrono::steady_clock::now();
            bus->publish(message, 60s);
            double took =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
            if (took > longest) longest = took;
            std::this_thread::sleep_for(std::chrono::microseconds(1'000'000 / rate));
        }
    });
    std::vector<std::shared_ptr<Counter>> all;
    for (int i = 0; i < subscribers; ++i)
        all.push_back(std::make_shared<Counter>());
    Result result;
    double start = thread_cpu_ms();
    for (int i = 0; i < subscribers; ++i)
        bus->subscribe(channel_of(i), all[i]);
    result.join_ms = thread_cpu_ms() - start;
    std::this_thread::sleep_for(100ms);
    start = thread_cpu_ms();
    for (int i = 0; i < subscribers; ++i)
        bus->unsubscribe(channel_of(i), all[i].get());
    result.leave_ms = thread_cpu_ms() - start;
    stop = true;
    publisher.join();
    result.longest_publish_ms = longest;
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    int subscribers = 10'000;
    int rate = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        if (flag == "--subscribers") {
            subscribers = std::atoi(argv[i + 1]);
        } else if (flag == "--rate") {
            rate = std::atoi(argv[i + 1]);
        } else {
            std::fprintf(stderr, "usage: bus_churn_bench [--subscribers N] [--rate MSG_PER_S]\n");
            return 2;
        }
    }
    if (subscribers < 1 || rate < 1) return 2;
    for (int channels : {1, subscribers}) {
        auto r = run(subscribers, channels, rate);
        std::printf(
            "%d subscribers on %d channel(s), %d msg/s: join %.1f ms CPU, leave %.1f ms "
            "CPU, longest publish %.2f ms\n",
            subscribers, channels, rate, r.join_ms, r.leave_ms, r.longest_publish_ms);
    }
    return 0;
}
