// A synchronous HTTP/1.1 client over Boost.Beast, plain or TLS, where every wait (resolving,
// connecting, the TLS handshake, writing, reading the answer) has the configured timeout.
// One connection per request: a command makes one or two, so keep-alive would buy nothing.
#pragma once

#include "connection.hpp"
#include "failure.hpp"

#include <boost/beast/http/verb.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tickerctl {

struct Response {
    unsigned status = 0;
    std::string reason;
    std::string body;

    bool ok() const { return status >= 200 && status < 300; }
};

// How a stream ended.
enum class StreamEnd {
    reader_done,   // the reader asked to stop (tail --count)
    interrupted,   // SIGINT or SIGTERM (Ctrl-C)
    server_ended,  // the daemon closed the stream, or answered with an error status
};

struct StreamResult {
    Response response;  // the status; the body only when it is not 200
    StreamEnd end;
};

// Receives each piece of a stream's body as it arrives; returns false to stop reading.
using BodyReader = std::function<bool(std::string_view)>;

class HttpClient {
  public:
    explicit HttpClient(ConnectionSettings settings);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // `path` is below the URL's base path ("/streaming/channels"); `body` is JSON. Any
    // answer is a Response (an error status included); no answer is an `unreachable` failure.
    Outcome<Response> request(boost::beast::http::verb method, std::string_view path,
                              std::string body = {});

    // A GET whose 200 answer is read as a stream: no timeout on the body (only on connecting
    // and on the answer's head), each piece to `reader`, until it returns false, the daemon
    // ends the stream, or SIGINT/SIGTERM arrives.
    Outcome<StreamResult> stream(std::string_view path, const BodyReader& reader);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Percent-encodes everything but RFC 3986's unreserved characters (for a path segment or a
// query value).
std::string percent_encode(std::string_view text);

}  // namespace tickerctl
