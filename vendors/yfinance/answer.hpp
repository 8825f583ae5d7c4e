// What a parser makes of a vendor's HTTP answer: the normalised data object, or the error
// class the scheduler should act on. Parsers never throw and never trust the input.
#pragma once

#include <tickerd/abi.h>

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>

namespace yfinance {

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

// The error class of an HTTP status that is not 200, for any Yahoo endpoint.
// `retry_after` is the Retry-After header ("" when absent).
Answer classify_http_status(int status, std::string_view retry_after);

}  // namespace yfinance
