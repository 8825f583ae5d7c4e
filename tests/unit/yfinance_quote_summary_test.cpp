// quoteSummary (fundamentals, insider data) and daily-chart analytics: the repo's own
// answers, hostile input, and the recorded quoteSummary answers in ../shared/fixtures.
#define BOOST_TEST_MODULE yfinance_quote_summary
#include <boost/test/unit_test.hpp>

#include "chart.hpp"
#include "quote_summary.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

namespace json = boost::json;
using namespace tickerd::testing;

namespace {

std::string recorded(const std::string& name) {
    auto dir = shared_fixtures_dir();
    return dir ? read_file(*dir / "yahoo" / name) : std::string();
}

}  // namespace

BOOST_AUTO_TEST_CASE(fundamentals_from_the_modules_raw_or_plain) {
    auto answer = yfinance::parse_fundamentals(
        own_fixture("yfinance/quoteSummary-MSFT-fundamentals.json"), "MSFT");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    const auto& data = answer.data;
    check_schema("fundamentals", data);
    BOOST_TEST(data.at("name").as_string() == "Microsoft Corporation");
    BOOST_TEST(data.at("sector").as_string() == "Technology");
    BOOST_TEST(data.at("market_cap").as_int64() == 3088000000000);
    BOOST_TEST(data.at("pe_ratio").as_double() == 35.2);    // from {raw, fmt}
    BOOST_TEST(data.at("forward_pe").as_double() == 30.1);  // summaryDetail before key stats
    BOOST_TEST(data.at("eps").as_double() == 11.8);
    BOOST_TEST(data.at("ebitda").as_int64() == 136552000000);
    BOOST_TEST(data.at("employees").as_int64() == 228000);
    BOOST_TEST(data.at("dividend_yield").as_double() == 0.0079);
}

BOOST_AUTO_TEST_CASE(insider_transactions_newest_first_with_sentiment) {
    auto answer =
        yfinance::parse_insider(own_fixture("yfinance/quoteSummary-MSFT-insider.json"), "MSFT");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    check_schema("insider_data", answer.data);
    const auto& rows = answer.data.at("transactions").as_array();
    BOOST_TEST_REQUIRE(rows.size() == 3u);  // the row without a date is skipped
    const auto& newest = rows[0].as_object();
    BOOST_TEST(newest.at("insider").as_string() == "HOOD AMY");
    BOOST_TEST(newest.at("date").as_string() == "2024-11-28");
    BOOST_TEST(newest.at("type").as_string() == "acquisition");
    BOOST_TEST(newest.at("value").is_null());
    const auto& sale = rows[1].as_object();
    BOOST_TEST(sale.at("type").as_string() == "disposal");
    BOOST_TEST(sale.at("shares").as_int64() == 2000);
    BOOST_TEST(sale.at("value").as_double() == 830000.0);
    BOOST_TEST(sale.at("price").as_double() == 415.0);
    BOOST_TEST(rows[2].at("type").is_null());  // no text: Yahoo does not say
    const auto& sentiment = answer.data.at("sentiment").as_object();
    BOOST_TEST(sentiment.at("net_shares").as_int64() == -7500);
    BOOST_TEST(sentiment.at("period").as_string() == "6m");
}

BOOST_AUTO_TEST_CASE(errors_map_to_their_classes) {
    auto missing = own_fixture("yfinance/quoteSummary-NOPE-not-found.json");
    BOOST_TEST(yfinance::parse_fundamentals(missing, "NOPE").status == TICKERD_E_NOT_FOUND);
    BOOST_TEST(yfinance::parse_insider(missing, "NOPE").status == TICKERD_E_NOT_FOUND);
    auto crumb = own_fixture("yfinance/crumb-invalid.json");
    BOOST_TEST(yfinance::parse_fundamentals(crumb, "X").status == TICKERD_E_AUTH);
    for (const char* hostile : {"", "[]", "{\"quoteSummary\":7}", "{\"quoteSummary\":{}}",
                                "{\"quoteSummary\":{\"result\":[{}]}}"}) {
        BOOST_TEST(yfinance::parse_fundamentals(hostile, "X").status != TICKERD_OK, hostile);
    }
    // An answer with modules but no transactions is an empty list, not an error.
    auto empty = yfinance::parse_insider("{\"quoteSummary\":{\"result\":[{}]}}", "X");
    BOOST_TEST(empty.status == TICKERD_OK);
    BOOST_TEST(empty.data.at("transactions").as_array().empty());
    BOOST_TEST(empty.data.at("sentiment").is_null());
}

