#include "support/schemas.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <set>
#include <stdexcept>

namespace tickerd::testing {

namespace json = boost::json;

namespace {

const std::map<std::string, std::vector<std::string>>& schemas() {
    static const std::map<std::string, std::vector<std::string>> kSchemas = {
        {"market_data",
         {"symbol", "price", "open", "high", "low", "previous_close", "change", "change_percent",
          "volume", "currency", "exchange", "market_time"}},
        {"news", {"symbol", "items"}},
        {"news.items",
         {"id", "title", "publisher", "url", "published_at", "summary", "sentiment",
          "sentiment_label"}},
        {"fundamentals",
         {"symbol",
          "name",
          "description",
          "sector",
          "industry",
          "country",
          "exchange",
          "currency",
          "market_cap",
          "pe_ratio",
          "forward_pe",
          "eps",
          "forward_eps",
          "price_to_book",
          "dividend_yield",
          "beta",
          "fifty_two_week_high",
          "fifty_two_week_low",
          "shares_outstanding",
          "profit_margin",
          "revenue_ttm",
          "ebitda",
          "employees"}},
        {"analytics",
         {"symbol", "as_of", "close", "bars", "sma_50", "sma_200", "ema_10", "rsi_14", "macd",
          "macd_signal", "macd_histogram", "bollinger_upper", "bollinger_middle", "bollinger_lower",
          "atr_14"}},
        {"insider_data", {"symbol", "transactions", "sentiment"}},
        {"insider_data.transactions",
         {"insider", "relation", "date", "type", "description", "shares", "price", "value"}},
        {"insider_data.sentiment",
         {"period", "buy_count", "sell_count", "buy_shares", "sell_shares", "net_shares",
          "net_percent_insider_shares"}},
    };
    return kSchemas;
}

void check_keys(const std::string& schema, const json::object& object) {
    const auto& keys = schema_keys(schema);
    std::set<std::string> wanted(keys.begin(), keys.end());
    for (const auto& key : keys)
        BOOST_TEST(object.contains(key), schema << ": missing " << key);
    for (const auto& [key, _] : object) {
        // The documented extras: the vendor's answer (include_raw) and the mock's counter.
        BOOST_TEST((wanted.contains(std::string(key)) || key == "raw" || key == "mock_call"),
                   schema << ": unexpected key " << key);
    }
}

void check_list(const std::string& schema, const json::object& data, const char* list) {
    const auto* items = data.if_contains(list);
    if (!items || !items->is_array()) return;  // check_keys reported it
    for (const auto& item : items->get_array()) {
        BOOST_TEST_REQUIRE(item.is_object());
        check_keys(schema + "." + list, item.get_object());
    }
}

}  // namespace

const std::vector<std::string>& schema_keys(const std::string& data_type) {
    auto it = schemas().find(data_type);
    if (it == schemas().end()) throw std::invalid_argument("no schema " + data_type);
    return it->second;
}

void check_schema(const std::string& data_type, const json::object& data) {
    check_keys(data_type, data);
    if (data_type == "news") check_list(data_type, data, "items");
    if (data_type == "insider_data") {
        check_list(data_type, data, "transactions");
        const auto* sentiment = data.if_contains("sentiment");
        if (sentiment && sentiment->is_object())
            check_keys("insider_data.sentiment", sentiment->get_object());
    }
}

}  // namespace tickerd::testing
