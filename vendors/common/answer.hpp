// Shared by the vendor plugins: what a parser makes of a vendor's HTTP answer (the normalised
// data object, or the error class the scheduler should act on), and the small pieces every
// HTTP vendor needs. Parsers never throw and never trust the input.
#pragma once

#include <tickerd/plugin.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace vendorkit {

struct Answer {
    tickerd_status status = TICKERD_E_PERMANENT;
    boost::json::object data;  // when status == TICKERD_OK
    std::string message;       // when it is not
    int64_t retry_after_ms = 0;

    static Answer ok(boost::json::object data) { return {TICKERD_OK, std::move(data), {}, 0}; }
    static Answer error(tickerd_status status, std::string message, int64_t retry_after_ms = 0) {
        return {status, {}, std::move(message), retry_after_ms};
    }
};

// The error class of an HTTP status other than 200: 429 rate-limited (for Retry-After seconds,
// a minute when absent), 401/403 auth, 404 not found, 5xx and 408 transient, else permanent.
Answer classify_http_status(int status, std::string_view retry_after);

// Percent-encodes everything but unreserved characters, for symbols such as ^GSPC, EURUSD=X
// in paths and queries.
std::string percent_encoded(std::string_view text);

// The plugin's answer to the host: serialised data, or the error with its class.
tickerd::sdk::Outcome to_outcome(Answer answer, std::string_view vendor, int http_status);

}  // namespace vendorkit
