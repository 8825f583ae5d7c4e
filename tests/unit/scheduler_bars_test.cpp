// The bar aggregation with an explicit clock: interval names, UTC alignment, boundaries,
// empty intervals, daily bars across New York's DST changes, and cumulative volume with a
// session reset.
#define BOOST_TEST_MODULE scheduler_bars
#include "scheduler/bars.hpp"

#include <boost/test/unit_test.hpp>

using namespace tickerd;
using namespace tickerd::scheduler;
using namespace std::chrono;

namespace {

// Seconds since the epoch as a time point.
SysTime at(int64_t unix_seconds, int64_t millis = 0) {
    return SysTime(seconds(unix_seconds) + milliseconds(millis));
}

BarInterval interval(std::string_view name) {
    auto parsed = parse_bar_interval(name);
    BOOST_TEST_REQUIRE(parsed.has_value(), name);
    return *parsed;
}

const BarCalendar& new_york() {
    static const BarCalendar calendar = *BarCalendar::in_zone("America/New_York");
    return calendar;
}

}  // namespace

BOOST_AUTO_TEST_CASE(intervals_parse_and_must_divide_a_day) {
    BOOST_TEST(interval("1m").length == minutes(1));
    BOOST_TEST(interval("15m").length == minutes(15));
    BOOST_TEST(interval("1h").length == hours(1));
    BOOST_TEST(interval("2s").length == seconds(2));
    BOOST_TEST(interval("1d").daily);
    for (std::string_view bad : {"", "m", "0m", "7m", "1x", "2d", "05m", "-1m", "25h", "24h"}) {
        auto parsed = parse_bar_interval(bad);
        BOOST_TEST(!parsed.has_value(), bad);
        if (!parsed) BOOST_TEST(parsed.error().field == "bars.intervals");
    }
}

BOOST_AUTO_TEST_CASE(an_unknown_time_zone_is_refused_naming_the_setting) {
    auto calendar = BarCalendar::in_zone("Mars/Olympus_Mons");
    BOOST_TEST_REQUIRE(!calendar.has_value());
    BOOST_TEST(calendar.error().field == "bars.daily_time_zone");
}

BOOST_AUTO_TEST_CASE(sub_daily_bars_align_to_utc_boundaries) {
    // 2025-01-02 14:37:29.5 UTC
    auto t = at(1735828649, 500);
    auto span = new_york().span_of(interval("5m"), t);
    BOOST_TEST(span.start.time_since_epoch() == seconds(1735828500));  // 14:35:00
    BOOST_TEST(span.end.time_since_epoch() == seconds(1735828800));    // 14:40:00
    // A tick exactly on a boundary starts the next bar.
    auto on = new_york().span_of(interval("5m"), at(1735828800));
    BOOST_TEST(on.start.time_since_epoch() == seconds(1735828800));
    auto hour = new_york().span_of(interval("1h"), t);
    BOOST_TEST(hour.start.time_since_epoch() == seconds(1735826400));  // 14:00
}

BOOST_AUTO_TEST_CASE(daily_bars_follow_new_york_midnight_across_dst) {
    // 2025-03-09 (spring forward): midnight EST 05:00 UTC to midnight EDT 04:00 UTC next day.
    auto spring = new_york().span_of(interval("1d"), at(1741503600));    // 07:00 UTC
    BOOST_TEST(spring.start.time_since_epoch() == seconds(1741496400));  // 03-09 05:00 UTC
    BOOST_TEST(spring.end.time_since_epoch() == seconds(1741579200));    // 03-10 04:00 UTC
    BOOST_TEST(duration_cast<hours>(spring.end - spring.start).count() == 23);
    // 2025-11-02 (fall back): 25 hours.
    auto fall = new_york().span_of(interval("1d"), at(1762099200));    // 11-02 16:00 UTC
    BOOST_TEST(fall.start.time_since_epoch() == seconds(1762056000));  // 11-02 04:00 UTC
    BOOST_TEST(fall.end.time_since_epoch() == seconds(1762146000));    // 11-03 05:00 UTC
    BOOST_TEST(duration_cast<hours>(fall.end - fall.start).count() == 25);
    // 03:30 UTC on 11-02 is still 11-01 in New York (23:30 EDT).
    auto before = new_york().span_of(interval("1d"), at(1762054200));
    BOOST_TEST(before.end.time_since_epoch() == seconds(1762056000));
}

BOOST_AUTO_TEST_CASE(ticks_update_the_bar_and_the_boundary_closes_it) {
    BarSeries series(interval("1m"), new_york());
    auto first = series.on_tick(10.0, 0, at(1735828800, 100));  // 14:40:00.1
    BOOST_TEST_REQUIRE(first.size() == 1u);
    BOOST_TEST(!first[0].final);
    BOOST_TEST(first[0].open == 10.0);
    BOOST_TEST(first[0].updates == 1u);
    series.on_tick(12.0, 5, at(1735828810));
    auto third = series.on_tick(9.0, 7, at(1735828859, 999));
    BOOST_TEST_REQUIRE(third.size() == 1u);
    BOOST_TEST(third[0].high == 12.0);
    BOOST_TEST(third[0].low == 9.0);
    BOOST_TEST(third[0].close == 9.0);
    BOOST_TEST(third[0].volume == 12.0);
    BOOST_TEST(third[0].updates == 3u);

    // Nothing closes before the end; at the end exactly one final.
    BOOST_TEST(series.close_until(at(1735828859, 999)).empty());
    auto finals = series.close_until(at(1735828860));
    BOOST_TEST_REQUIRE(finals.size() == 1u);
    BOOST_TEST(finals[0].final);
    BOOST_TEST(finals[0].open == 10.0);
    BOOST_TEST(finals[0].close == 9.0);
    BOOST_TEST(finals[0].updates == 3u);
    BOOST_TEST(finals[0].end.time_since_epoch() == seconds(1735828860));
    BOOST_TEST(series.close_until(at(1735828861)).empty());  // not twice

    // The next tick opens the next bar at its own price.
    auto next = series.on_tick(11.0, 1, at(1735828870));
    BOOST_TEST_REQUIRE(next.size() == 1u);
    BOOST_TEST(next[0].open == 11.0);
    BOOST_TEST(next[0].start.time_since_epoch() == seconds(1735828860));
}

