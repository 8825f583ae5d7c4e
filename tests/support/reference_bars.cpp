#include "support/reference_bars.hpp"

#include "support/fixture_files.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>

#include <ctime>
#include <sstream>

namespace tickerd::testing {

namespace json = boost::json;

namespace {

// Midnight UTC of "YYYY-MM-DD" plus 14:30 (the New York open); with gmtoffset −5 h the bar
// still falls on its own day.
int64_t open_time(const std::string& date) {
    std::tm day{};
    day.tm_year = std::stoi(date.substr(0, 4)) - 1900;
    day.tm_mon = std::stoi(date.substr(5, 2)) - 1;
    day.tm_mday = std::stoi(date.substr(8, 2));
    return static_cast<int64_t>(timegm(&day)) + 14 * 3600 + 30 * 60;
}

}  // namespace

std::vector<ReferenceBar> reference_bars() {
    std::istringstream csv(own_fixture("analytics/bars.csv"));
    std::string line;
    std::getline(csv, line);  // header
    std::vector<ReferenceBar> bars;
    while (std::getline(csv, line)) {
        if (line.empty()) continue;
        std::istringstream fields(line);
        ReferenceBar bar;
        std::string cell;
        std::getline(fields, bar.date, ',');
        std::getline(fields, cell, ',');
        bar.open = std::stod(cell);
        std::getline(fields, cell, ',');
        bar.high = std::stod(cell);
        std::getline(fields, cell, ',');
        bar.low = std::stod(cell);
        std::getline(fields, cell, ',');
        bar.close = std::stod(cell);
        bars.push_back(bar);
    }
    return bars;
}

json::object expected_indicators(const std::string& which) {
    return json::parse(own_fixture("analytics/expected.json")).at(which).as_object();
}

void check_indicators(const json::object& data, const std::string& which) {
    for (const auto& [name, expected] : expected_indicators(which)) {
        BOOST_TEST_CONTEXT("indicator " << name) {
            const auto* got = data.if_contains(name);
            BOOST_TEST_REQUIRE(got != nullptr);
            if (expected.is_null()) {
                BOOST_TEST(got->is_null());
                continue;
            }
            BOOST_TEST_REQUIRE(got->is_number());
            double want = expected.to_number<double>();
            BOOST_TEST(
                std::fabs(got->to_number<double>() - want) <= 1e-6 * std::max(1.0, std::fabs(want)),
                got->to_number<double>() << " != " << want);
        }
    }
}

std::string as_yahoo_chart(const std::vector<ReferenceBar>& bars, const std::string& symbol) {
    json::array times, opens, highs, lows, closes;
    for (std::size_t i = 0; i < bars.size(); ++i) {
        if (i == bars.size() / 2) {  // Yahoo's habit: a bar with a time and no prices
            times.push_back(open_time(bars[i].date) - 3600);
            for (auto* column : {&opens, &highs, &lows, &closes})
                column->push_back(nullptr);
        }
        times.push_back(open_time(bars[i].date));
        opens.push_back(bars[i].open);
        highs.push_back(bars[i].high);
        lows.push_back(bars[i].low);
        closes.push_back(bars[i].close);
    }
    json::object meta{{"currency", "USD"},
                      {"symbol", symbol},
                      {"gmtoffset", -18000},
                      {"regularMarketPrice", bars.back().close}};
    json::object quote{{"open", opens}, {"high", highs}, {"low", lows}, {"close", closes}};
    json::object result{{"meta", meta},
                        {"timestamp", times},
                        {"indicators", json::object{{"quote", json::array{quote}}}}};
    return json::serialize(
        json::object{{"chart", json::object{{"result", json::array{result}}, {"error", nullptr}}}});
}

std::string as_alphavantage_daily(const std::vector<ReferenceBar>& bars,
                                  const std::string& symbol) {
    auto text = [](double value) {
        std::ostringstream out;
        out.precision(4);
        out << std::fixed << value;
        return out.str();
    };
    json::object series;
    for (auto it = bars.rbegin(); it != bars.rend(); ++it) {
        series[it->date] = json::object{{"1. open", text(it->open)},
                                        {"2. high", text(it->high)},
                                        {"3. low", text(it->low)},
                                        {"4. close", text(it->close)},
                                        {"5. volume", "1000000"}};
    }
    return json::serialize(json::object{
        {"Meta Data", json::object{{"1. Information", "Daily Prices"}, {"2. Symbol", symbol}}},
        {"Time Series (Daily)", series}});
}

}  // namespace tickerd::testing
