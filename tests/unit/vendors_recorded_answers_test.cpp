// Every file under ../shared/fixtures (genuine Yahoo Finance and Alpha Vantage answers, see
// its PROVENANCE.md) goes through the parser tickerd uses for it, and must either parse into
// the normalised schema of its data type or map to the error class it stands for. A new
// file nobody mapped fails the test, so the table below grows with the folder.
#define BOOST_TEST_MODULE vendors_recorded_answers
#include <boost/test/unit_test.hpp>

#include "chart.hpp"
#include "news.hpp"
#include "parsers.hpp"
#include "quote_summary.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <functional>
#include <set>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace tickerd::testing;
using vendorkit::Answer;

namespace {

using Parser = std::function<Answer(std::string_view body)>;

struct Expectation {
    std::string prefix;     // file name (in yahoo/ or alphavantage/) starts with this
    std::string data_type;  // the schema it must parse into (README), "" for none
    Parser parse;
    tickerd_status status;
};

std::vector<Expectation> yahoo_expectations() {
    auto chart = [](std::string_view body) { return yfinance::parse_chart(body, "X"); };
    auto fundamentals = [](std::string_view b) { return yfinance::parse_fundamentals(b, "X"); };
    auto insider = [](std::string_view b) { return yfinance::parse_insider(b, "X"); };
    return {
        {"chart-SIX-404", "", chart, TICKERD_E_NOT_FOUND},
        {"chart-", "market_data", chart, TICKERD_OK},
        {"quote-v7-NONEXIST", "", [](auto b) { return yfinance::parse_quote(b, "NONEXIST"); },
         TICKERD_E_NOT_FOUND},
        {"quote-v7-BTC-USD", "market_data",
         [](auto b) { return yfinance::parse_quote(b, "BTC-USD"); }, TICKERD_OK},
        {"quote-v7-", "market_data", [](auto b) { return yfinance::parse_quote(b, "AAPL"); },
         TICKERD_OK},
        {"quoteSummary-404", "", insider, TICKERD_E_NOT_FOUND},
        {"quoteSummary-insider", "insider_data", insider, TICKERD_OK},
        {"quoteSummary-", "fundamentals", fundamentals, TICKERD_OK},
        {"search-", "news", [](auto b) { return yfinance::parse_news(b, "AAPL"); }, TICKERD_OK},
    };
}

std::vector<Expectation> alphavantage_expectations() {
    return {
        {"global-quote-", "market_data",
         [](auto b) { return alphavantage::parse_global_quote(b, "MSFT"); }, TICKERD_OK},
        {"error-message-invalid-apikey", "",
         [](auto b) { return alphavantage::parse_global_quote(b, "X"); }, TICKERD_E_AUTH},
        {"error-message-", "", [](auto b) { return alphavantage::parse_global_quote(b, "X"); },
         TICKERD_E_NOT_FOUND},
        {"error-note-rate-limit", "", [](auto b) { return alphavantage::parse_overview(b, "X"); },
         TICKERD_E_RATE_LIMITED},
        {"insider-transactions-", "insider_data",
         [](auto b) { return alphavantage::parse_insider_transactions(b, "IBM"); }, TICKERD_OK},
        {"news-sentiment-", "news",
         [](auto b) { return alphavantage::parse_news_sentiment(b, "TSLA"); }, TICKERD_OK},
        {"overview-", "fundamentals", [](auto b) { return alphavantage::parse_overview(b, "X"); },
         TICKERD_OK},
        {"rsi-", "indicator_reading",
         [](auto b) { return alphavantage::parse_technical_indicator(b, "MSFT"); }, TICKERD_OK},
        {"sma-", "indicator_reading",
         [](auto b) { return alphavantage::parse_technical_indicator(b, "MSFT"); }, TICKERD_OK},
        {"time-series-daily-", "analytics",
         [](auto b) { return alphavantage::parse_daily_series(b, "X"); }, TICKERD_OK},
        // tickerd asks for no intraday series: the answer is only checked to be no error body.
        {"time-series-intraday-", "",
         [](std::string_view b) {
             auto root = alphavantage::answer_root(b, "TIME_SERIES_INTRADAY");
             if (auto* error = std::get_if<Answer>(&root)) return std::move(*error);
             return Answer::error(TICKERD_E_UNSUPPORTED, "not a function tickerd calls");
         },
         TICKERD_E_UNSUPPORTED},
    };
}

void check_folder(const fs::path& folder, const std::vector<Expectation>& table) {
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(folder)) {
        auto name = entry.path().filename().string();
        BOOST_TEST_CONTEXT(folder.filename().string() << "/" << name) {
            auto rule = std::find_if(table.begin(), table.end(), [&](const Expectation& e) {
                return name.starts_with(e.prefix);
            });
            BOOST_TEST_REQUIRE((rule != table.end()), "no parser is mapped to this file");
            auto answer = rule->parse(read_recorded(entry.path()));
            BOOST_TEST(answer.status == rule->status,
                       "got " << answer.status << ": " << answer.message);
            if (answer.status == TICKERD_OK && rule->data_type == "indicator_reading") {
                for (const char* key : {"symbol", "indicator", "as_of", "value"})
                    BOOST_TEST(answer.data.contains(key), "missing " << key);
            } else if (answer.status == TICKERD_OK && !rule->data_type.empty()) {
                check_schema(rule->data_type, answer.data);
            }
            if (answer.status != TICKERD_OK) BOOST_TEST(!answer.message.empty());
            ++files;
        }
    }
    BOOST_TEST(files > 0u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_recorded_yahoo_answer) {
    auto dir = shared_fixtures_dir();
    if (!dir) {
        BOOST_TEST_MESSAGE("no ../shared/fixtures beside this checkout: nothing to read");
        return;
    }
    check_folder(*dir / "yahoo", yahoo_expectations());
}

BOOST_AUTO_TEST_CASE(every_recorded_alphavantage_answer) {
    auto dir = shared_fixtures_dir();
    if (!dir) return;
    check_folder(*dir / "alphavantage", alphavantage_expectations());
}

BOOST_AUTO_TEST_CASE(daily_charts_also_give_analytics) {
    auto dir = shared_fixtures_dir();
    if (!dir) return;
    for (const char* name : {"chart-AAPL-1d-2020-08-31-to-2020-11-07-split-dividend.json",
                             "chart-BTC-USD-1d-2020-01-01-to-2020-01-03.json"}) {
        auto answer = yfinance::parse_analytics(read_recorded(*dir / "yahoo" / name), "X");
        BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, name << ": " << answer.message);
        BOOST_TEST(answer.data.at("bars").to_number<int>() > 0);
    }
    auto weekend = yfinance::parse_analytics(
        read_recorded(*dir / "yahoo" / "chart-AAPL-1m-2025-02-01-weekend-no-bars.json"), "AAPL");
    BOOST_TEST(weekend.status == TICKERD_E_NOT_FOUND);
}
