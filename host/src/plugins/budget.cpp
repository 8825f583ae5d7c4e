// The request budget: a sliding window of spent calls per instance. Alpha Vantage's free tier
// (25 a day, 5 a minute) is the reason: its "Note" body arrives only after a call was wasted,
// while the host can stop before it and hand the poll to the next vendor.
#include "plugins/plugins.hpp"

#include <algorithm>

namespace tickerd::plugins {

namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kMinute = 1min;
constexpr std::chrono::milliseconds kHour = 1h;
constexpr std::chrono::milliseconds kDay = 24h;

}  // namespace

boost::json::object to_json(const RequestBudget& budget) {
    return {{"per_minute", budget.per_minute},
            {"per_hour", budget.per_hour},
            {"per_day", budget.per_day}};
}

std::string describe(const RequestBudget& budget) {
    std::string text;
    for (auto [limit, unit] :
         {std::pair{budget.per_minute, "minute"}, std::pair{budget.per_hour, "hour"},
          std::pair{budget.per_day, "day"}}) {
        if (limit <= 0) continue;
        if (!text.empty()) text += ", ";
        text += std::to_string(limit) + "/" + unit;
    }
    return text;
}

BudgetMeter::BudgetMeter(RequestBudget budget) : budget_(budget) {}

void BudgetMeter::forget_before(Clock::time_point now) {
    while (!spent_.empty() && now - spent_.front() >= kDay)
        spent_.pop_front();
}

std::optional<std::chrono::milliseconds> BudgetMeter::try_spend(Clock::time_point now) {
    if (!budget_.limited()) return std::nullopt;
    std::lock_guard lock(mutex_);
    forget_before(now);
    // For each limited window: when it is full, the wait is until its oldest call leaves it.
    std::chrono::milliseconds wait{0};
    for (auto [limit, window] :
         {std::pair{budget_.per_minute, kMinute}, std::pair{budget_.per_hour, kHour},
          std::pair{budget_.per_day, kDay}}) {
        if (limit <= 0) continue;
        auto first_inside =
            std::find_if(spent_.begin(), spent_.end(),
                         [&, window = window](auto at) { return now - at < window; });
        auto inside = spent_.end() - first_inside;
        if (inside < limit) continue;
        auto oldest_needed =
            *(spent_.end() - limit);  // leaves the window first among the last `limit`
        auto until = std::chrono::ceil<std::chrono::milliseconds>(oldest_needed + window - now);
        wait = std::max(wait, until);
    }
    if (wait > std::chrono::milliseconds(0)) return wait;
    spent_.push_back(now);
    return std::nullopt;
}

BudgetMeter::Usage BudgetMeter::usage(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    forget_before(now);
    Usage usage;
    for (auto at : spent_) {
        auto age = now - at;
        usage.day += 1;
        usage.hour += age < kHour ? 1 : 0;
        usage.minute += age < kMinute ? 1 : 0;
    }
    return usage;
}

}  // namespace tickerd::plugins
