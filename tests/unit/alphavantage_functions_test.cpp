// NEWS_SENTIMENT, OVERVIEW, INSIDER_TRANSACTIONS and TIME_SERIES_DAILY (analytics): the
// repo's own answers, hostile input and limits, and the recorded answers in
// ../shared/fixtures when present.
#define BOOST_TEST_MODULE alphavantage_functions
#include <boost/test/unit_test.hpp>

#include "parsers.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

namespace json = boost::json;
using namespace tickerd::testing;

namespace {

std::string recorded(const std::string& name) {
    auto dir = shared_fixtures_dir();
    return dir ? read_recorded(*dir / "alphavantage" / name) : std::string();
}

const char* const kNote =
    R"({"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day."})";

}  // namespace

BOOST_AUTO_TEST_CASE(overview_becomes_fundamentals) {
    auto answer =
        alphavantage::parse_overview(own_fixture("alphavantage/overview-MSFT.json"), "MSFT");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    const auto& data = answer.data;
    check_schema("fundamentals", data);
    BOOST_TEST(data.at("name").as_string() == "Microsoft Corporation");
    BOOST_TEST(data.at("market_cap").as_int64() == 3088000000000);
    BOOST_TEST(data.at("pe_ratio").as_double() == 35.2);
    BOOST_TEST(data.at("price_to_book").is_null());  // "None"
    BOOST_TEST(data.at("forward_eps").is_null());
    BOOST_TEST(data.at("employees").is_null());
    BOOST_TEST(data.at("fifty_two_week_high").as_double() == 468.35);
    BOOST_TEST(data.at("dividend_yield").as_double() == 0.0079);
    BOOST_TEST(alphavantage::parse_overview("{}", "NOPE").status == TICKERD_E_NOT_FOUND);
}

BOOST_AUTO_TEST_CASE(news_sentiment_items_carry_the_symbols_sentiment) {
    auto answer = alphavantage::parse_news_sentiment(
        own_fixture("alphavantage/news-sentiment-MSFT.json"), "MSFT");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    check_schema("news", answer.data);
    const auto& items = answer.data.at("items").as_array();
    BOOST_TEST_REQUIRE(items.size() == 2u);  // the untitled item is skipped
    const auto& newest = items[0].as_object();
    BOOST_TEST(newest.at("published_at").as_string() == "2024-11-28T15:15:00Z");
    BOOST_TEST(newest.at("sentiment").as_double() == -0.05);  // overall: no MSFT row
    BOOST_TEST(newest.at("sentiment_label").as_string() == "Neutral");
    const auto& older = items[1].as_object();
    BOOST_TEST(older.at("id").as_string() == "https://news.example.test/cloud-demand");
    BOOST_TEST(older.at("publisher").as_string() == "Example Wire");
    BOOST_TEST(older.at("summary").as_string() == "Software makers rose as cloud demand held up.");
    BOOST_TEST(older.at("sentiment").as_double() == 0.412);  // MSFT's own, not the overall
    BOOST_TEST(older.at("sentiment_label").as_string() == "Bullish");
}

BOOST_AUTO_TEST_CASE(insider_transactions_newest_first) {
    auto answer = alphavantage::parse_insider_transactions(
        own_fixture("alphavantage/insider-transactions-MSFT.json"), "MSFT");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    check_schema("insider_data", answer.data);
    const auto& rows = answer.data.at("transactions").as_array();
    BOOST_TEST_REQUIRE(rows.size() == 3u);
    BOOST_TEST(rows[0].at("insider").as_string() == "HOOD, AMY");
    BOOST_TEST(rows[0].at("type").as_string() == "acquisition");
    BOOST_TEST(rows[0].at("value").as_double() == 0.0);  // a grant: no money changed hands
    BOOST_TEST(rows[1].at("type").as_string() == "disposal");
    BOOST_TEST(rows[1].at("shares").as_int64() == 2000);
    BOOST_TEST(rows[1].at("value").as_double() == 830000.0);
    BOOST_TEST(rows[2].at("type").is_null());
    BOOST_TEST(rows[2].at("shares").is_null());
    BOOST_TEST(answer.data.at("sentiment").is_null());
}

BOOST_AUTO_TEST_CASE(daily_series_analytics_match_the_reference) {
    auto answer =
        alphavantage::parse_daily_series(as_alphavantage_daily(reference_bars(), "REF"), "REF");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    check_schema("analytics", answer.data);
    check_indicators(answer.data, "all");
    BOOST_TEST(answer.data.at("as_of").as_string() == reference_bars().back().date);
}

BOOST_AUTO_TEST_CASE(technical_indicator_gives_its_latest_reading) {
    auto answer = alphavantage::parse_technical_indicator(
        own_fixture("alphavantage/sma-MSFT-daily-200.json"), "MSFT");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    BOOST_TEST(answer.data.at("indicator").as_string() == "SMA");
    BOOST_TEST(answer.data.at("as_of").as_string() == "2024-11-27");  // not the first key
    BOOST_TEST(answer.data.at("value").as_double() == 420.3315);
    BOOST_TEST(answer.data.at("time_period").as_double() == 200.0);
    BOOST_TEST(answer.data.at("interval").as_string() == "daily");
    BOOST_TEST(
        alphavantage::parse_technical_indicator(R"({"Technical Analysis: SMA":{}})", "X").status ==
        TICKERD_E_NOT_FOUND);
}

