#include "answer.hpp"

#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <charconv>

namespace vendorkit {

namespace {

// Vendors rarely say how long; a minute is what clients that respect limits settle on.
constexpr int64_t kDefaultRetryAfterMs = 60'000;

int64_t retry_after_ms(std::string_view header) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
    if (ec != std::errc() || end == header.data() || seconds <= 0) return kDefaultRetryAfterMs;
    return std::min<int64_t>(seconds, 3600) * 1000;
}

}  // namespace

Answer classify_http_status(int status, std::string_view retry_after) {
    std::string what = "HTTP " + std::to_string(status);
    if (status == 429)
        return Answer::error(TICKERD_E_RATE_LIMITED, what, retry_after_ms(retry_after));
    if (status == 401 || status == 403) return Answer::error(TICKERD_E_AUTH, what);
    if (status == 404) return Answer::error(TICKERD_E_NOT_FOUND, what);
    if (status >= 500 || status == 408) return Answer::error(TICKERD_E_TRANSIENT, what);
    return Answer::error(TICKERD_E_PERMANENT, what);
}

std::string percent_encoded(std::string_view text) {
    return boost::urls::encode(text, boost::urls::unreserved_chars);
}

tickerd::sdk::Outcome to_outcome(Answer answer, std::string_view vendor, int http_status) {
    using tickerd::sdk::Outcome;
    Outcome outcome =
        answer.status == TICKERD_OK
            ? Outcome::ok(boost::json::serialize(answer.data))
            : Outcome::error(answer.status, std::string(vendor) + ": " + answer.message);
    outcome.retry_after_ms = answer.retry_after_ms;
    outcome.http_status = http_status;
    return outcome;
}

}  // namespace vendorkit
