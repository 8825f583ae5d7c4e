// The v8 chart API: /v8/finance/chart/{symbol}?range=1d&interval=1d → market_data, and
// ?range=1y&interval=1d → the daily bars analytics are computed from.
#pragma once

#include "answer.hpp"

#include <string_view>

namespace yfinance {

using vendorkit::Answer;

// `body` is the response body of a 200; `symbol` the one asked for.
Answer parse_chart(std::string_view body, std::string_view symbol);

// The analytics data object (vendorkit::analytics) from a daily chart. Bars with a null
// price are skipped; dates are the exchange's trading days (meta.gmtoffset applied).
Answer parse_analytics(std::string_view body, std::string_view symbol);

}  // namespace yfinance
