#include "scheduler/bars.hpp"

#include "core/model.hpp"

#include <date/tz.h>

#include <algorithm>
#include <sstream>

namespace tickerd::scheduler {

Result<BarCalendar> BarCalendar::in_zone(const std::string& zone_name) {
    try {
        return BarCalendar(zone_name, date::locate_zone(zone_name));
    } catch (const std::exception& e) {
        return Error::invalid("bars.daily_time_zone", "'" + zone_name +
                                                          "' is not a time zone of the "
                                                          "system's tz database (" +
                                                          e.what() + ")");
    }
}

BarCalendar::Span BarCalendar::span_of(const BarInterval& interval, SysTime at) const {
    using namespace std::chrono;
    auto seconds_at = floor<seconds>(at);
    if (!interval.daily) {
        auto since_epoch = seconds_at.time_since_epoch();
        auto start = since_epoch - (since_epoch % interval.length);
        if (since_epoch < seconds{0} && since_epoch % interval.length != seconds{0})
            start -= interval.length;
        return {SysTime(start), SysTime(start + interval.length)};
    }
    // The local day of `at`; its bar runs from this midnight to the next (earliest instant
    // for a midnight that repeats, the transition for one that does not exist).
    auto local = zone_->to_local(date::sys_seconds(seconds_at.time_since_epoch()));
    auto day = date::floor<date::days>(local);
    auto start = zone_->to_sys(day, date::choose::earliest);
    auto end = zone_->to_sys(day + date::days{1}, date::choose::earliest);
    return {SysTime(start.time_since_epoch()), SysTime(end.time_since_epoch())};
}

boost::json::object to_json(const Bar& bar, std::string_view symbol, std::string_view interval) {
    return {{"symbol", symbol},
            {"interval", interval},
            {"open", bar.open},
            {"high", bar.high},
            {"low", bar.low},
            {"close", bar.close},
            {"volume", bar.volume},
            {"updates", bar.updates},
            {"start", iso8601_utc(bar.start)},
            {"end", iso8601_utc(bar.end)},
            {"final", bar.final}};
}

std::optional<Bar> bar_from_json(const boost::json::object& data) {
    try {
        auto time = [&](const char* key) -> std::optional<SysTime> {
            std::istringstream in(std::string(data.at(key).as_string()));
            date::sys_time<std::chrono::milliseconds> parsed;
            in >> date::parse("%FT%TZ", parsed);
            if (in.fail()) return std::nullopt;
            return SysTime(parsed.time_since_epoch());
        };
        auto start = time("start");
        auto end = time("end");
        if (!start || !end) return std::nullopt;
        return Bar{data.at("open").to_number<double>(),
                   data.at("high").to_number<double>(),
                   data.at("low").to_number<double>(),
                   data.at("close").to_number<double>(),
                   data.at("volume").to_number<double>(),
                   data.at("updates").to_number<uint64_t>(),
                   *start,
                   *end,
                   data.at("final").as_bool()};
    } catch (const std::exception&) {  // not a bar: nothing to resume
        return std::nullopt;
    }
}

void BarSeries::resume(const Bar& last) {
    if (!last.final) {
        current_ = last;
        return;
    }
    auto span = calendar_->span_of(interval_, last.end);
    current_ =
        Bar{last.close, last.close, last.close, last.close, 0, 0, span.start, span.end, false};
}

double VolumeCounter::on_report(std::optional<double> cumulative) {
    if (!cumulative) return 0;
    double traded = 0;
    if (last_) traded = *cumulative >= *last_ ? *cumulative - *last_ : *cumulative;
    last_ = cumulative;
    return traded;
}

std::vector<Bar> BarSeries::close_until(SysTime now) {
    std::vector<Bar> finals;
    if (!current_) return finals;
    if (current_->end > now) return finals;
    Bar closed = *current_;
    closed.final = true;
    finals.push_back(closed);
    // Empty intervals up to the one holding `now`, each with the previous close.
    double close = closed.close;
    auto span = calendar_->span_of(interval_, closed.end);
    while (span.end <= now && finals.size() <= kMaxEmptyFinals) {
        finals.push_back(Bar{close, close, close, close, 0, 0, span.start, span.end, true});
        span = calendar_->span_of(interval_, span.end);
    }
    if (span.end <= now) span = calendar_->span_of(interval_, now);  // past the cap: skip
    current_ = Bar{close, close, close, close, 0, 0, span.start, span.end, false};
    return finals;
}

std::vector<Bar> BarSeries::on_tick(double price, double volume, SysTime at) {
    auto out = close_until(at);
    if (current_ && at < current_->start) {
        // A tick stamped before the open bar (a clock stepped back): it counts in the open
        // bar rather than reopening a closed one.
        at = current_->start;
    }
    if (!current_ || current_->updates == 0) {
        auto span = current_ ? BarCalendar::Span{current_->start, current_->end}
                             : calendar_->span_of(interval_, at);
        double carried = current_ ? current_->volume : 0;
        current_ = Bar{price, price, price, price, carried, 0, span.start, span.end, false};
    } else {
        current_->high = std::max(current_->high, price);
        current_->low = std::min(current_->low, price);
        current_->close = price;
    }
    current_->volume += volume;
    ++current_->updates;
    out.push_back(*current_);
    return out;
}

void BarRing::push(const Bar& bar) {
    if (capacity_ == 0) return;
    if (bars_.size() == capacity_) bars_.pop_front();
    bars_.push_back(bar);
}

std::vector<Bar> BarRing::newest(std::size_t limit) const {
    auto count = std::min(limit, bars_.size());
    return {bars_.end() - static_cast<std::ptrdiff_t>(count), bars_.end()};
}

}  // namespace tickerd::scheduler
