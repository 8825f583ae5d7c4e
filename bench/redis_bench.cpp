// Publish throughput through Redis: the Redis bus (PUBLISH + SET latest:… EX per message,
// pipelined) against redis-benchmark publishing the same payload size on the same
// redis-server in the same run (`redis-benchmark … publish CHANNEL PAYLOAD`; 7.0 has no
// built-in publish test).
// A tool, not a test.
//
//   redis_bench [--messages 200000] [--size 400] [--pipeline 16] [--clients 1] [--history 1000]
//
// --history N: the bus also XADDs each message to its channel's history stream, trimmed to
// about N (0: no history), as the daemon does with history.max_messages.
//
// It starts its own redis-server (tests/support). redis-benchmark runs with the same
// payload size and the given pipeline depth and client count; the bus uses one publisher
// connection, as the daemon does.
#include "bus/bus.hpp"
#include "support/daemon.hpp"
#include "support/redis_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

namespace asio = boost::asio;
using namespace tickerd;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

std::string run(const std::string& command) {
    std::string output;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[512];
        while (std::fgets(buffer, sizeof buffer, pipe))
            output += buffer;
        ::pclose(pipe);
    }
    return output;
}

// redis-benchmark -q ends with "publish bench xxx…: 354609.94 requests per second, …".
double requests_per_second(const std::string& output) {
    auto end = output.rfind(" requests per second");
    if (end == std::string::npos) return 0;
    auto start = output.rfind(' ', end - 1);
    return std::atof(output.c_str() + start + 1);
}

// `count` messages of about `size` bytes on 100 channels, built before timing starts.
std::vector<bus::MessagePtr> messages(int count, int size) {
    std::vector<bus::MessagePtr> out;
    out.reserve(static_cast<std::size_t>(count));
    auto now = std::chrono::system_clock::now();
    std::string padding(static_cast<std::size_t>(std::max(size - 330, 0)), 'x');
    for (int i = 0; i < count; ++i) {
        bus::Envelope envelope{DataType::market_data,
                               "SYM" + std::to_string(i % 100),
                               "bench",
                               {{"price", 100.0 + i % 7}, {"note", padding}},
                               0,
                               false,
                               1.0,
                               ""};
        out.push_back(bus::make_message(envelope, static_cast<uint64_t>(i / 100 + 1), now));
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    int count = 200000, size = 400, pipeline = 16, clients = 1, history = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        int value = std::stoi(argv[i + 1]);
        if (flag == "--messages")
            count = value;
        else if (flag == "--size")
            size = value;
        else if (flag == "--pipeline")
            pipeline = value;
        else if (flag == "--clients")
            clients = value;
        else if (flag == "--history")
            history = value;
        else {
            std::cerr << "usage: redis_bench [--messages N] [--size BYTES] [--pipeline N] "
                         "[--clients N] [--history N]\n";
            return 2;
        }
    }
    testing::RedisServer redis;
    auto port = std::to_string(redis.port());
    auto reference =
        run("redis-benchmark -h 127.0.0.1 -p " + port + " -q -n " + std::to_string(count) + " -P " +
            std::to_string(pipeline) + " -c " + std::to_string(clients) + " publish bench " +
            std::string(static_cast<std::size_t>(size), 'x') + " 2>&1");
    double reference_rate = requests_per_second(reference);

    auto batch = messages(count, size);
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread thread([&] { io.run(); });
    bus::RedisBusOptions options;
    options.address.host = "127.0.0.1";
    options.address.port = redis.port();
    options.buffer_limit = static_cast<std::size_t>(count) + 1;
    options.history.max_messages = static_cast<std::size_t>(history);
    auto redis_bus = bus::make_redis_bus(io, options);
    redis_bus->start();
    auto ready_by = Clock::now() + 10s;
    while (!redis_bus->health().connected && Clock::now() < ready_by)
        std::this_thread::sleep_for(10ms);

    double cpu_before = tickerd::testing::own_cpu_seconds();
    auto start = Clock::now();
    for (const auto& message : batch)
        redis_bus->publish(message, std::chrono::seconds(300));
    while (redis_bus->health().published < static_cast<uint64_t>(count) &&
           Clock::now() - start < 120s)
        std::this_thread::sleep_for(1ms);
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu = tickerd::testing::own_cpu_seconds() - cpu_before;
    auto published = redis_bus->health().published;
    redis_bus->stop();
    work.reset();
    io.stop();
    thread.join();

    std::printf("redis-benchmark publish, %d-byte payload, -P %d -c %d: %.0f PUBLISH/s\n", size,
                pipeline, clients, reference_rate);
    std::printf(
        "tickerd Redis bus, %llu messages of %zu bytes on 100 channels, history %d: "
        "%.0f messages/s, %.1f us CPU per message in tickerd\n",
        static_cast<unsigned long long>(published), batch.front()->json.size(), history,
        static_cast<double>(published) / elapsed, cpu / static_cast<double>(published) * 1e6);
    if (reference_rate > 0) {
        std::printf(
            "ratio: %.0f %% of redis-benchmark's PUBLISH rate (tickerd also stores "
            "latest: with one SET per channel per batch)\n",
            100.0 * static_cast<double>(published) / elapsed / reference_rate);
    }
}
