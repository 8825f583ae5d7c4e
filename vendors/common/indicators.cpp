#include "indicators.hpp"

#include "json_read.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace vendorkit {

namespace json = boost::json;

namespace {

// Indicators are shown to people; six decimals keep every real digit of a price.
constexpr int kDecimals = 6;

json::value shown(const std::optional<double>& value) {
    return value ? json::value(round_to(*value, kDecimals)) : json::value(nullptr);
}

double mean(std::vector<double>::const_iterator first, std::vector<double>::const_iterator last) {
    return std::accumulate(first, last, 0.0) / static_cast<double>(last - first);
}

// Wilder's smoothing over `values`: the mean of the first n, then (avg·(n−1) + x)/n.
std::optional<double> wilder_average(const std::vector<double>& values, std::size_t n) {
    if (n == 0 || values.size() < n) return std::nullopt;
    double average = mean(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(n));
    for (std::size_t i = n; i < values.size(); ++i) {
        average = (average * static_cast<double>(n - 1) + values[i]) / static_cast<double>(n);
    }
    return average;
}

}  // namespace

std::optional<double> simple_moving_average(const std::vector<double>& closes, std::size_t n) {
    if (n == 0 || closes.size() < n) return std::nullopt;
    return mean(closes.end() - static_cast<std::ptrdiff_t>(n), closes.end());
}

std::vector<double> exponential_moving_averages(const std::vector<double>& values, std::size_t n) {
    std::vector<double> out;
    if (n == 0 || values.size() < n) return out;
    const double k = 2.0 / (static_cast<double>(n) + 1.0);
    double ema = mean(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(n));
    out.reserve(values.size() - n + 1);
    out.push_back(ema);
    for (std::size_t i = n; i < values.size(); ++i) {
        ema = values[i] * k + ema * (1 - k);
        out.push_back(ema);
    }
    return out;
}

std::optional<double> relative_strength_index(const std::vector<double>& closes, std::size_t n) {
    if (n == 0 || closes.size() < n + 1) return std::nullopt;
    std::vector<double> gains, losses;
    for (std::size_t i = 1; i < closes.size(); ++i) {
        double change = closes[i] - closes[i - 1];
        gains.push_back(std::max(change, 0.0));
        losses.push_back(std::max(-change, 0.0));
    }
    double gain = *wilder_average(gains, n);
    double loss = *wilder_average(losses, n);
    if (loss == 0) return gain == 0 ? 50.0 : 100.0;  // flat: neither side; only gains: 100
    return 100.0 - 100.0 / (1.0 + gain / loss);
}

std::optional<double> average_true_range(const std::vector<Bar>& bars, std::size_t n) {
    std::vector<double> ranges;
    for (std::size_t i = 1; i < bars.size(); ++i) {
        double previous_close = bars[i - 1].close;
        ranges.push_back(
            std::max({bars[i].high - bars[i].low, std::fabs(bars[i].high - previous_close),
                      std::fabs(bars[i].low - previous_close)}));
    }
    return wilder_average(ranges, n);
}

std::optional<Macd> macd(const std::vector<double>& closes, std::size_t fast, std::size_t slow,
                         std::size_t signal) {
    auto fast_ema = exponential_moving_averages(closes, fast);
    auto slow_ema = exponential_moving_averages(closes, slow);
    if (slow_ema.empty() || fast_ema.size() < slow_ema.size()) return std::nullopt;
    // Both series end at the last close; the MACD line exists where the slow one does.
    std::vector<double> line(slow_ema.size());
    const std::size_t offset = fast_ema.size() - slow_ema.size();
    for (std::size_t i = 0; i < slow_ema.size(); ++i)
        line[i] = fast_ema[i + offset] - slow_ema[i];
    auto signal_ema = exponential_moving_averages(line, signal);
    if (signal_ema.empty()) return std::nullopt;
    return Macd{line.back(), signal_ema.back(), line.back() - signal_ema.back()};
}

std::optional<Bollinger> bollinger(const std::vector<double>& closes, std::size_t n,
                                   double deviations) {
    auto middle = simple_moving_average(closes, n);
    if (!middle) return std::nullopt;
    double squares = 0;
    for (auto it = closes.end() - static_cast<std::ptrdiff_t>(n); it != closes.end(); ++it) {
        squares += (*it - *middle) * (*it - *middle);
    }
    double spread = deviations * std::sqrt(squares / static_cast<double>(n));
    return Bollinger{*middle + spread, *middle, *middle - spread};
}

json::object analytics(std::string_view symbol, const std::vector<Bar>& bars) {
    std::vector<double> closes;
    closes.reserve(bars.size());
    for (const auto& bar : bars)
        closes.push_back(bar.close);
    auto ema = exponential_moving_averages(closes, 10);
    auto lines = macd(closes);
    auto bands = bollinger(closes);
    auto field = [](const auto& holder, auto member) -> std::optional<double> {
        if (!holder) return std::nullopt;
        return (*holder).*member;
    };
    return json::object{
        {"symbol", symbol},
        {"as_of", bars.empty() ? json::value(nullptr) : json::value(bars.back().date)},
        {"close", bars.empty() ? json::value(nullptr) : json::value(bars.back().close)},
        {"bars", bars.size()},
        {"sma_50", shown(simple_moving_average(closes, 50))},
        {"sma_200", shown(simple_moving_average(closes, 200))},
        {"ema_10", shown(ema.empty() ? std::nullopt : std::optional<double>(ema.back()))},
        {"rsi_14", shown(relative_strength_index(closes, 14))},
        {"macd", shown(field(lines, &Macd::macd))},
        {"macd_signal", shown(field(lines, &Macd::signal))},
        {"macd_histogram", shown(field(lines, &Macd::histogram))},
        {"bollinger_upper", shown(field(bands, &Bollinger::upper))},
        {"bollinger_middle", shown(field(bands, &Bollinger::middle))},
        {"bollinger_lower", shown(field(bands, &Bollinger::lower))},
        {"atr_14", shown(average_true_range(bars, 14))},
    };
}

}  // namespace vendorkit
