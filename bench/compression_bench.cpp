// Bytes on the wire with and without compression (README, "Compression on the wire"): the
// daemon runs the mock vendor for market_data and news; the tool collects their messages from
// an SSE stream, then sizes each message's frame as the daemon sends it — plain, compressed on
// its own (what tickerd sends: permessage-deflate without context takeover, and its gzip SSE
// runs), and through one compressor per connection (what a peer keeping context per client
// would send) — and the CPU time of compressing one message. A tool, not a test.
//
//   compression_bench [--messages 500]
#include "gateway/deflate.hpp"
#include "gateway/views.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

namespace {

using namespace tickerd;
using namespace tickerd::testing;
namespace json = boost::json;

// One compressor kept across messages (context takeover), flushed after each.
class ContextCompressor {
  public:
    ContextCompressor() {
        deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    }
    ~ContextCompressor() { deflateEnd(&stream_); }
    std::size_t size_of(const std::string& text) {
        std::string out(deflateBound(&stream_, text.size()) + 64, '\0');
        stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
        stream_.avail_in = static_cast<uInt>(text.size());
        stream_.next_out = reinterpret_cast<Bytef*>(out.data());
        stream_.avail_out = static_cast<uInt>(out.size());
        ::deflate(&stream_, Z_SYNC_FLUSH);
        return out.size() - stream_.avail_out;
    }

  private:
    z_stream stream_{};
};

struct Sizes {
    std::size_t messages = 0, plain = 0, alone = 0, context = 0;
    double seconds = 0;  // compressing them alone
};

}  // namespace

int main(int argc, char** argv) {
    std::size_t wanted = 500;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string(argv[i]) == "--messages") wanted = std::stoul(argv[++i]);
    }
    TempDir files("tickerd-compression-bench");
    json::array instruments;
    for (const char* symbol : {"AAPL", "MSFT", "NVDA", "AMZN", "GOOG"})
        instruments.push_back({{"symbol", symbol}, {"data_types", {"market_data", "news"}}});
    json::object config{
        {"vendors", mock_vendors()},
        {"instruments", instruments},
        {"cadences",
         {{"market_data", {{"interval_seconds", 0.05}}}, {"news", {{"interval_seconds", 0.05}}}}}};
    auto daemon = start_daemon_with_config(files, config, kAutoStartWorkers);
    SseClient sse("127.0.0.1", daemon->port());
    if (sse.open_get("/streaming/subscribe/sse?data_types=market_data,news&symbols=AAPL,MSFT,"
                     "NVDA,AMZN,GOOG")
            .status != 200u) {
        std::fprintf(stderr, "cannot subscribe\n");
        return 1;
    }
    std::map<std::string, std::vector<bus::MessagePtr>> by_type;
    while (by_type["market_data"].size() < wanted || by_type["news"].size() < wanted) {
        auto event = sse.next_data_event(std::chrono::seconds(10));
        if (!event) {
            std::fprintf(stderr, "the stream stopped\n");
            return 1;
        }
        auto message = bus::message_from_json(*event->data);
        if (!message) continue;
        auto type = text_at(event->json(), "/data_type");
        if (by_type[type].size() < wanted) by_type[type].push_back(*message);
    }

    std::printf("%zu messages of each type, mock vendor, 5 symbols\n\n", wanted);
    std::printf("%-12s %-5s %12s %12s %8s %14s %8s %12s\n", "data type", "frame", "plain B/msg",
                "alone B/msg", "saved", "context B/msg", "saved", "µs/compress");
    for (const auto& [type, messages] : by_type) {
        for (const char* frame : {"ws", "sse"}) {
            Sizes sizes;
            ContextCompressor context;
            for (const auto& message : messages) {
                const std::string& text =
                    std::string(frame) == "ws" ? message->ws_frame : message->sse_frame;
                auto start = std::chrono::steady_clock::now();
                auto alone = gateway::deflate::compress_alone(text);
                sizes.seconds +=
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                ++sizes.messages;
                sizes.plain += text.size();
                // permessage-deflate leaves the sync flush's 4-byte tail off; gzip SSE keeps it.
                sizes.alone += alone.size() - (std::string(frame) == "ws" ? 4 : 0);
                sizes.context += context.size_of(text) - (std::string(frame) == "ws" ? 4 : 0);
            }
            auto per = [&](std::size_t total) {
                return static_cast<double>(total) / static_cast<double>(sizes.messages);
            };
            std::printf("%-12s %-5s %12.0f %12.0f %7.0f%% %14.0f %7.0f%% %12.1f\n", type.c_str(),
                        frame, per(sizes.plain), per(sizes.alone),
                        100.0 * (1.0 - per(sizes.alone) / per(sizes.plain)), per(sizes.context),
                        100.0 * (1.0 - per(sizes.context) / per(sizes.plain)),
                        sizes.seconds * 1e6 / static_cast<double>(sizes.messages));
        }
    }

    // Deltas (mode=delta, a snapshot every 50) as the daemon makes them, per channel: the
    // StreamMessage bytes, and compressed alone as the wire carries them.
    std::printf("\n%-12s %16s %16s %8s %22s\n", "data type", "full B/msg", "delta-mode B/msg",
                "saved", "delta+deflate B/msg");
    for (const auto& [type, messages] : by_type) {
        std::map<std::string, json::object> previous;
        std::map<std::string, int> since_snapshot;
        std::size_t full = 0, delta = 0, delta_deflated = 0;
        for (const auto& message : messages) {
            auto body = json::parse(message->json).as_object();
            auto data = body.at("data").as_object();
            full += message->json.size();
            auto& count = since_snapshot[message->channel];
            auto before = previous.find(message->channel);
            std::optional<json::object> patch;
            if (before != previous.end() && ++count < 50)
                patch = gateway::merge_patch(before->second, data);
            if (patch) {
                body["data"] = *patch;
                body["update_type"] = "delta";
            } else {
                count = 0;
            }
            previous[message->channel] = data;
            auto text = json::serialize(body);
            delta += text.size();
            delta_deflated += gateway::deflate::compress_alone(text).size() - 4;
        }
        auto n = static_cast<double>(messages.size());
        std::printf("%-12s %16.0f %16.0f %7.0f%% %22.0f\n", type.c_str(), full / n, delta / n,
                    100.0 * (1.0 - static_cast<double>(delta) / static_cast<double>(full)),
                    delta_deflated / n);
    }
    return 0;
}
