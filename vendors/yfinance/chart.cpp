// Yahoo's chart answer keeps the live quote in `meta` and the day's bars in `indicators`.
// What real answers contain (see ../shared/fixtures/yahoo): bars that are all null, no
// `timestamp` key at all on days without trading, `quote: [{}]`, float32 noise such as
// 225.6999969482422, `previousClose` only sometimes, and errors as {"chart": {"error": …}}.
#include "chart.hpp"

#include "envelope.hpp"
#include "indicators.hpp"
#include "json_read.hpp"

#include <algorithm>
#include <cmath>
#include <variant>

namespace yfinance {

namespace json = boost::json;
using namespace vendorkit;

namespace {

// The open of the newest bar that has one (the day's open with interval=1d).
json::value latest_open(const json::object& result) {
    const auto* quotes = array_at(result, "indicators", "quote");
    if (!quotes || quotes->empty() || !(*quotes)[0].is_object()) return nullptr;
    const auto* opens = (*quotes)[0].get_object().if_contains("open");
    if (!opens || !opens->is_array()) return nullptr;
    const auto& values = opens->get_array();
    for (auto it = values.rbegin(); it != values.rend(); ++it) {
        if (auto open = number(*it)) return *open;
    }
    return nullptr;
}

// The trading day of a bar: its Unix time moved into the exchange's zone.
std::string trading_day(double unix_seconds, double gmt_offset_seconds) {
    json::value local_time = unix_seconds + gmt_offset_seconds;
    auto day = unix_seconds_to_iso(&local_time);
    return day.is_string() ? std::string(day.get_string().subview(0, 10)) : std::string();
}

std::vector<Bar> daily_bars(const json::object& result) {
    std::vector<Bar> bars;
    const auto* times = array_at(result, "timestamp");
    const auto* quotes = array_at(result, "indicators", "quote");
    if (!times || !quotes || quotes->empty() || !(*quotes)[0].is_object()) return bars;
    const auto& quote = (*quotes)[0].get_object();
    const auto* opens = array_at(quote, "open");
    const auto* highs = array_at(quote, "high");
    const auto* lows = array_at(quote, "low");
    const auto* closes = array_at(quote, "close");
    if (!opens || !highs || !lows || !closes) return bars;
    const auto* meta = object_at(result, "meta");
    double offset = meta ? number(meta->if_contains("gmtoffset")).value_or(0) : 0;
    std::size_t n =
        std::min({times->size(), opens->size(), highs->size(), lows->size(), closes->size()});
    for (std::size_t i = 0; i < n; ++i) {
        auto time = number((*times)[i]);
        auto open = number((*opens)[i]);
        auto high = number((*highs)[i]);
        auto low = number((*lows)[i]);
        auto close = number((*closes)[i]);
        if (!time || !open || !high || !low || !close) continue;  // a bar Yahoo left empty
        auto day = trading_day(*time, offset);
        if (!bars.empty() && day <= bars.back().date) continue;  // out of order or repeated
        bars.push_back({day, *open, *high, *low, *close});
    }
    return bars;
}

}  // namespace

Answer parse_analytics(std::string_view body, std::string_view symbol) {
    json::value root;
    auto found = first_result(body, root, "chart", "chart", symbol);
    if (auto* error = std::get_if<Answer>(&found)) return std::move(*error);
    auto bars = daily_bars(*std::get<const json::object*>(found));
    if (bars.empty()) return Answer::error(TICKERD_E_NOT_FOUND, "chart: no daily bars");
    return Answer::ok(analytics(symbol, bars));
}

Answer parse_chart(std::string_view body, std::string_view symbol) {
    json::value root;
    auto found = first_result(body, root, "chart", "chart", symbol);
    if (auto* error = std::get_if<Answer>(&found)) return std::move(*error);
    const auto& result = *std::get<const json::object*>(found);
    const auto* meta = object_at(result, "meta");
    if (!meta) return Answer::error(TICKERD_E_TRANSIENT, "chart: no 'meta' in the result");
    auto price = number(meta->if_contains("regularMarketPrice"));
    if (!price) return Answer::error(TICKERD_E_TRANSIENT, "chart: no regularMarketPrice");

    int decimals = price_decimals(meta->if_contains("priceHint"));
    *price = round_to(*price, decimals);  // change and change_percent from what is shown
    auto previous_close = number(meta->if_contains("previousClose"));
    if (!previous_close) previous_close = number(meta->if_contains("chartPreviousClose"));
    json::value change = nullptr, change_percent = nullptr;
    if (previous_close && *previous_close != 0) {
        change = round_to(*price - *previous_close, decimals);
        change_percent = round_to((*price - *previous_close) / *previous_close * 100, 4);
    }
    std::string exchange = text(*meta, "fullExchangeName");
    if (exchange.empty()) exchange = text(*meta, "exchangeName");

    json::object data{
        {"symbol", symbol},
        {"price", round_to(*price, decimals)},
        {"open", round_value(latest_open(result), decimals)},
        {"high", round_value(number_or_null(meta->if_contains("regularMarketDayHigh")), decimals)},
        {"low", round_value(number_or_null(meta->if_contains("regularMarketDayLow")), decimals)},
        {"previous_close",
         previous_close ? json::value(round_to(*previous_close, decimals)) : json::value(nullptr)},
        {"change", change},
        {"change_percent", change_percent},
        {"volume", integer_or_null(meta->if_contains("regularMarketVolume"))},
        {"currency", text_or_null(*meta, "currency")},
        {"exchange", exchange.empty() ? json::value(nullptr) : json::value(exchange)},
        {"market_time", unix_seconds_to_iso(meta->if_contains("regularMarketTime"))},
    };
    return Answer::ok(std::move(data));
}

}  // namespace yfinance
