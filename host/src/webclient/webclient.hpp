// The HTTP client the host offers to vendor plugins (tickerd_host_api.http): libcurl, run on
// the calling vendor-pool thread, never on an I/O thread. Connections are pooled and reused,
// TLS is verified, gzip and deflate are accepted, the standard proxy variables are honoured,
// and responses are capped in size.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tickerd::webclient {

struct Request {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds timeout{10000};      // the whole exchange
    std::chrono::milliseconds connect_timeout{0};  // 0 = Limits::connect_timeout
};

enum class Outcome {
    ok,         // a response arrived (any status code)
    transient,  // timeout, refused, reset, truncated, cancelled: worth retrying
    permanent,  // bad URL or request, response too large, TLS verification failed
};

struct Response {
    Outcome outcome = Outcome::permanent;
    int status = 0;
    std::string body;     // decoded
    std::string headers;  // the final response's header block ("Name: value\r\n" lines)
    std::string error;    // why, when outcome != ok
};

struct Limits {
    std::size_t max_response_bytes = 32 * 1024 * 1024;
    std::chrono::milliseconds connect_timeout{5000};
    std::size_t max_idle_handles = 16;  // pooled connections kept between requests
};

struct Counters {
    uint64_t requests = 0;
    uint64_t failures = 0;  // outcome != ok
    uint64_t bytes_received = 0;
};

class Client {
  public:
    explicit Client(Limits limits = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Blocks until the exchange completes, times out, or `cancelled()` turns true (it is
    // asked several times a second). Never throws.
    Response perform(const Request& request, const std::function<bool()>& cancelled = {});

    Counters counters() const;

  private:
    struct Pool;
    Limits limits_;
    std::unique_ptr<Pool> pool_;
    std::atomic<uint64_t> requests_{0};
    std::atomic<uint64_t> failures_{0};
    std::atomic<uint64_t> bytes_received_{0};
};

}  // namespace tickerd::webclient