BOOST_AUTO_TEST_CASE(analytics_from_a_daily_chart_match_the_reference) {
    auto answer = yfinance::parse_analytics(as_yahoo_chart(reference_bars(), "REF"), "REF");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    check_schema("analytics", answer.data);
    check_indicators(answer.data, "all");  // the all-null bar was skipped
    BOOST_TEST(answer.data.at("bars").to_number<int>() == 260);
    BOOST_TEST(answer.data.at("as_of").as_string() == reference_bars().back().date);
    auto none =
        yfinance::parse_analytics(own_fixture("yfinance/chart-AAPL-holiday-no-bars.json"), "AAPL");
    BOOST_TEST(none.status == TICKERD_E_NOT_FOUND);
}

BOOST_AUTO_TEST_CASE(recorded_quote_summary_answers) {
    if (!shared_fixtures_dir()) return;  // the recorded answers are not beside this checkout
    auto all = yfinance::parse_fundamentals(recorded("quoteSummary-allModules-AAPL.json"), "AAPL");
    BOOST_TEST_REQUIRE(all.status == TICKERD_OK, all.message);
    BOOST_TEST(all.data.at("name").as_string() == "Apple Inc.");
    BOOST_TEST(all.data.at("sector").as_string() == "Technology");
    BOOST_TEST(all.data.at("market_cap").as_int64() == 3688676720640);
    BOOST_TEST(all.data.at("pe_ratio").as_double() == 38.91442);
    BOOST_TEST(all.data.at("eps").as_double() == 6.31);
    BOOST_TEST(all.data.at("shares_outstanding").as_int64() == 15022100480);
    BOOST_TEST(all.data.at("employees").as_int64() == 150000);

    auto price = yfinance::parse_fundamentals(recorded("quoteSummary-price-AAPL.json"), "AAPL");
    BOOST_TEST_REQUIRE(price.status == TICKERD_OK, price.message);  // one module is enough
    BOOST_TEST(price.data.at("sector").is_null());

    auto insider =
        yfinance::parse_insider(recorded("quoteSummary-insiderTransactions-AAPL.json"), "AAPL");
    BOOST_TEST_REQUIRE(insider.status == TICKERD_OK, insider.message);
    const auto& rows = insider.data.at("transactions").as_array();
    BOOST_TEST_REQUIRE(!rows.empty());
    BOOST_TEST(rows[0].at("insider").as_string() == "LEVINSON ARTHUR D");
    BOOST_TEST(rows[0].at("date").as_string() == "2025-02-03");
    BOOST_TEST(rows[0].at("type").as_string() == "disposal");
    BOOST_TEST(rows[0].at("value").as_double() == 343147.0);

    auto quote = yfinance::parse_quote(recorded("quote-v7-AAPL-BABA.json"), "BABA");
    BOOST_TEST_REQUIRE(quote.status == TICKERD_OK, quote.message);
    BOOST_TEST(quote.data.at("symbol").as_string() == "BABA");
    auto aapl = yfinance::parse_quote(recorded("quote-v7-AAPL.json"), "AAPL");
    BOOST_TEST_REQUIRE(aapl.status == TICKERD_OK, aapl.message);
    BOOST_TEST(aapl.data.at("price").as_double() == 244.6);
    BOOST_TEST(aapl.data.at("previous_close").as_double() == 241.53);
    BOOST_TEST(aapl.data.at("change_percent").as_double() == 1.2711);
    BOOST_TEST(aapl.data.at("exchange").as_string() == "NasdaqGS");
    BOOST_TEST(
        yfinance::parse_quote(recorded("quote-v7-AAPL-NONEXIST-partial.json"), "NONEXIST").status ==
        TICKERD_E_NOT_FOUND);

    auto btc = yfinance::parse_insider(
        recorded("quoteSummary-404-insiderTransactions-BTC-USD.json"), "BTC-USD");
    BOOST_TEST(btc.status == TICKERD_E_NOT_FOUND);
    BOOST_TEST(btc.message.find("No fundamentals data") != std::string::npos);
}
