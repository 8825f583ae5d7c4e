// INSIDER_TRANSACTIONS: {"data": [{transaction_date: "2025-09-30", executive, executive_title,
// security_type, acquisition_or_disposal: "A" | "D", shares: "381.0", share_price: "282.16"}]},
// thousands of rows back to 2012; a symbol without filings gives an empty list.
#include "parsers.hpp"

#include "json_read.hpp"

#include <algorithm>

namespace alphavantage {

namespace json = boost::json;

namespace {

bool is_date(std::string_view text) {
    return text.size() == 10 && text[4] == '-' && text[7] == '-';
}

std::optional<json::object> transaction(const json::value& value) {
    if (!value.is_object()) return std::nullopt;
    const auto& row = value.get_object();
    auto insider = vendorkit::text_or_null(row, "executive");
    auto date = vendorkit::text(row, "transaction_date");
    if (insider.is_null() || !is_date(date)) return std::nullopt;
    auto direction = vendorkit::text(row, "acquisition_or_disposal");
    auto shares = vendorkit::number_in_text(row.if_contains("shares"));
    auto price = vendorkit::number_in_text(row.if_contains("share_price"));
    json::value shares_value = shares ? json::value(*shares) : json::value(nullptr);
    json::value worth = nullptr;
    // A price of 0 is a grant or a gift: the shares changed hands, no money did.
    if (shares && price) worth = vendorkit::round_to(*shares * *price, 2);
    return json::object{
        {"insider", insider},
        {"relation", vendorkit::text_or_null(row, "executive_title")},
        {"date", date},
        {"type", direction == "A"   ? json::value("acquisition")
                 : direction == "D" ? json::value("disposal")
                                    : json::value(nullptr)},
        {"description", vendorkit::text_or_null(row, "security_type")},
        {"shares", vendorkit::integer_or_null(&shares_value)},
        {"price", price ? json::value(*price) : json::value(nullptr)},
        {"value", worth},
    };
}

}  // namespace

Answer parse_insider_transactions(std::string_view body, std::string_view symbol,
                                  std::size_t max_items) {
    auto root = answer_root(body, "INSIDER_TRANSACTIONS");
    if (auto* error = std::get_if<Answer>(&root)) return std::move(*error);
    const auto* rows = vendorkit::array_at(std::get<json::object>(root), "data");
    if (!rows) return Answer::error(TICKERD_E_TRANSIENT, "INSIDER_TRANSACTIONS: no 'data'");
    std::vector<json::object> transactions;
    for (const auto& value : *rows) {
        if (auto row = transaction(value)) transactions.push_back(std::move(*row));
    }
    return Answer::ok(json::object{
        {"symbol", symbol},
        {"transactions", vendorkit::newest_first(std::move(transactions), "date", max_items)},
        {"sentiment", nullptr}});
}

}  // namespace alphavantage
