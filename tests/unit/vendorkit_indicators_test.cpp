// The indicators against values computed independently (tests/fixtures/analytics/
// reference.py, plain Python from the textbook definitions), and their edge cases.
#define BOOST_TEST_MODULE vendorkit_indicators
#include <boost/test/unit_test.hpp>

#include "indicators.hpp"
#include "support/reference_bars.hpp"

#include <boost/json.hpp>

using namespace tickerd::testing;

namespace {

std::vector<vendorkit::Bar> bars(std::size_t count = 0) {
    std::vector<vendorkit::Bar> out;
    for (const auto& bar : reference_bars())
        out.push_back({bar.date, bar.open, bar.high, bar.low, bar.close});
    if (count) out.resize(count);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_year_of_bars_matches_the_reference) {
    auto series = bars();
    BOOST_TEST_REQUIRE(series.size() == 260u);
    auto data = vendorkit::analytics("REF", series);
    check_indicators(data, "all");
    BOOST_TEST(data.at("as_of").as_string() == series.back().date);
    BOOST_TEST(data.at("close").as_double() == series.back().close);
    BOOST_TEST(data.at("bars").to_number<int>() == 260);
}

BOOST_AUTO_TEST_CASE(a_short_history_leaves_the_long_indicators_null) {
    auto data = vendorkit::analytics("REF", bars(30));
    check_indicators(data, "first_30");  // SMA 50/200 and MACD null, the rest computed
    BOOST_TEST(data.at("macd").is_null());
    BOOST_TEST(data.at("rsi_14").is_number());
}

BOOST_AUTO_TEST_CASE(no_bars_give_an_all_null_object) {
    auto data = vendorkit::analytics("REF", {});
    BOOST_TEST(data.at("as_of").is_null());
    BOOST_TEST(data.at("ema_10").is_null());
    BOOST_TEST(data.at("atr_14").is_null());
}

BOOST_AUTO_TEST_CASE(rsi_of_one_way_and_flat_series) {
    std::vector<double> rising, flat(20, 10.0);
    for (int i = 0; i < 20; ++i)
        rising.push_back(10.0 + i);
    BOOST_TEST(*vendorkit::relative_strength_index(rising, 14) == 100.0);
    BOOST_TEST(*vendorkit::relative_strength_index(flat, 14) == 50.0);
    BOOST_TEST(!vendorkit::relative_strength_index(std::vector<double>(14, 1.0), 14));
}

BOOST_AUTO_TEST_CASE(sma_and_ema_by_hand) {
    std::vector<double> values{1, 2, 3, 4, 5, 6};
    BOOST_TEST(*vendorkit::simple_moving_average(values, 3) == 5.0);
    // EMA 3: seed mean(1,2,3)=2, k=0.5 → 3, 4, 5
    auto ema = vendorkit::exponential_moving_averages(values, 3);
    BOOST_TEST(ema == (std::vector<double>{2, 3, 4, 5}), boost::test_tools::per_element());
}
