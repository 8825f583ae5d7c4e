// {"Global Quote": {"01. symbol": "MSFT", "02. open": "112.6300", …, "10. change percent":
// "-0.5852%"}}: numbered keys, numbers as strings, "None" for missing values, and `{}` for a
// symbol Alpha Vantage does not know.
#include "parsers.hpp"

#include "json_read.hpp"

namespace alphavantage {

namespace json = boost::json;

namespace {

json::value number_field(const json::object& quote, std::string_view key, int decimals) {
    auto n = vendorkit::number_in_text(quote.if_contains(key));
    return n ? json::value(vendorkit::round_to(*n, decimals)) : json::value(nullptr);
}

// "2018-10-05" stays a date: Alpha Vantage gives the trading day, not a time.
json::value trading_day(const json::object& quote) {
    auto day = vendorkit::text(quote, "07. latest trading day");
    if (day.size() != 10 || day[4] != '-' || day[7] != '-') return nullptr;
    return json::string(day);
}

}  // namespace

Answer parse_global_quote(std::string_view body, std::string_view symbol) {
    auto root = answer_root(body, "GLOBAL_QUOTE");
    if (auto* error = std::get_if<Answer>(&root)) return std::move(*error);
    const auto* quote = vendorkit::object_at(std::get<json::object>(root), "Global Quote");
    if (!quote) return Answer::error(TICKERD_E_TRANSIENT, "GLOBAL_QUOTE: no 'Global Quote'");
    if (quote->empty()) {
        return Answer::error(TICKERD_E_NOT_FOUND,
                             "GLOBAL_QUOTE: no quote for " + std::string(symbol));
    }
    auto price = vendorkit::number_in_text(quote->if_contains("05. price"));
    if (!price) return Answer::error(TICKERD_E_TRANSIENT, "GLOBAL_QUOTE: no price");

    auto volume = vendorkit::number_in_text(quote->if_contains("06. volume"));
    json::object data{
        {"symbol", symbol},
        {"price", vendorkit::round_to(*price, 4)},
        {"open", number_field(*quote, "02. open", 4)},
        {"high", number_field(*quote, "03. high", 4)},
        {"low", number_field(*quote, "04. low", 4)},
        {"previous_close", number_field(*quote, "08. previous close", 4)},
        {"change", number_field(*quote, "09. change", 4)},
        {"change_percent", number_field(*quote, "10. change percent", 4)},
        {"volume", volume && *volume >= 0 && *volume < 9e15
                       ? json::value(static_cast<int64_t>(*volume))
                       : json::value(nullptr)},
        {"currency", nullptr},  // GLOBAL_QUOTE does not say
        {"exchange", nullptr},
        {"market_time", trading_day(*quote)},
    };
    return Answer::ok(std::move(data));
}

}  // namespace alphavantage
