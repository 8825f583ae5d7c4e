// Yahoo's chart answer keeps the live quote in `meta` and the day's bars in `indicators`.
// What real answers contain (see ../shared/fixtures/yahoo): bars that are all null, no
// `timestamp` key at all on days without trading, `quote: [{}]`, float32 noise such as
// 225.6999969482422, `previousClose` only sometimes, and errors as {"chart": {"error": …}}.
#include "chart.hpp"

#include "json_read.hpp"

#include <boost/json/parse.hpp>

#include <cmath>

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

}  // namespace

Answer parse_chart(std::string_view body, std::string_view symbol) {
    boost::system::error_code ec;
    json::value root = json::parse(body, ec);
    if (ec || !root.is_object()) return Answer::error(TICKERD_E_TRANSIENT, "chart: malformed JSON");
    const auto* chart = object_at(root.get_object(), "chart");
    if (!chart) return Answer::error(TICKERD_E_TRANSIENT, "chart: no 'chart' object");
    if (const auto* error = chart->if_contains("error"); error && error->is_object()) {
        auto code = text(error->get_object(), "code");
        auto description = text(error->get_object(), "description");
        auto status = code == "Not Found" ? TICKERD_E_NOT_FOUND : TICKERD_E_PERMANENT;
        return Answer::error(status, "chart: " + code + ": " + description);
    }
    const auto* results = array_at(*chart, "result");
    if (!results || results->empty() || !(*results)[0].is_object()) {
        return Answer::error(TICKERD_E_NOT_FOUND, "chart: no result for " + std::string(symbol));
    }
    const auto& result = (*results)[0].get_object();
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
