// Aggregation cost per market_data message (README, "Performance"): one symbol's bars at
// the five default intervals fed N ticks a few milliseconds apart, (1) the aggregation alone
// (BarSeries + VolumeCounter), (2) with what the daemon does per bar it emits besides:
// the bar's JSON and its StreamMessage with both wire frames (bus::make_message).
//   bars_bench [ticks]   (default 1,000,000)
#include "bus/bus.hpp"
#include "scheduler/bars.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace tickerd;
using namespace tickerd::scheduler;
using Clock = std::chrono::steady_clock;

namespace {

struct Run {
    double ns_per_tick = 0;
    std::size_t bars = 0;
};

Run run(std::size_t ticks, bool build_messages) {
    auto calendar = *BarCalendar::in_zone("America/New_York");
    std::vector<BarSeries> series;
    for (const char* name : {"1m", "5m", "15m", "1h", "1d"})
        series.emplace_back(*parse_bar_interval(name), calendar);
    VolumeCounter volume;
    SysTime at(std::chrono::seconds(1764000000));
    double price = 100;
    double cumulative = 0;
    std::size_t bars = 0;
    uint64_t seq = 0;
    auto start = Clock::now();
    for (std::size_t i = 0; i < ticks; ++i) {
        at += std::chrono::milliseconds(250);
        price += (i % 7 < 3 ? 0.01 : -0.01);
        cumulative += 100;
        double traded = volume.on_report(cumulative);
        for (auto& one : series) {
            for (const auto& bar : one.on_tick(price, traded, at)) {
                ++bars;
                if (!build_messages) continue;
                bus::Derived derived{ChannelKey{bar_channel_type(one.interval().name), "AAPL"},
                                     DataType::market_data, "",
                                     to_json(bar, "AAPL", one.interval().name)};
                auto message = bus::make_message(derived, ++seq, at);
                if (message->json.empty()) std::abort();
            }
        }
    }
    auto elapsed = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    return {elapsed / static_cast<double>(ticks), bars};
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t ticks = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    auto pure = run(ticks, false);
    auto full = run(ticks / 10, true);
    std::printf("ticks: %zu, intervals: 1m 5m 15m 1h 1d\n", ticks);
    std::printf("aggregation only:              %8.1f ns per market_data message (%zu bars)\n",
                pure.ns_per_tick, pure.bars);
    std::printf("with bar JSON + StreamMessage: %8.1f ns per market_data message (%zu bars)\n",
                full.ns_per_tick, full.bars);
}
