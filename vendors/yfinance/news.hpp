// The v1 search API (/v1/finance/search?q={symbol}&quotesCount=0&newsCount=N) → news.
#pragma once

#include "answer.hpp"

#include <cstddef>
#include <string_view>

namespace yfinance {

using vendorkit::Answer;

// `body` is the response body of a 200. Items come newest first, at most `max_items`.
Answer parse_news(std::string_view body, std::string_view symbol, std::size_t max_items = 20);

}  // namespace yfinance
