// The bars of the symbols this instance polls: the market_data worker hands every message it
// publishes to on_market_data(); a timer closes intervals that end without a tick. Bars are
// published on `stream:bars_{interval}:{SYMBOL}` in the channel's one series (the bus's
// sequencer), and the recent final bars are kept in a bounded ring per symbol and interval
// for GET /streaming/bars.
#pragma once

#include "scheduler/bars.hpp"
#include "scheduler/scheduler.hpp"

#include <boost/asio/steady_timer.hpp>

#include <map>
#include <mutex>
#include <optional>

namespace tickerd::scheduler::detail {

class BarFeed : public std::enable_shared_from_this<BarFeed> {
  public:
    // `calendar` checked by check_bar_settings; `bus` and `state` outlive the feed.
    BarFeed(boost::asio::io_context& io, bus::Bus& bus, config::StateStore& state, Options options,
            std::vector<BarInterval> intervals, BarCalendar calendar);

    void start();
    void stop();
    // Any thread. `at` is the market_data message's timestamp.
    void on_market_data(const std::string& symbol, const boost::json::object& data, SysTime at);
    // The recent finals (oldest first) and the bar in progress, when this instance aggregates
    // the symbol; nullopt when it does not.
    struct Recent {
        std::vector<Bar> finals;
        std::optional<Bar> current;
    };
    std::optional<Recent> recent(const std::string& symbol, const std::string& interval,
                                 std::size_t limit);
    // Closes whatever ended by `now` (the timer calls it with the wall clock). A symbol whose
    // instrument no longer lists market_data (or is gone) is forgotten: its series ends.
    void close_until(SysTime now);

  private:
    struct SymbolBars {
        VolumeCounter volume;
        std::vector<BarSeries> series;  // one per interval, in intervals_' order
        std::vector<BarRing> rings;
    };

    SymbolBars& symbol_bars(const std::string& symbol);
    void emit(const std::string& symbol, std::size_t interval, const Bar& bar, SymbolBars& bars);
    void schedule();

    bus::Bus& bus_;
    config::StateStore& state_;
    const Options options_;  // a copy: the feed's timer may outlive the manager
    const std::vector<BarInterval> intervals_;
    const BarCalendar calendar_;
    boost::asio::steady_timer timer_;
    std::mutex mutex_;
    bool stopped_ = false;
    std::map<std::string, SymbolBars> symbols_;
    // When the first open bar ends, so that the timer (4 times a second) walks every symbol
    // only when a bar is due: with 10,000 symbols the walk was most of the idle CPU.
    // nullopt: unknown, walk at the next tick.
    std::optional<SysTime> next_due_;
    void note_due(const SymbolBars& bars);
};

}  // namespace tickerd::scheduler::detail
