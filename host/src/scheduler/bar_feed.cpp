#include "scheduler/bar_feed.hpp"

#include "core/log.hpp"

#include <algorithm>

namespace tickerd::scheduler::detail {

namespace {

// Final bars kept per symbol and interval for GET /streaming/bars.
constexpr std::size_t kRingCapacity = 500;
// How often intervals that ended without a tick are closed: a final bar is at most this late.
constexpr std::chrono::milliseconds kCloseEvery{250};
// A bar channel's latest message is kept for three intervals, and at least this long.
constexpr std::chrono::seconds kMinBarTtl{300};

}  // namespace

BarFeed::BarFeed(boost::asio::io_context& io, bus::Bus& bus, config::StateStore& state,
                 Options options, std::vector<BarInterval> intervals, BarCalendar calendar)
    : bus_(bus),
      state_(state),
      options_(std::move(options)),
      intervals_(std::move(intervals)),
      calendar_(std::move(calendar)),
      timer_(io) {}

void BarFeed::start() {
    if (intervals_.empty()) return;
    schedule();
}

void BarFeed::stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    timer_.cancel();
}

void BarFeed::schedule() {
    timer_.expires_after(kCloseEvery);
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self) return;
        try {
            self->close_until(self->options_.wall_clock());
        } catch (const std::exception& e) {  // a bug must not stop the timer for good
            BOOST_LOG_TRIVIAL(error) << "bars: closing intervals failed: " << e.what();
        }
        std::lock_guard lock(self->mutex_);
        if (!self->stopped_) self->schedule();
    });
}

BarFeed::SymbolBars& BarFeed::symbol_bars(const std::string& symbol) {
    auto it = symbols_.find(symbol);
    if (it != symbols_.end()) return it->second;
    SymbolBars bars;
    for (const auto& interval : intervals_) {
        bars.series.emplace_back(interval, calendar_);
        bars.rings.emplace_back(kRingCapacity);
        // Taken over from another instance: its series goes on here.
        if (!options_.share) continue;
        auto handed =
            options_.share->handed_over(channel_name(bar_channel_type(interval.name), symbol));
        if (!handed) continue;
        auto message = bus::message_from_json(*handed);
        if (!message) continue;
        boost::system::error_code ec;
        auto json = boost::json::parse((*message)->json, ec);
        if (ec || !json.is_object()) continue;
        const auto* data = json.get_object().if_contains("data");
        if (!data || !data->is_object()) continue;
        if (auto last = bar_from_json(data->get_object())) bars.series.back().resume(*last);
    }
    auto& added = symbols_.emplace(symbol, std::move(bars)).first->second;
    note_due(added);
    return added;
}

void BarFeed::on_market_data(const std::string& symbol, const boost::json::object& data,
                             SysTime at) {
    if (intervals_.empty()) return;
    auto price = number_at(data, "price");
    if (!price) return;  // nothing to aggregate
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    auto& bars = symbol_bars(symbol);
    double traded = bars.volume.on_report(number_at(data, "volume"));
    for (std::size_t i = 0; i < bars.series.size(); ++i) {
        for (const auto& bar : bars.series[i].on_tick(*price, traded, at))
            emit(symbol, i, bar, bars);
    }
    note_due(bars);
}

// Called with mutex_ held.
void BarFeed::note_due(const SymbolBars& bars) {
    for (const auto& series : bars.series) {
        const auto& open = series.current();
        if (open && (!next_due_ || open->end < *next_due_)) next_due_ = open->end;
    }
}

void BarFeed::close_until(SysTime now) {
    auto config = state_.snapshot();
    auto listed = [&](const std::string& symbol) {
        const auto* instrument = config->find_instrument(symbol);
        return instrument && instrument->serves(DataType::market_data);
    };
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    // A symbol no longer configured, or polled elsewhere now, is dropped at the next walk:
    // before that nothing is due, so nothing of it is published.
    if (next_due_ && now < *next_due_) return;
    next_due_.reset();
    for (auto it = symbols_.begin(); it != symbols_.end();) {
        if (!listed(it->first)) {
            it = symbols_.erase(it);
            continue;
        }
        // Another instance polls it now (the lease moved): it aggregates from here on.
        if (options_.share && !options_.share->owns(DataType::market_data, it->first)) {
            it = symbols_.erase(it);
            continue;
        }
        for (std::size_t i = 0; i < it->second.series.size(); ++i) {
            for (const auto& bar : it->second.series[i].close_until(now))
                emit(it->first, i, bar, it->second);
        }
        note_due(it->second);
        ++it;
    }
}

void BarFeed::emit(const std::string& symbol, std::size_t interval, const Bar& bar,
                   SymbolBars& bars) {
    const auto& name = intervals_[interval].name;
    if (bar.final) bars.rings[interval].push(bar);
    bus::Derived derived{ChannelKey{bar_channel_type(name), symbol}, DataType::market_data,
                         options_.instance, to_json(bar, symbol, name)};
    auto channel = derived.channel.name();
    auto ttl =
        std::max(kMinBarTtl,
                 std::chrono::duration_cast<std::chrono::seconds>(3 * intervals_[interval].length));
    if (options_.share)
        bus_.sequencer().continue_after(channel, options_.share->seq_floor(channel));
    bus_.sequencer().publish_next(channel, [&](uint64_t seq) {
        bus_.publish(bus::make_message(derived, seq, options_.wall_clock()), ttl);
    });
}

std::optional<BarFeed::Recent> BarFeed::recent(const std::string& symbol,
                                               const std::string& interval, std::size_t limit) {
    std::lock_guard lock(mutex_);
    auto it = symbols_.find(symbol);
    if (it == symbols_.end()) return std::nullopt;
    for (std::size_t i = 0; i < intervals_.size(); ++i) {
        if (intervals_[i].name != interval) continue;
        return Recent{it->second.rings[i].newest(limit), it->second.series[i].current()};
    }
    return std::nullopt;
}

}  // namespace tickerd::scheduler::detail
