#include "support/tick_bars.hpp"

#include "support/clients.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <stdexcept>

namespace tickerd::testing {

int64_t unix_ms_of(const boost::json::value& iso_text) {
    auto when = parse_iso8601(iso_text.as_string());
    if (!when) throw std::runtime_error("not an ISO 8601 time");
    return std::chrono::duration_cast<std::chrono::milliseconds>(when->time_since_epoch()).count();
}

std::map<int64_t, TickBar> bars_from_ticks(const std::vector<boost::json::value>& market_data,
                                           int64_t interval_ms) {
    std::map<int64_t, TickBar> bars;
    bool have_volume = false;
    double last_volume = 0;
    for (const auto& message : market_data) {
        const auto& data = message.at("data");
        double price = data.at("price").to_number<double>();
        double traded = 0;
        if (const auto* volume = data.as_object().if_contains("volume")) {
            double cumulative = volume->to_number<double>();
            if (have_volume)
                traded = cumulative < last_volume ? cumulative : cumulative - last_volume;
            last_volume = cumulative;
            have_volume = true;
        }
        int64_t at = unix_ms_of(message.at("timestamp"));
        int64_t start = at / interval_ms * interval_ms;
        auto [it, fresh] = bars.try_emplace(start);
        TickBar& bar = it->second;
        if (fresh) {
            bar = TickBar{price, price, price, price, 0, 0, start, start + interval_ms};
        }
        bar.high = std::max(bar.high, price);
        bar.low = std::min(bar.low, price);
        bar.close = price;
        bar.volume += traded;
        ++bar.updates;
    }
    return bars;
}

}  // namespace tickerd::testing
