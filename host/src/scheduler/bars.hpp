// OHLC bars from market_data (CONTRACT.md §8): the pure aggregation, with the time passed in,
// so boundaries, empty intervals and DST are tested without time passing. The worker feeds
// it (bar_feed.cpp) and publishes what it returns on `stream:bars_{interval}:{SYMBOL}`.
#pragma once

#include "core/model.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace date {
class time_zone;
}

namespace tickerd::scheduler {

using SysTime = std::chrono::system_clock::time_point;

// Where an interval's bars start and end: sub-daily ones on multiples of their length since
// the Unix epoch (UTC), daily ones at midnight of `zone` (23 or 25 hours long on the days
// its clocks change).
class BarCalendar {
  public:
    // Fails (422, field "bars.daily_time_zone") for a name the system's tz database lacks.
    static Result<BarCalendar> in_zone(const std::string& zone_name);
    const std::string& zone_name() const { return zone_name_; }
    struct Span {
        SysTime start, end;
    };
    Span span_of(const BarInterval& interval, SysTime at) const;

  private:
    BarCalendar(std::string name, const date::time_zone* zone)
        : zone_name_(std::move(name)), zone_(zone) {}
    std::string zone_name_;
    const date::time_zone* zone_ = nullptr;  // owned by the tz database, lives forever
};

struct Bar {
    double open = 0, high = 0, low = 0, close = 0;
    double volume = 0;
    uint64_t updates = 0;  // ticks in the bar; 0 for a final bar of an interval with none
    SysTime start, end;
    bool final = false;
};
// The message's `data`: open, high, low, close, volume, updates, start, end (ISO 8601 UTC),
// final, plus symbol and interval.
boost::json::object to_json(const Bar& bar, std::string_view symbol, std::string_view interval);

// The traded volume between two reports of a vendor's cumulative session volume: the
// difference, or the whole new figure when it went down (a new session began). The first
// report has no baseline: 0.
class VolumeCounter {
  public:
    double on_report(std::optional<double> cumulative);

  private:
    std::optional<double> last_;
};

// One symbol's bars of one interval. Every bar that ends is returned once as final; an
// interval with no tick after the first one still gets its final bar (updates 0, OHLC the
// previous close).
class BarSeries {
  public:
    BarSeries(BarInterval interval, const BarCalendar& calendar)
        : interval_(std::move(interval)), calendar_(&calendar) {}
    // Closes the bars that ended at or before `now`: their finals, oldest first.
    std::vector<Bar> close_until(SysTime now);
    // Closes what ended before `at`, then adds the tick: those finals, then the in-progress bar.
    std::vector<Bar> on_tick(double price, double volume, SysTime at);
    // Continues a series another instance began, from its last published bar: an open bar
    // goes on; after a final one the next interval opens at its close.
    void resume(const Bar& last);
    const BarInterval& interval() const { return interval_; }
    const std::optional<Bar>& current() const { return current_; }

    // Empty intervals closed in one call at most (a clock jump of months must not flood).
    static constexpr std::size_t kMaxEmptyFinals = 10000;

  private:
    BarInterval interval_;
    const BarCalendar* calendar_;
    std::optional<Bar> current_;
};

// A bar from its JSON (to_json's form); nullopt when it is not one.
std::optional<Bar> bar_from_json(const boost::json::object& data);

// Final bars kept for GET /streaming/bars, oldest first, at most `capacity`.
class BarRing {
  public:
    explicit BarRing(std::size_t capacity) : capacity_(capacity) {}
    void push(const Bar& bar);
    // The newest `limit` bars, oldest first.
    std::vector<Bar> newest(std::size_t limit) const;

  private:
    std::size_t capacity_;
    std::deque<Bar> bars_;
};

}  // namespace tickerd::scheduler
