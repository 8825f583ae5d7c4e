#include "alerts/webhook_sender.hpp"

#include "alerts/alerts.hpp"
#include "core/log.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>

namespace tickerd::alerts {

std::string signature(std::string_view secret, std::string_view body) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac.data(), &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "sha256=";
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[mac[i] >> 4];
        out += kHex[mac[i] & 0xf];
    }
    return out;
}

namespace detail {

namespace json = boost::json;

namespace {

constexpr std::chrono::milliseconds kRequestTimeout{10000};

// Worth trying again: no answer, the server's trouble, or asked to come back later.
bool retryable(const webclient::Response& response) {
    if (response.outcome != webclient::Outcome::ok)
        return response.outcome != webclient::Outcome::permanent;
    int status = response.status;
    return status >= 500 || status == 408 || status == 429;
}

bool delivered(const webclient::Response& response) {
    return response.outcome == webclient::Outcome::ok && response.status >= 200 &&
           response.status < 300;
}

std::string describe(const webclient::Response& response) {
    if (response.outcome != webclient::Outcome::ok) return response.error;
    return "HTTP " + std::to_string(response.status);
}

}  // namespace

std::string shown_url(const std::string& url) {
    auto scheme_end = url.find("://");
    std::size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
    std::string shown = url.substr(0, host_start);
    std::string rest = url.substr(host_start);
    rest = rest.substr(0, rest.find_first_of("?#"));
    auto path_start = rest.find('/');
    auto authority = rest.substr(0, path_start);
    if (auto at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
    shown += authority;
    if (path_start != std::string::npos) shown += rest.substr(path_start);
    return shown;
}

WebhookSender::WebhookSender(WebhookSettings settings, std::string secret, std::size_t queue_limit,
                             std::chrono::seconds max_backoff)
    : settings_(std::move(settings)),
      secret_(std::move(secret)),
      shown_url_(detail::shown_url(settings_.url)),
      queue_limit_(std::max<std::size_t>(queue_limit, 1)),
      client_(webclient::Limits{1024 * 1024, std::chrono::milliseconds(5000), 2}),
      backoff_(std::chrono::seconds(1), max_backoff) {
    thread_ = std::thread([this] { run(); });
}

WebhookSender::~WebhookSender() {
    stop();
}

bool WebhookSender::wants(std::string_view rule) const {
    return matches(settings_.rules, rule);
}

void WebhookSender::send(std::string body) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        if (queue_.size() >= queue_limit_) {
            queue_.pop_front();
            ++counts_.dropped;
            BOOST_LOG_TRIVIAL(warning)
                << "alerts: webhook " << shown_url_ << ": " << queue_limit_
                << " alerts waiting, the oldest dropped (alerts.webhook_queue)";
        }
        queue_.push_back({next_number_++, std::move(body)});
    }
    wake_.notify_one();
}

std::size_t WebhookSender::stop() {
    std::size_t left = 0;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        left = queue_.size();
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    return left;
}

WebhookSender::Counts WebhookSender::counts() const {
    std::lock_guard lock(mutex_);
    auto counts = counts_;
    counts.queued = queue_.size();
    return counts;
}

json::object WebhookSender::status() const {
    auto counts = this->counts();
    json::array rules;
    for (const auto& rule : settings_.rules)
        rules.emplace_back(rule);
    json::value last = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (last_) {
            json::object outcome{{"at", iso8601_utc(last_->at)}};
            outcome["status"] =
                last_->status == 0 ? json::value(nullptr) : json::value(last_->status);
            outcome["error"] =
                last_->error.empty() ? json::value(nullptr) : json::value(last_->error);
            last = std::move(outcome);
        }
    }
    return {{"url", shown_url_},
            {"rules", std::move(rules)},
            {"queued", counts.queued},
            {"delivered", counts.delivered},
            {"failed_attempts", counts.failed_attempts},
            {"rejected", counts.rejected},
            {"dropped", counts.dropped},
            {"last", std::move(last)}};
}

webclient::Response WebhookSender::post(const std::string& body) {
    webclient::Request request;
    request.method = "POST";
    request.url = settings_.url;
    request.body = body;
    request.timeout = kRequestTimeout;
    request.headers = {{"Content-Type", "application/json"},
                       {"User-Agent", "tickerd/" TICKERD_VERSION},
                       {"X-Tickerd-Signature", signature(secret_, body)}};
    return client_.perform(request, [this] {
        std::lock_guard lock(mutex_);
        return stopping_;
    });
}

void WebhookSender::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        auto head = queue_.front();  // a copy: the queue may drop it meanwhile
        lock.unlock();
        auto response = post(head.body);
        lock.lock();
        if (stopping_) return;
        if (settle(head.number, response)) continue;
        // About 1 s, 2 s, 4 s … up to the maximum; only a stop cuts the wait short.
        wake_.wait_for(lock, backoff_.next(), [this] { return stopping_; });
    }
}

bool WebhookSender::settle(uint64_t number, const webclient::Response& response) {
    auto now = std::chrono::system_clock::now();
    bool ok = delivered(response);
    last_ = Outcome{now, response.outcome == webclient::Outcome::ok ? response.status : 0,
                    ok ? std::string() : describe(response)};
    bool retry = !ok && retryable(response);
    if (ok) {
        ++counts_.delivered;
        if (failures_in_a_row_ > 0) {
            BOOST_LOG_TRIVIAL(info) << "alerts: webhook " << shown_url_ << " delivers again after "
                                    << failures_in_a_row_ << " failed attempt(s)";
        }
        failures_in_a_row_ = 0;
        backoff_.reset();
    } else if (retry) {
        ++counts_.failed_attempts;
        ++failures_in_a_row_;
        // Logged at the 1st, 2nd, 4th, 8th … failure in a row, so a dead receiver cannot
        // flood the log.
        if ((failures_in_a_row_ & (failures_in_a_row_ - 1)) == 0) {
            BOOST_LOG_TRIVIAL(warning)
                << "alerts: webhook " << shown_url_ << ": " << describe(response) << " ("
                << failures_in_a_row_ << " failed attempt(s) in a row; retrying)";
        }
        return false;
    } else {
        ++counts_.rejected;
        failures_in_a_row_ = 0;
        backoff_.reset();
        BOOST_LOG_TRIVIAL(warning) << "alerts: webhook " << shown_url_ << " refused an alert ("
                                   << describe(response) << "); not retried";
    }
    if (!queue_.empty() && queue_.front().number == number) queue_.pop_front();
    return true;
}

}  // namespace detail

}  // namespace tickerd::alerts
