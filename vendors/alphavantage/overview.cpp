// OVERVIEW: one flat object of strings ("MarketCapitalization": "267085201000", "None" for
// missing values), `{}` for a symbol Alpha Vantage does not know.
#include "parsers.hpp"

#include "json_read.hpp"

namespace alphavantage {

namespace json = boost::json;

namespace {

json::value number_field(const json::object& overview, std::string_view key) {
    auto n = vendorkit::number_in_text(overview.if_contains(key));
    return n ? json::value(*n) : json::value(nullptr);
}

json::value whole_field(const json::object& overview, std::string_view key) {
    auto n = vendorkit::number_in_text(overview.if_contains(key));
    json::value value = n ? json::value(*n) : json::value(nullptr);
    return vendorkit::integer_or_null(&value);
}

json::value text_field(const json::object& overview, std::string_view key) {
    auto value = vendorkit::text_or_null(overview, key);
    if (value.is_string() && (value.get_string() == "None" || value.get_string() == "-")) {
        return nullptr;
    }
    return value;
}

}  // namespace

Answer parse_overview(std::string_view body, std::string_view symbol) {
    auto root = answer_root(body, "OVERVIEW");
    if (auto* error = std::get_if<Answer>(&root)) return std::move(*error);
    const auto& o = std::get<json::object>(root);
    if (o.empty() || text_field(o, "Name").is_null()) {
        return Answer::error(TICKERD_E_NOT_FOUND, "OVERVIEW: no company " + std::string(symbol));
    }
    json::object data{
        {"symbol", symbol},
        {"name", text_field(o, "Name")},
        {"description", text_field(o, "Description")},
        {"sector", text_field(o, "Sector")},
        {"industry", text_field(o, "Industry")},
        {"country", text_field(o, "Country")},
        {"exchange", text_field(o, "Exchange")},
        {"currency", text_field(o, "Currency")},
        {"market_cap", whole_field(o, "MarketCapitalization")},
        {"pe_ratio", number_field(o, o.contains("TrailingPE") ? "TrailingPE" : "PERatio")},
        {"forward_pe", number_field(o, "ForwardPE")},
        {"eps", number_field(o, "EPS")},
        {"forward_eps", nullptr},  // OVERVIEW does not give it
        {"price_to_book", number_field(o, "PriceToBookRatio")},
        {"dividend_yield", number_field(o, "DividendYield")},
        {"beta", number_field(o, "Beta")},
        {"fifty_two_week_high", number_field(o, "52WeekHigh")},
        {"fifty_two_week_low", number_field(o, "52WeekLow")},
        {"shares_outstanding", whole_field(o, "SharesOutstanding")},
        {"profit_margin", number_field(o, "ProfitMargin")},
        {"revenue_ttm", whole_field(o, "RevenueTTM")},
        {"ebitda", whole_field(o, "EBITDA")},
        {"employees", whole_field(o, "FullTimeEmployees")},
    };
    return Answer::ok(std::move(data));
}

}  // namespace alphavantage
