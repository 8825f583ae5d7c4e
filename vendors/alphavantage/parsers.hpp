// The Alpha Vantage functions tickerd reads, each from the body of an HTTP 200 (limits and
// errors arrive as 200s too, and map to their classes through envelope_error):
//   GLOBAL_QUOTE          → market_data
//   NEWS_SENTIMENT        → news (with Alpha Vantage's sentiment per item)
//   OVERVIEW              → fundamentals
//   INSIDER_TRANSACTIONS  → insider_data
//   TIME_SERIES_DAILY     → analytics, computed here (one request instead of one per indicator)
//   SMA, RSI, … (indicator functions) → the latest reading; fills SMA 200 when the free
//                           100-day series is too short for it
#pragma once

#include "envelope.hpp"

#include <cstddef>
#include <string_view>

namespace alphavantage {

Answer parse_global_quote(std::string_view body, std::string_view symbol);
// Items newest first, at most `max_items`; each item's sentiment is the one Alpha Vantage
// gives for `symbol`, else the item's overall sentiment.
Answer parse_news_sentiment(std::string_view body, std::string_view symbol,
                            std::size_t max_items = 20);
Answer parse_overview(std::string_view body, std::string_view symbol);
// Transactions newest first, at most `max_items`.
Answer parse_insider_transactions(std::string_view body, std::string_view symbol,
                                  std::size_t max_items = 50);
// Also takes TIME_SERIES_DAILY_ADJUSTED (same keys, more of them).
Answer parse_daily_series(std::string_view body, std::string_view symbol);
// {symbol, indicator ("SMA"), interval, time_period, series_type, as_of, value}.
Answer parse_technical_indicator(std::string_view body, std::string_view symbol);

}  // namespace alphavantage
