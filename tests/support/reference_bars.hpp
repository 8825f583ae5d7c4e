// The analytics reference: 260 daily bars and the indicator values computed for them by an
// independent Python script (tests/fixtures/analytics/reference.py), plus the same bars
// written as each vendor would send them, so a parser and the indicators are checked
// together against numbers they did not produce.
#pragma once

#include <boost/json/object.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace tickerd::testing {

struct ReferenceBar {
    std::string date;  // "2025-01-01"
    double open, high, low, close;
};

std::vector<ReferenceBar> reference_bars();
// "all" (over every bar) or "first_30" (over the first 30).
boost::json::object expected_indicators(const std::string& which);
// Boost.Test checks: every indicator in analytics `data` matches expected_indicators(which)
// to 1e-6 (relative), and is null where the reference is.
void check_indicators(const boost::json::object& data, const std::string& which);

// A Yahoo v8 chart answer (interval=1d) holding `bars`, with one all-null bar inserted.
std::string as_yahoo_chart(const std::vector<ReferenceBar>& bars, const std::string& symbol);
// An Alpha Vantage TIME_SERIES_DAILY answer holding `bars`, newest first, prices as text.
std::string as_alphavantage_daily(const std::vector<ReferenceBar>& bars, const std::string& symbol);

}  // namespace tickerd::testing