BOOST_AUTO_TEST_CASE(limits_and_hostile_input_are_classified) {
    BOOST_TEST(alphavantage::parse_overview(kNote, "X").status == TICKERD_E_RATE_LIMITED);
    BOOST_TEST(alphavantage::parse_news_sentiment(kNote, "X").status == TICKERD_E_RATE_LIMITED);
    BOOST_TEST(alphavantage::parse_insider_transactions(kNote, "X").status ==
               TICKERD_E_RATE_LIMITED);
    BOOST_TEST(alphavantage::parse_daily_series(kNote, "X").status == TICKERD_E_RATE_LIMITED);
    auto limit = own_fixture("alphavantage/information-daily-limit.json");
    BOOST_TEST(alphavantage::parse_daily_series(limit, "X").status == TICKERD_E_RATE_LIMITED);
    for (const char* hostile :
         {"", "[1]", "{\"feed\":{}}", "{\"data\":\"x\"}", "{\"Time Series (Daily)\":{\"x\":1}}"}) {
        BOOST_TEST(alphavantage::parse_news_sentiment(hostile, "X").status != TICKERD_OK);
        BOOST_TEST(alphavantage::parse_insider_transactions(hostile, "X").status != TICKERD_OK);
        BOOST_TEST(alphavantage::parse_daily_series(hostile, "X").status != TICKERD_OK);
        BOOST_TEST(alphavantage::parse_overview(hostile, "X").status != TICKERD_OK);
        BOOST_TEST(alphavantage::parse_technical_indicator(hostile, "X").status != TICKERD_OK);
    }
}

BOOST_AUTO_TEST_CASE(recorded_answers) {
    if (!shared_fixtures_dir()) return;  // the recorded answers are not beside this checkout
    auto ibm = alphavantage::parse_overview(recorded("overview-IBM-2020-09.json"), "IBM");
    BOOST_TEST_REQUIRE(ibm.status == TICKERD_OK, ibm.message);
    BOOST_TEST(ibm.data.at("market_cap").as_int64() == 114234572800);
    BOOST_TEST(ibm.data.at("pe_ratio").as_double() == 14.1327);
    BOOST_TEST(ibm.data.at("dividend_yield").as_double() == 0.0529);
    auto tsla = alphavantage::parse_overview(recorded("overview-TSLA-2023-01-27.json"), "TSLA");
    BOOST_TEST_REQUIRE(tsla.status == TICKERD_OK, tsla.message);
    BOOST_TEST(tsla.data.at("forward_pe").as_double() == 28.82);

    auto news =
        alphavantage::parse_news_sentiment(recorded("news-sentiment-2022-feed56.json"), "ACCD");
    BOOST_TEST_REQUIRE(news.status == TICKERD_OK, news.message);
    const auto& items = news.data.at("items").as_array();
    BOOST_TEST(items.size() == 20u);  // 56 in the feed, capped
    BOOST_TEST(items[0].at("published_at").as_string() == "2022-09-14T14:10:49Z");
    BOOST_TEST(items[0].at("sentiment").as_double() == 0.56613);  // ACCD's own

    auto insider = alphavantage::parse_insider_transactions(
        recorded("insider-transactions-IBM-2025-10-03.json.gz"), "IBM");
    BOOST_TEST_REQUIRE(insider.status == TICKERD_OK, insider.message);
    const auto& rows = insider.data.at("transactions").as_array();
    BOOST_TEST(rows.size() == 50u);  // 4,253 rows, the newest 50
    BOOST_TEST(rows[0].at("date").as_string() == "2025-09-30");
    BOOST_TEST(rows[0].at("type").as_string() == "acquisition");

    auto sma = alphavantage::parse_technical_indicator(
        recorded("sma-MSFT-15min-period10-close-2017-12-20.json"), "MSFT");
    BOOST_TEST_REQUIRE(sma.status == TICKERD_OK, sma.message);
    BOOST_TEST(sma.data.at("as_of").as_string() == "2017-12-20 14:00");
    BOOST_TEST(sma.data.at("value").as_double() == 85.244);

    auto daily = alphavantage::parse_daily_series(
        recorded("time-series-daily-IBM-compact-2023-11-10.json"), "IBM");
    BOOST_TEST_REQUIRE(daily.status == TICKERD_OK, daily.message);
    BOOST_TEST(daily.data.at("as_of").as_string() == "2023-11-10");
    BOOST_TEST(daily.data.at("bars").to_number<int>() == 100);
    BOOST_TEST(daily.data.at("close").as_double() == 149.02);
    BOOST_TEST(daily.data.at("sma_50").is_number());
    BOOST_TEST(daily.data.at("sma_200").is_null());  // compact: 100 days
}
