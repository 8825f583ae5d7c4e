// Bars computed independently of the daemon from the raw market_data StreamMessages a test
// received: ticks grouped by the UTC bucket their `timestamp` falls in, OHLC and the
// update count taken per bucket, volume from differences of the cumulative `volume`
// (a drop is a new session: its whole figure; the first message has no baseline: 0).
// Sub-daily intervals only (daily bars are unit-tested with an explicit clock).
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <vector>

namespace tickerd::testing {

struct TickBar {
    double open = 0, high = 0, low = 0, close = 0, volume = 0;
    int64_t updates = 0;
    int64_t start_ms = 0, end_ms = 0;  // Unix milliseconds
};

// By start_ms. `market_data`: StreamMessages in the order they were published.
std::map<int64_t, TickBar> bars_from_ticks(const std::vector<boost::json::value>& market_data,
                                           int64_t interval_ms);

// Unix milliseconds of an ISO 8601 UTC time ("2026-11-30T10:00:02.000Z").
int64_t unix_ms_of(const boost::json::value& iso_text);

}  // namespace tickerd::testing
