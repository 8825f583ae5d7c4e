// The v10 quoteSummary API (/v10/finance/quoteSummary/{symbol}?modules=…&crumb=…), which
// needs the cookie + crumb handshake (session.hpp): fundamentals from the price,
// summaryProfile, summaryDetail, defaultKeyStatistics and financialData modules; insider data
// from insiderTransactions and netSharePurchaseActivity.
#pragma once

#include "answer.hpp"

#include <cstddef>
#include <string_view>

namespace yfinance {

using vendorkit::Answer;

inline constexpr std::string_view kFundamentalsModules =
    "price,summaryProfile,summaryDetail,defaultKeyStatistics,financialData";
inline constexpr std::string_view kInsiderModules = "insiderTransactions,netSharePurchaseActivity";

// `body` is the response body of a 200 (or of a 404, which names what was not found).
Answer parse_fundamentals(std::string_view body, std::string_view symbol);
// Transactions newest first, at most `max_items`.
Answer parse_insider(std::string_view body, std::string_view symbol, std::size_t max_items = 50);

// The v7 quote API (/v7/finance/quote?symbols={symbol}&crumb=…), behind the same handshake:
// market_data with the day's change as Yahoo computes it. An unknown symbol is simply left
// out of the result.
Answer parse_quote(std::string_view body, std::string_view symbol);

}  // namespace yfinance
