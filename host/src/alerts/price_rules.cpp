// The price rules. A crossing rule fires when a value meets its condition after one that did
// not (the first value a rule sees only says which side it is on), so a price hovering above
// the threshold fires once, not at every tick. A percent_move rule fires when the value lies
// at least `percent` above the window's lowest (up) or below its highest (down); after
// firing it starts a new window, so one move is reported once. A rule that fired stays quiet
// for its cool-down; what happens meanwhile is not reported later.
#include "alerts/rules.hpp"

#include <cmath>
#include <cstdio>

namespace tickerd::alerts {

namespace json = boost::json;

namespace {

// A window holds at most this many points per side (the monotonic deques are usually
// short; a value that only climbs is the worst case).
constexpr std::size_t kMaxWindowPoints = 4096;

std::string number_text(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.10g", value);
    return text;
}

// Adds `point` to a monotonic deque: `keep(older, newer)` says whether an older value still
// matters next to the newer one (lows: only smaller ones do).
template <class Keep>
void push_monotonic(std::deque<PriceRuleBook::Point>& points, PriceRuleBook::Point point,
                    Keep keep) {
    while (!points.empty() && !keep(points.back().value, point.value))
        points.pop_back();
    points.push_back(point);
    if (points.size() > kMaxWindowPoints) points.pop_front();
}

void forget_before(std::deque<PriceRuleBook::Point>& points, SysTime start) {
    while (!points.empty() && points.front().at < start)
        points.pop_front();
}

}  // namespace

void PriceRuleBook::set_rules(const std::map<std::string, PriceRule>& rules) {
    std::unordered_map<std::string, std::vector<Watch>> next;
    for (const auto& [id, rule] : rules)
        next[rule.symbol].push_back(Watch{rule, {}, {}, {}, {}});
    // What an unchanged rule remembers goes over to the new book.
    for (auto& [symbol, watches] : next) {
        auto old = by_symbol_.find(symbol);
        if (old == by_symbol_.end()) continue;
        for (auto& watch : watches) {
            for (auto& before : old->second) {
                if (before.rule == watch.rule) {
                    watch = std::move(before);
                    break;
                }
            }
        }
    }
    by_symbol_ = std::move(next);
    rules_ = rules.size();
}

std::vector<Alert> PriceRuleBook::on_market_data(const std::string& symbol,
                                                 const json::object& data, SysTime at) {
    std::vector<Alert> alerts;
    auto found = by_symbol_.find(symbol);
    if (found == by_symbol_.end()) return alerts;
    for (auto& watch : found->second) {
        auto value = number_at(data, watch.rule.field);
        if (!value || !std::isfinite(*value)) continue;
        if (auto alert = check(watch, *value, at)) alerts.push_back(std::move(*alert));
    }
    return alerts;
}

std::optional<Alert> PriceRuleBook::check(Watch& watch, double value, SysTime at) {
    return watch.rule.kind == PriceRule::Kind::crossing ? check_crossing(watch, value, at)
                                                        : check_move(watch, value, at);
}

std::optional<Alert> PriceRuleBook::check_crossing(Watch& watch, double value, SysTime at) {
    const auto& rule = watch.rule;
    bool beyond = compare(value, rule.op, rule.threshold);
    bool crossed = beyond && watch.beyond == false;
    watch.beyond = beyond;
    if (!crossed) return std::nullopt;
    if (watch.last_fired && at < *watch.last_fired + rule.cooldown) return std::nullopt;
    bool upwards = rule.op[0] == '>';
    return fired(watch, value, at,
                 rule.symbol + " " + rule.field + " crossed " + (upwards ? "above " : "below ") +
                     number_text(rule.threshold) + ": " + number_text(value),
                 {{"op", rule.op}, {"value", rule.threshold}});
}

std::optional<Alert> PriceRuleBook::check_move(Watch& watch, double value, SysTime at) {
    const auto& rule = watch.rule;
    auto start = at - rule.window;
    forget_before(watch.lows, start);
    forget_before(watch.highs, start);
    push_monotonic(watch.lows, {at, value},
                   [](double older, double newer) { return older < newer; });
    push_monotonic(watch.highs, {at, value},
                   [](double older, double newer) { return older > newer; });
    double low = watch.lows.front().value;
    double high = watch.highs.front().value;
    double up = low > 0 ? (value - low) / low * 100 : 0;
    double down = high > 0 ? (high - value) / high * 100 : 0;
    using Direction = PriceRule::Direction;
    bool rose = rule.direction != Direction::down && up >= rule.percent;
    bool fell = rule.direction != Direction::up && down >= rule.percent;
    if (!rose && !fell) return std::nullopt;
    if (watch.last_fired && at < *watch.last_fired + rule.cooldown) return std::nullopt;
    double from = rose ? low : high;
    double moved = rose ? up : -down;
    // A new window from here: the move is reported once.
    watch.lows = {{at, value}};
    watch.highs = {{at, value}};
    return fired(watch, value, at,
                 rule.symbol + " " + rule.field + " moved " + number_text(moved) + " % within " +
                     std::to_string(rule.window.count()) + " s: " + number_text(from) + " to " +
                     number_text(value),
                 {{"percent_move", rule.percent},
                  {"window_seconds", rule.window.count()},
                  {"from", from},
                  {"moved_percent", moved}});
}

Alert PriceRuleBook::fired(Watch& watch, double value, SysTime at, std::string summary,
                           json::object details) {
    watch.last_fired = at;
    const auto& rule = watch.rule;
    details["field"] = rule.field;
    details["observed"] = value;
    details["kind"] = rule.kind == PriceRule::Kind::crossing ? "crossing" : "percent_move";
    details["cooldown_seconds"] = rule.cooldown.count();
    return Alert{
        rule.id,           "info", true, "price:" + rule.id, rule.symbol, std::move(summary), at,
        std::move(details)};
}

bool matches(const std::vector<std::string>& patterns, std::string_view rule) {
    // Glob with `*` only: each literal piece in order, the first anchored at the start and
    // the last at the end.
    auto glob = [](std::string_view pattern, std::string_view text) {
        std::size_t star = pattern.find('*');
        if (star == std::string_view::npos) return pattern == text;
        if (!text.starts_with(pattern.substr(0, star))) return false;
        text.remove_prefix(star);
        pattern.remove_prefix(star);
        while (!pattern.empty()) {
            pattern.remove_prefix(1);  // the '*'
            std::size_t next = pattern.find('*');
            auto piece = pattern.substr(0, next);
            if (next == std::string_view::npos) {
                return text.size() >= piece.size() && text.ends_with(piece);
            }
            auto at = text.find(piece);
            if (at == std::string_view::npos) return false;
            text.remove_prefix(at + piece.size());
            pattern.remove_prefix(next);
        }
        return true;
    };
    for (const auto& pattern : patterns) {
        if (glob(pattern, rule)) return true;
    }
    return false;
}

}  // namespace tickerd::alerts
