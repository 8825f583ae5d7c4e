// What history costs and how fast a resume replays (README, "History and resume"): the
// daemon's memory per channel of history (RSS before and after filling it), Redis's memory per
// channel (MEMORY USAGE of the stream) with --redis, and the messages per second one SSE client
// gets replayed when it resumes from the oldest message kept. A tool, not a test.
//
//   history_bench [--channels 50] [--messages 1000] [--replays 5] [--redis]
#include "support/support.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;
using namespace tickerd::testing;
namespace json = boost::json;

double rss_mb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    }
    return 0;
}

// A body the size and shape of a real quote's data (about 0.5 KB as a StreamMessage).
json::object quote_body(int n) {
    return {{"data",
             {{"price", 227.52 + n % 100 * 0.01},
              {"change", 1.25},
              {"change_percent", 0.55},
              {"volume", 41234567 + n},
              {"bid", 227.5},
              {"ask", 227.55},
              {"day_high", 229.1},
              {"day_low", 225.8},
              {"open", 226.0},
              {"previous_close", 226.27},
              {"market_cap", 3412345678901.0},
              {"currency", "USD"},
              {"exchange", "NMS"},
              {"market_state", "REGULAR"},
              {"quote_time", "2026-11-30T15:59:59.000Z"}}}};
}

std::string channel_of(int c) {
    return "stream:signals:S" + std::to_string(c);
}

}  // namespace

int main(int argc, char** argv) {
    int channels = 50, messages = 1000, replays = 5;
    bool redis = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto next = [&] { return i + 1 < argc ? std::stoi(argv[++i]) : 0; };
        if (arg == "--channels") {
            channels = next();
        } else if (arg == "--messages") {
            messages = next();
        } else if (arg == "--replays") {
            replays = next();
        } else if (arg == "--redis") {
            redis = true;
        } else {
            std::cerr << "usage: history_bench [--channels N] [--messages N] [--replays N] "
                         "[--redis]\n";
            return 2;
        }
    }
    std::unique_ptr<RedisServer> redis_server;
    EnvVars env;
    if (redis) {
        redis_server = std::make_unique<RedisServer>();
        env = {{"REDIS_ENABLED", "true"},
               {"REDIS_HOST", "127.0.0.1"},
               {"REDIS_PORT", std::to_string(redis_server->port())}};
    }
    TempDir files("tickerd-history-bench");
    DaemonOptions options;
    options.config_file =
        write_config(files, json::object{{"published_types", {"signals"}},
                                         {"history", {{"max_messages", messages}}},
                                         {"limits", {{"requests_per_minute", 0}}}});
    options.env = env;
    DaemonProcess daemon(options);
    daemon.wait_ready();
    HttpClient http("127.0.0.1", daemon.port());

    double before = rss_mb(daemon.pid());
    std::string first_id;
    std::size_t bytes = 0;
    auto filling = Clock::now();
    for (int n = 0; n < messages; ++n) {
        for (int c = 0; c < channels; ++c) {
            auto body = json::serialize(quote_body(n));
            auto reply = http.request("POST", "/streaming/publish/" + channel_of(c), body,
                                      "application/json");
            if (reply.status != 202u) {
                std::cerr << "publish refused: " << reply.status << " " << reply.body << "\n";
                return 1;
            }
            if (n == 0 && c == 0) first_id = std::string(reply.json().at("id").as_string());
        }
    }
    auto fill_seconds = std::chrono::duration<double>(Clock::now() - filling).count();
    auto sample = http.get("/streaming/latest/" + channel_of(0));
    bytes = sample.body.size();
    double after = rss_mb(daemon.pid());
    std::printf("history: %d channels x %d messages (StreamMessage %zu bytes), filled in %.1f s\n",
                channels, messages, bytes, fill_seconds);
    std::printf("daemon RSS %.1f MB -> %.1f MB: %.0f kB per channel, %.0f bytes per message\n",
                before, after, (after - before) * 1024.0 / channels,
                (after - before) * 1024.0 * 1024.0 / (static_cast<double>(channels) * messages));
    if (redis) {
        RedisClient client(redis_server->port());
        auto usage = client.call({"MEMORY", "USAGE", "tickerd:history:" + channel_of(0)});
        auto length = client.call({"XLEN", "tickerd:history:" + channel_of(0)});
        std::printf("redis: one channel's stream holds %s entries in %s bytes (%.0f per entry)\n",
                    length.c_str(), usage.c_str(), std::stod(usage) / std::stod(length));
    }

    // A client resuming from the first message gets every later one replayed.
    const auto expected = static_cast<std::size_t>(messages - 1);
    for (int r = 0; r < replays; ++r) {
        SseClient sse("127.0.0.1", daemon.port());
        auto start = Clock::now();
        auto opened = sse.open_get("/streaming/subscribe/sse?channels=" + channel_of(0) +
                                   "&last_event_id=" + first_id);
        if (opened.status != 200u) {
            std::cerr << "resume refused: " << opened.status << " " << opened.error_body << "\n";
            return 1;
        }
        std::size_t got = 0;
        while (got < expected && sse.next_data_event(std::chrono::seconds(10)))
            ++got;
        auto seconds = std::chrono::duration<double>(Clock::now() - start).count();
        std::printf("replay %d: %zu messages in %.1f ms: %.0f messages/s\n", r + 1, got,
                    seconds * 1000, static_cast<double>(got) / seconds);
    }
    return 0;
}
