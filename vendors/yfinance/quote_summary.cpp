// quoteSummary answers hold one object per module asked for, each value either a plain
// number or {raw, fmt} (even with formatted=false, in places), a module that has nothing is
// left out, and an unknown symbol or a module with no data is
// {"quoteSummary":{"result":null,"error":{"code":"Not Found",…}}} (HTTP 404).
#include "quote_summary.hpp"

#include "envelope.hpp"
#include "json_read.hpp"

#include <algorithm>
#include <initializer_list>
#include <utility>
#include <variant>

namespace yfinance {

namespace json = boost::json;
using namespace vendorkit;

namespace {

// The first of (module, key) pairs that holds a number, as the modules overlap.
json::value first_number(const json::object& modules,
                         std::initializer_list<std::pair<std::string_view, std::string_view>> at) {
    for (const auto& [module, key] : at) {
        if (const auto* object = object_at(modules, module)) {
            if (auto n = number(object->if_contains(key))) return *n;
        }
    }
    return nullptr;
}

json::value first_text(const json::object& modules,
                       std::initializer_list<std::pair<std::string_view, std::string_view>> at) {
    for (const auto& [module, key] : at) {
        if (const auto* object = object_at(modules, module)) {
            if (auto value = text_or_null(*object, key); !value.is_null()) return value;
        }
    }
    return nullptr;
}

json::value whole(json::value number) {
    return number.is_double() ? integer_or_null(&number) : number;
}

// Yahoo's transaction text → acquisition / disposal; null when it does not say.
json::value transaction_type(std::string_view description) {
    for (std::string_view word : {"Sale", "Stock Gift", "Disposition"}) {
        if (description.starts_with(word)) return "disposal";
    }
    for (std::string_view word : {"Purchase", "Award", "Grant", "Exercise", "Conversion"}) {
        if (description.find(word) != std::string_view::npos) return "acquisition";
    }
    return nullptr;
}

std::optional<json::object> transaction(const json::value& value) {
    if (!value.is_object()) return std::nullopt;
    const auto& row = value.get_object();
    auto insider = text_or_null(row, "filerName");
    auto date = unix_seconds_to_iso(row.if_contains("startDate"));
    if (insider.is_null() || date.is_null()) return std::nullopt;
    auto description = text(row, "transactionText");
    auto shares = number(row.if_contains("shares"));
    auto worth = number(row.if_contains("value"));
    json::value price = nullptr;
    if (shares && worth && *shares > 0) price = round_to(*worth / *shares, 4);
    return json::object{
        {"insider", insider},
        {"relation", text_or_null(row, "filerRelation")},
        {"date", date.get_string().subview(0, 10)},
        {"type", transaction_type(description)},
        {"description", description.empty() ? json::value(nullptr) : json::value(description)},
        {"shares", integer_or_null(row.if_contains("shares"))},
        {"price", price},
        {"value", worth ? json::value(*worth) : json::value(nullptr)},
    };
}

json::value net_purchase_activity(const json::object& modules) {
    const auto* activity = object_at(modules, "netSharePurchaseActivity");
    if (!activity) return nullptr;
    return json::object{
        {"period", text_or_null(*activity, "period")},
        {"buy_count", integer_or_null(activity->if_contains("buyInfoCount"))},
        {"sell_count", integer_or_null(activity->if_contains("sellInfoCount"))},
        {"buy_shares", integer_or_null(activity->if_contains("buyInfoShares"))},
        {"sell_shares", integer_or_null(activity->if_contains("sellInfoShares"))},
        {"net_shares", integer_or_null(activity->if_contains("netInfoShares"))},
        {"net_percent_insider_shares",
         number_or_null(activity->if_contains("netPercentInsiderShares"))},
    };
}

}  // namespace

Answer parse_fundamentals(std::string_view body, std::string_view symbol) {
    json::value root;
    auto found = first_result(body, root, "quoteSummary", "quoteSummary", symbol);
    if (auto* error = std::get_if<Answer>(&found)) return std::move(*error);
    const auto& m = *std::get<const json::object*>(found);
    json::object data{
        {"symbol", symbol},
        {"name", first_text(m, {{"price", "longName"}, {"price", "shortName"}})},
        {"description", first_text(m, {{"summaryProfile", "longBusinessSummary"}})},
        {"sector", first_text(m, {{"summaryProfile", "sector"}})},
        {"industry", first_text(m, {{"summaryProfile", "industry"}})},
        {"country", first_text(m, {{"summaryProfile", "country"}})},
        {"exchange", first_text(m, {{"price", "exchangeName"}})},
        {"currency", first_text(m, {{"price", "currency"}, {"summaryDetail", "currency"}})},
        {"market_cap",
         whole(first_number(m, {{"price", "marketCap"}, {"summaryDetail", "marketCap"}}))},
        {"pe_ratio", first_number(m, {{"summaryDetail", "trailingPE"}})},
        {"forward_pe",
         first_number(m, {{"summaryDetail", "forwardPE"}, {"defaultKeyStatistics", "forwardPE"}})},
        {"eps", first_number(m, {{"defaultKeyStatistics", "trailingEps"}})},
        {"forward_eps", first_number(m, {{"defaultKeyStatistics", "forwardEps"}})},
        {"price_to_book", first_number(m, {{"defaultKeyStatistics", "priceToBook"}})},
        {"dividend_yield", first_number(m, {{"summaryDetail", "dividendYield"}})},
        {"beta", first_number(m, {{"summaryDetail", "beta"}, {"defaultKeyStatistics", "beta"}})},
        {"fifty_two_week_high", first_number(m, {{"summaryDetail", "fiftyTwoWeekHigh"}})},
        {"fifty_two_week_low", first_number(m, {{"summaryDetail", "fiftyTwoWeekLow"}})},
        {"shares_outstanding",
         whole(first_number(m, {{"defaultKeyStatistics", "sharesOutstanding"}}))},
        {"profit_margin", first_number(m, {{"financialData", "profitMargins"},
                                           {"defaultKeyStatistics", "profitMargins"}})},
        {"revenue_ttm", whole(first_number(m, {{"financialData", "totalRevenue"}}))},
        {"ebitda", whole(first_number(m, {{"financialData", "ebitda"}}))},
        {"employees", whole(first_number(m, {{"summaryProfile", "fullTimeEmployees"}}))},
    };
    // An answer with modules but nothing tickerd reads in them says nothing about the symbol.
    bool known = std::any_of(data.begin(), data.end(), [](const json::key_value_pair& field) {
        return field.key() != "symbol" && !field.value().is_null();
    });
    if (!known) {
        return Answer::error(TICKERD_E_NOT_FOUND,
                             "quoteSummary: no fundamentals for " + std::string(symbol));
    }
    return Answer::ok(std::move(data));
}

Answer parse_insider(std::string_view body, std::string_view symbol, std::size_t max_items) {
    json::value root;
    auto found = first_result(body, root, "quoteSummary", "quoteSummary", symbol);
    if (auto* error = std::get_if<Answer>(&found)) return std::move(*error);
    const auto& modules = *std::get<const json::object*>(found);
    std::vector<json::object> rows;
    if (const auto* list = array_at(modules, "insiderTransactions", "transactions")) {
        for (const auto& value : *list) {
            if (auto row = transaction(value)) rows.push_back(std::move(*row));
        }
    }
    return Answer::ok(
        json::object{{"symbol", symbol},
                     {"transactions", newest_first(std::move(rows), "date", max_items)},
                     {"sentiment", net_purchase_activity(modules)}});
}

}  // namespace yfinance
