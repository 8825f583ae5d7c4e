// The chart parser against the repo's own fixtures (Yahoo's documented shape), against
// hostile input, and against every recorded chart answer in ../shared/fixtures when that
// folder is there.
#define BOOST_TEST_MODULE yfinance_chart
#include <boost/test/unit_test.hpp>

#include "chart.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace tickerd::testing;

namespace {

void check_market_data_schema(const json::object& data) {
    for (const char* key : {"symbol", "price", "open", "high", "low", "previous_close", "change",
                            "change_percent", "volume", "currency", "exchange", "market_time"}) {
        BOOST_TEST(data.contains(key), "missing " << key);
    }
    BOOST_TEST(data.at("price").is_number());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_trading_day_becomes_market_data) {
    auto answer = yfinance::parse_chart(own_fixture("yfinance/chart-MSFT-1d.json"), "MSFT");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    const auto& data = answer.data;
    check_market_data_schema(data);
    BOOST_TEST(data.at("price").as_double() == 422.99);  // float32 noise rounded away
    BOOST_TEST(data.at("open").as_double() == 425.66);
    BOOST_TEST(data.at("high").as_double() == 427.23);
    BOOST_TEST(data.at("previous_close").as_double() == 427.99);
    BOOST_TEST(data.at("change").as_double() == -5.0);
    BOOST_TEST(data.at("change_percent").as_double() == (422.99 - 427.99) / 427.99 * 100,
               boost::test_tools::tolerance(1e-4));
    BOOST_TEST(data.at("volume").as_int64() == 18332400);
    BOOST_TEST(data.at("currency").as_string() == "USD");
    BOOST_TEST(data.at("exchange").as_string() == "NasdaqGS");
    BOOST_TEST(data.at("market_time").as_string() == "2024-11-27T20:00:00Z");
}

BOOST_AUTO_TEST_CASE(a_day_without_bars_still_has_a_price) {
    auto answer =
        yfinance::parse_chart(own_fixture("yfinance/chart-AAPL-holiday-no-bars.json"), "AAPL");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    check_market_data_schema(answer.data);
    BOOST_TEST(answer.data.at("open").is_null());
    BOOST_TEST(answer.data.at("volume").is_null());
    BOOST_TEST(answer.data.at("previous_close").as_double() == 234.93);  // chartPreviousClose
    BOOST_TEST(answer.data.at("exchange").as_string() == "NMS");
}

BOOST_AUTO_TEST_CASE(an_unknown_symbol_is_not_found) {
    auto answer = yfinance::parse_chart(own_fixture("yfinance/chart-NOPE-not-found.json"), "NOPE");
    BOOST_TEST(answer.status == TICKERD_E_NOT_FOUND);
    BOOST_TEST(answer.message.find("No data found") != std::string::npos, answer.message);
}

BOOST_AUTO_TEST_CASE(hostile_input_is_classified_not_crashed_on) {
    struct Case {
        const char* body;
        tickerd_status expected;
    };
    const Case cases[] = {
        {"", TICKERD_E_TRANSIENT},
        {"<html>Too Many Requests</html>", TICKERD_E_TRANSIENT},
        {"[1,2,3]", TICKERD_E_TRANSIENT},
        {R"({"chart":[]})", TICKERD_E_TRANSIENT},
        {R"({"chart":{"result":null,"error":null}})", TICKERD_E_NOT_FOUND},
        {R"({"chart":{"result":[],"error":null}})", TICKERD_E_NOT_FOUND},
        {R"({"chart":{"result":[42]}})", TICKERD_E_NOT_FOUND},
        {R"({"chart":{"result":[{}]}})", TICKERD_E_TRANSIENT},
        {R"({"chart":{"result":[{"meta":{"regularMarketPrice":"12.5"}}]}})", TICKERD_E_TRANSIENT},
        {R"({"chart":{"error":{"code":"Bad Request","description":"Invalid input"}}})",
         TICKERD_E_PERMANENT},
        {R"({"chart":{"result":[{"meta":{"regularMarketPrice":1e400}}]}})", TICKERD_E_TRANSIENT},
        {R"({"chart":{"result":[{"meta":{"regularMarketPrice":10,"previousClose":0,
            "regularMarketTime":-5,"priceHint":"x"},"indicators":{"quote":[{"open":[null,"a"]}]}}]}})",
         TICKERD_OK},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.body) {
            auto answer = yfinance::parse_chart(c.body, "X");
            BOOST_TEST(answer.status == c.expected, answer.message);
            if (answer.status == TICKERD_OK) check_market_data_schema(answer.data);
        }
    }
}

BOOST_AUTO_TEST_CASE(every_recorded_chart_answer_parses_or_is_classified) {
    auto shared = shared_fixtures_dir();
    if (!shared) {
        BOOST_TEST_MESSAGE("../shared/fixtures not found: recorded answers not checked");
        return;
    }
    int checked = 0;
    for (const auto& entry : fs::directory_iterator(*shared / "yahoo")) {
        auto name = entry.path().filename().string();
        if (!name.starts_with("chart-")) continue;
        BOOST_TEST_CONTEXT(name) {
            auto answer = yfinance::parse_chart(read_file(entry.path()), "X");
            if (name.find("404") != std::string::npos) {
                BOOST_TEST(answer.status == TICKERD_E_NOT_FOUND, answer.message);
            } else {
                BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
                check_market_data_schema(answer.data);
            }
        }
        ++checked;
    }
    BOOST_TEST(checked >= 7);
}
