// Technical indicators computed from daily bars, by the standard definitions (the ones
// StockCharts and TA-Lib document), so every vendor that can give bars gives the same
// analytics:
//   SMA n        mean of the last n closes
//   EMA n        k = 2/(n+1), seeded with the SMA of the first n closes
//   RSI 14       Wilder: first average gain/loss is the mean of the first 14 changes, then
//                avg = (avg·13 + current)/14; RSI = 100 − 100/(1 + gain/loss)
//   MACD 12/26/9 EMA12 − EMA26; signal = EMA9 of that line; histogram = MACD − signal
//   Bollinger    SMA20 ± 2 population standard deviations of the last 20 closes
//   ATR 14       Wilder-smoothed true range, seeded with the mean of the first 14
// An indicator that needs more bars than there are is null.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vendorkit {

struct Bar {
    std::string date;  // "2025-02-21", the trading day
    double open = 0;
    double high = 0;
    double low = 0;
    double close = 0;
};

std::optional<double> simple_moving_average(const std::vector<double>& closes, std::size_t n);
// The EMA series: element i is the EMA after closes[i + n - 1]; empty when too few closes.
std::vector<double> exponential_moving_averages(const std::vector<double>& values, std::size_t n);
std::optional<double> relative_strength_index(const std::vector<double>& closes, std::size_t n);
std::optional<double> average_true_range(const std::vector<Bar>& bars, std::size_t n);

struct Macd {
    double macd = 0;
    double signal = 0;
    double histogram = 0;
};
std::optional<Macd> macd(const std::vector<double>& closes, std::size_t fast = 12,
                         std::size_t slow = 26, std::size_t signal = 9);

struct Bollinger {
    double upper = 0;
    double middle = 0;
    double lower = 0;
};
std::optional<Bollinger> bollinger(const std::vector<double>& closes, std::size_t n = 20,
                                   double deviations = 2);

// The analytics data object from `bars`, oldest first (the README's analytics schema).
boost::json::object analytics(std::string_view symbol, const std::vector<Bar>& bars);

}  // namespace vendorkit
