// GLOBAL_QUOTE (/query?function=GLOBAL_QUOTE&symbol=…) → market_data.
#pragma once

#include "envelope.hpp"

#include <string_view>

namespace alphavantage {

// `body` is the response body of a 200 (limits and errors arrive as 200s too).
Answer parse_global_quote(std::string_view body, std::string_view symbol);

}  // namespace alphavantage
