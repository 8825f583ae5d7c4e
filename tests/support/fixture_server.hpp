// A local HTTP/1.1 server standing in for a vendor: serves canned responses by path and
// misbehaves on demand (errors, delays, a slow drip, a truncated body, a dropped connection,
// a huge body, gzip). One thread accepts, one thread per connection serves keep-alive
// requests; everything is on 127.0.0.1 and bounded by the test's own timeouts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace tickerd::testing {

struct FixtureRoute {
    enum class Behaviour {
        normal,
        delay,     // wait `delay` before answering
        drip,      // send the body one byte every `delay`
        truncate,  // announce the full length, send half the body, close
        hang_up,   // close the connection without answering
        big_body,  // answer `big_body_bytes` of 'x'
        gzip,      // send the body gzip-compressed with Content-Encoding: gzip
    };
    unsigned status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    Behaviour behaviour = Behaviour::normal;
    std::chrono::milliseconds delay{0};
    std::size_t big_body_bytes = 0;
};

// What the server saw of one request.
struct SeenRequest {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
};

class FixtureServer {
  public:
    FixtureServer();  // listens on 127.0.0.1, a free port
    ~FixtureServer();
    FixtureServer(const FixtureServer&) = delete;
    FixtureServer& operator=(const FixtureServer&) = delete;

    unsigned short port() const;
    std::string url(const std::string& path) const;  // "http://127.0.0.1:P" + path

    // Answers requests whose path (without the query) is `path`; unknown paths get 404.
    // "path?name=value" answers only requests with that query parameter (Alpha Vantage's
    // functions all live at /query), ahead of a plain "path" route.
    void route(const std::string& path, FixtureRoute route);

    std::vector<SeenRequest> requests() const;
    int connections_accepted() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tickerd::testing
