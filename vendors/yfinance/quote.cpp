// {"quoteResponse": {"result": [{"symbol": "AAPL", "regularMarketPrice": 244.6, …}],
//  "error": null}}; the result leaves out symbols Yahoo does not know.
#include "quote_summary.hpp"

#include "envelope.hpp"
#include "json_read.hpp"

namespace yfinance {

namespace json = boost::json;
using namespace vendorkit;

namespace {

const json::object* quote_for(const json::array& results, std::string_view symbol) {
    for (const auto& value : results) {
        if (value.is_object() && text(value.get_object(), "symbol") == symbol)
            return &value.get_object();
    }
    return nullptr;
}

}  // namespace

Answer parse_quote(std::string_view body, std::string_view symbol) {
    json::value root;
    auto found = results_in(body, root, "quoteResponse", "quote");
    if (auto* error = std::get_if<Answer>(&found)) return std::move(*error);
    const auto* results = std::get<const json::array*>(found);
    if (!results) return Answer::error(TICKERD_E_TRANSIENT, "quote: no 'result'");
    const auto* quote = quote_for(*results, symbol);
    if (!quote)
        return Answer::error(TICKERD_E_NOT_FOUND, "quote: no quote for " + std::string(symbol));
    auto price = number(quote->if_contains("regularMarketPrice"));
    if (!price) return Answer::error(TICKERD_E_TRANSIENT, "quote: no regularMarketPrice");

    int decimals = price_decimals(quote->if_contains("priceHint"));
    auto shown = [&](std::string_view key) {
        return round_value(number_or_null(quote->if_contains(key)), decimals);
    };
    std::string exchange = text(*quote, "fullExchangeName");
    if (exchange.empty()) exchange = text(*quote, "exchange");
    json::object data{
        {"symbol", symbol},
        {"price", round_to(*price, decimals)},
        {"open", shown("regularMarketOpen")},
        {"high", shown("regularMarketDayHigh")},
        {"low", shown("regularMarketDayLow")},
        {"previous_close", shown("regularMarketPreviousClose")},
        {"change", shown("regularMarketChange")},
        {"change_percent",
         round_value(number_or_null(quote->if_contains("regularMarketChangePercent")), 4)},
        {"volume", integer_or_null(quote->if_contains("regularMarketVolume"))},
        {"currency", text_or_null(*quote, "currency")},
        {"exchange", exchange.empty() ? json::value(nullptr) : json::value(exchange)},
        {"market_time", unix_seconds_to_iso(quote->if_contains("regularMarketTime"))},
    };
    return Answer::ok(std::move(data));
}

}  // namespace yfinance
