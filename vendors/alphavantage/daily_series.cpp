// TIME_SERIES_DAILY(_ADJUSTED): {"Meta Data": {…}, "Time Series (Daily)": {"2023-11-10":
// {"1. open": "147.4400", "2. high": …, "4. close": …}, …}}, newest first, prices as strings
// (padded to four decimals in older answers, not in newer ones). Analytics use the raw
// close, as the indicators' definitions do.
#include "parsers.hpp"

#include "indicators.hpp"
#include "json_read.hpp"

#include <algorithm>

namespace alphavantage {

namespace json = boost::json;

namespace {

std::optional<vendorkit::Bar> bar(std::string_view day, const json::value& value) {
    if (day.size() != 10 || day[4] != '-' || day[7] != '-' || !value.is_object()) {
        return std::nullopt;
    }
    const auto& fields = value.get_object();
    auto open = vendorkit::number_in_text(fields.if_contains("1. open"));
    auto high = vendorkit::number_in_text(fields.if_contains("2. high"));
    auto low = vendorkit::number_in_text(fields.if_contains("3. low"));
    auto close = vendorkit::number_in_text(fields.if_contains("4. close"));
    if (!open || !high || !low || !close) return std::nullopt;
    return vendorkit::Bar{std::string(day), *open, *high, *low, *close};
}

}  // namespace

Answer parse_daily_series(std::string_view body, std::string_view symbol) {
    auto root = answer_root(body, "TIME_SERIES_DAILY");
    if (auto* error = std::get_if<Answer>(&root)) return std::move(*error);
    const auto* series = vendorkit::object_at(std::get<json::object>(root), "Time Series (Daily)");
    if (!series) return Answer::error(TICKERD_E_TRANSIENT, "TIME_SERIES_DAILY: no daily series");
    std::vector<vendorkit::Bar> bars;
    for (const auto& [day, value] : *series) {
        if (auto parsed = bar(day, value)) bars.push_back(std::move(*parsed));
    }
    if (bars.empty()) return Answer::error(TICKERD_E_NOT_FOUND, "TIME_SERIES_DAILY: no bars");
    std::sort(bars.begin(), bars.end(),
              [](const auto& a, const auto& b) { return a.date < b.date; });
    bars.erase(std::unique(bars.begin(), bars.end(),
                           [](const auto& a, const auto& b) { return a.date == b.date; }),
               bars.end());
    return Answer::ok(vendorkit::analytics(symbol, bars));
}

}  // namespace alphavantage
