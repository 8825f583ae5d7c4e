// Internal to alerts/: one webhook's sender. Alerts wait in a bounded queue (the oldest is
// dropped when it is full) and are POSTed in order by a thread of the sender's own; a
// failure (no answer, 5xx, 408, 429) is retried after 1 s, 2 s, 4 s … up to the settings'
// maximum, a 4xx that retrying cannot mend is given up. Every outcome is counted.
#pragma once

#include "core/backoff.hpp"
#include "core/model.hpp"
#include "webclient/webclient.hpp"

#include <boost/json/object.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace tickerd::alerts::detail {

class WebhookSender {
  public:
    WebhookSender(WebhookSettings settings, std::string secret, std::size_t queue_limit,
                  std::chrono::seconds max_backoff);
    ~WebhookSender();  // stop()
    WebhookSender(const WebhookSender&) = delete;
    WebhookSender& operator=(const WebhookSender&) = delete;

    bool wants(std::string_view rule) const;
    void send(std::string body);  // any thread
    // Ends the thread (a request in flight is cancelled); returns how many were still queued.
    std::size_t stop();

    struct Counts {
        uint64_t delivered = 0;
        uint64_t failed_attempts = 0;  // retried
        uint64_t rejected = 0;         // a 4xx: given up
        uint64_t dropped = 0;          // the queue was full
        std::size_t queued = 0;
    };
    Counts counts() const;
    boost::json::object status() const;  // the URL (without credentials or query), counts, last
    const std::string& shown_url() const { return shown_url_; }

  private:
    struct Queued {
        uint64_t number;
        std::string body;
    };
    struct Outcome {
        std::chrono::system_clock::time_point at;
        int status = 0;     // 0: no answer
        std::string error;  // empty when delivered
    };
    void run();
    webclient::Response post(const std::string& body);
    // Counts the outcome of the queue's head; true when it leaves the queue.
    bool settle(uint64_t number, const webclient::Response& response);

    const WebhookSettings settings_;
    const std::string secret_;
    const std::string shown_url_;
    const std::size_t queue_limit_;
    webclient::Client client_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Queued> queue_;
    uint64_t next_number_ = 0;
    bool stopping_ = false;
    int failures_in_a_row_ = 0;
    Backoff backoff_;  // between the head's attempts
    Counts counts_;
    std::optional<Outcome> last_;
    std::thread thread_;
};

// "https://hooks.example.com/tickerd": a URL as logs and GET / show it, without a user,
// password or query (which may hold a token).
std::string shown_url(const std::string& url);

}  // namespace tickerd::alerts::detail
