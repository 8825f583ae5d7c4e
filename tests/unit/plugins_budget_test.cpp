// The request budget's sliding windows, on a clock the test moves by hand.
#define BOOST_TEST_MODULE plugins_budget
#include <boost/test/unit_test.hpp>

#include "plugins/plugins.hpp"

using namespace std::chrono_literals;
using tickerd::plugins::BudgetMeter;
using tickerd::plugins::RequestBudget;

namespace {

const BudgetMeter::Clock::time_point kStart{std::chrono::hours(1000)};

}  // namespace

BOOST_AUTO_TEST_CASE(no_budget_never_refuses) {
    BudgetMeter meter(RequestBudget{});
    for (int i = 0; i < 10000; ++i)
        BOOST_TEST_REQUIRE(!meter.try_spend(kStart));
    BOOST_TEST(meter.usage(kStart).minute == 0);  // nothing is remembered
}

BOOST_AUTO_TEST_CASE(five_a_minute_refills_as_calls_age_out) {
    BudgetMeter meter(RequestBudget{5, 0, 0});
    for (int i = 0; i < 5; ++i)
        BOOST_TEST_REQUIRE(!meter.try_spend(kStart + std::chrono::seconds(i)));
    auto wait = meter.try_spend(kStart + 10s);
    BOOST_TEST_REQUIRE(wait.has_value());
    BOOST_TEST(wait->count() == 50'000);  // the first call (at 0 s) leaves the window at 60 s
    BOOST_TEST(meter.usage(kStart + 10s).minute == 5);  // the refused call was not spent
    BOOST_TEST(!meter.try_spend(kStart + 60s));
    BOOST_TEST(meter.try_spend(kStart + 60s).has_value());  // the one at 1 s is still inside
}

BOOST_AUTO_TEST_CASE(the_daily_limit_outlasts_the_minute) {
    BudgetMeter meter(RequestBudget{5, 0, 25});
    auto now = kStart;
    int spent = 0;
    for (int minute = 0; minute < 10; ++minute) {
        for (int i = 0; i < 5; ++i) {
            if (!meter.try_spend(now + std::chrono::seconds(i))) ++spent;
        }
        now += 1min;
    }
    BOOST_TEST(spent == 25);
    auto wait = meter.try_spend(now);
    BOOST_TEST_REQUIRE(wait.has_value());
    BOOST_TEST(*wait > std::chrono::milliseconds(23h));  // until the first call is a day old
    auto usage = meter.usage(now);
    BOOST_TEST(usage.day == 25);
    BOOST_TEST(usage.hour == 25);
    BOOST_TEST(!meter.try_spend(kStart + 24h));  // a day later there is room again
}