BOOST_AUTO_TEST_CASE(an_interval_without_ticks_gets_a_final_bar_at_the_previous_close) {
    BarSeries series(interval("1m"), new_york());
    series.on_tick(10.0, 0, at(1735828800));
    series.on_tick(11.5, 3, at(1735828830));
    // The next tick comes three minutes later: two empty finals before it.
    auto out = series.on_tick(12.0, 4, at(1735828800 + 3 * 60 + 5));
    BOOST_TEST_REQUIRE(out.size() == 4u);  // the ticked final, two empty finals, the update
    BOOST_TEST(out[0].updates == 2u);
    for (int i : {1, 2}) {
        BOOST_TEST(out[i].final);
        BOOST_TEST(out[i].updates == 0u);
        BOOST_TEST(out[i].open == 11.5);
        BOOST_TEST(out[i].high == 11.5);
        BOOST_TEST(out[i].low == 11.5);
        BOOST_TEST(out[i].close == 11.5);
        BOOST_TEST(out[i].volume == 0.0);
        BOOST_TEST((out[i].start == out[i - 1].end));
    }
    BOOST_TEST(!out[3].final);
    BOOST_TEST(out[3].open == 12.0);
    BOOST_TEST((out[3].start == out[2].end));
    // Before any tick there is nothing to close.
    BarSeries idle(interval("1m"), new_york());
    BOOST_TEST(idle.close_until(at(1735828800 + 3600)).empty());
}

BOOST_AUTO_TEST_CASE(daily_series_closes_at_the_zones_midnight) {
    BarSeries series(interval("1d"), new_york());
    series.on_tick(100.0, 0, at(1741496400 + 3600));  // 03-09 01:00 EST
    BOOST_TEST(series.close_until(at(1741579199)).empty());
    auto finals = series.close_until(at(1741579200));  // 03-10 00:00 EDT
    BOOST_TEST_REQUIRE(finals.size() == 1u);
    BOOST_TEST(duration_cast<hours>(finals[0].end - finals[0].start).count() == 23);
}

BOOST_AUTO_TEST_CASE(volume_is_the_difference_of_cumulative_reports_with_a_session_reset) {
    VolumeCounter counter;
    BOOST_TEST(counter.on_report(1000.0) == 0.0);  // no baseline yet
    BOOST_TEST(counter.on_report(1500.0) == 500.0);
    BOOST_TEST(counter.on_report(1500.0) == 0.0);
    BOOST_TEST(counter.on_report(std::nullopt) == 0.0);  // a report without volume
    BOOST_TEST(counter.on_report(1600.0) == 100.0);
    BOOST_TEST(counter.on_report(40.0) == 40.0);  // a new session starts from zero
    BOOST_TEST(counter.on_report(90.0) == 50.0);
}

BOOST_AUTO_TEST_CASE(the_ring_keeps_the_newest_bars) {
    BarRing ring(3);
    for (int i = 0; i < 5; ++i) {
        Bar bar;
        bar.close = i;
        ring.push(bar);
    }
    auto two = ring.newest(2);
    BOOST_TEST_REQUIRE(two.size() == 2u);
    BOOST_TEST(two[0].close == 3.0);
    BOOST_TEST(two[1].close == 4.0);
    BOOST_TEST(ring.newest(10).size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_bar_as_json_has_the_contract_fields) {
    Bar bar{1, 2, 0.5, 1.5, 300, 4, at(1735828800), at(1735828860), true};
    auto json = to_json(bar, "AAPL", "1m");
    for (const char* field :
         {"open", "high", "low", "close", "volume", "updates", "start", "end", "final"})
        BOOST_TEST(json.contains(field), field);
    BOOST_TEST(json.at("start").as_string() == "2025-01-02T14:40:00.000Z");
    BOOST_TEST(json.at("final").as_bool());
}

BOOST_AUTO_TEST_CASE(a_series_resumes_from_the_last_bar_another_instance_published) {
    BarSeries first(interval("1m"), new_york());
    first.on_tick(10.0, 0, at(1735828800));
    auto last = first.on_tick(12.0, 5, at(1735828810)).back();
    auto parsed = bar_from_json(to_json(last, "AAPL", "1m"));
    BOOST_TEST_REQUIRE(parsed.has_value());
    BarSeries second(interval("1m"), new_york());
    second.resume(*parsed);
    auto next = second.on_tick(9.0, 1, at(1735828820)).back();
    BOOST_TEST(next.open == 10.0);
    BOOST_TEST(next.high == 12.0);
    BOOST_TEST(next.low == 9.0);
    BOOST_TEST(next.volume == 6.0);
    BOOST_TEST(next.updates == 3u);
    // After a final one, the next interval opens at its close, and an empty one closes.
    auto final = second.close_until(at(1735828860)).front();
    BarSeries third(interval("1m"), new_york());
    third.resume(*bar_from_json(to_json(final, "AAPL", "1m")));
    auto empty = third.close_until(at(1735828920));
    BOOST_TEST_REQUIRE(empty.size() == 1u);
    BOOST_TEST(empty[0].updates == 0u);
    BOOST_TEST(empty[0].close == 9.0);
    BOOST_TEST(empty[0].start.time_since_epoch() == seconds(1735828860));
}
