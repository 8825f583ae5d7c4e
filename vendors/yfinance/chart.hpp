// The v8 chart API (/v8/finance/chart/{symbol}?range=1d&interval=1d) → market_data.
#pragma once

#include "answer.hpp"

#include <string_view>

namespace yfinance {

using vendorkit::Answer;

// `body` is the response body of a 200; `symbol` the one asked for.
Answer parse_chart(std::string_view body, std::string_view symbol);

}  // namespace yfinance
