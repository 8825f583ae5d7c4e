// Daemons on Redis for the Redis, replica and cluster tests: one polling AAPL with the mock
// vendor (or serving it, as an edge), an SSE client recording the seq of what it reads, and
// the "redis" part of GET /.
#pragma once

#include "support/clients.hpp"
#include "support/daemon.hpp"
#include "support/messages.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tickerd::testing {

inline const std::string kRedisTestChannel = "stream:market_data:AAPL";

// A daemon in `role` with the mock vendor polling AAPL every `interval` seconds, on the Redis
// that `redis_env` names (REDIS_ENABLED is added), once it is ready.
std::unique_ptr<DaemonProcess> start_redis_daemon(const TempDir& files, EnvVars redis_env,
                                                  const std::string& role, double interval);
// The same on `redis`'s host and port.
std::unique_ptr<DaemonProcess> start_redis_daemon(const TempDir& files, const RedisServer& redis,
                                                  const std::string& role = "all",
                                                  double interval = 0.2);

// GET /'s "redis" object.
boost::json::object redis_status(HttpClient& http);

// Where a client's seqs are not each its predecessor's + 1, as text ("" when nowhere).
std::string seq_gaps(const std::vector<int64_t>& seqs);

// An SSE client on kRedisTestChannel that records the seq of each message it reads.
struct SeqStream {
    SseClient sse;
    std::vector<int64_t> seqs;

    explicit SeqStream(unsigned short port);
    // Reads until `done()` or `timeout`; returns done().
    template <typename Done>
    bool receive_until(Done done, std::chrono::milliseconds timeout);
    std::string gaps() const { return seq_gaps(seqs); }
};

}  // namespace tickerd::testing

template <typename Done>
bool tickerd::testing::SeqStream::receive_until(Done done, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < until) {
        if (auto event = sse.next_data_event(std::chrono::milliseconds(500)))
            seqs.push_back(seq_of(event->json()));
    }
    return done();
}
