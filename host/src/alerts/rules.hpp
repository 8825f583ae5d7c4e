// The alert rules as pure logic, unit-tested without time passing: the system rules turn what
// the daemon looks like now into alerts that fire and resolve, the price rules turn each
// market_data message into the alerts it sets off. Neither publishes anything (AlertCenter
// does) nor locks anything (the caller serialises).
#pragma once

#include "core/model.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tickerd::alerts {

using SysTime = std::chrono::system_clock::time_point;

// One alert as `stream:alerts:*` carries it (CONTRACT.md §8).
struct Alert {
    std::string rule;      // "worker_failing", …, or the price rule's id
    std::string severity;  // "critical", "warning" or "info"
    bool firing = true;    // false: resolved
    std::string key;       // one alert per key: it fires once and resolves once
    std::string symbol;    // the channel's: "system", or the instrument's
    std::string summary;   // one sentence
    SysTime since;         // when the condition began
    boost::json::object details;
};
// {rule, severity, state, key, summary, since, details}
boost::json::object to_json(const Alert& alert);
std::string channel_of(const Alert& alert);  // "stream:alerts:system", "stream:alerts:AAPL"

// What the daemon looks like now, as the system rules read it (alerts/probe.cpp gathers it).
struct SystemView {
    struct Worker {
        DataType type = DataType::market_data;
        std::map<std::string, uint64_t> failing_symbols;  // polls failed in a row
        std::optional<std::string> last_error;
    };
    struct VendorsOfType {  // a running worker's vendors
        DataType type = DataType::market_data;
        std::vector<std::string> vendors;
        std::map<std::string, std::string> failing;  // vendor → why (its last call, or benched)
    };
    struct SpentBudget {
        std::string vendor;
        std::string detail;  // "5 of 5 calls this minute"
    };
    std::vector<Worker> workers;  // the running ones
    std::vector<VendorsOfType> vendors;
    std::vector<SpentBudget> spent_budgets;
    bool redis_enabled = false;
    bool redis_connected = true;
    std::optional<std::string> redis_error;
    std::map<std::string, std::string> refused_plugins;  // file → reason
};

// The five system rules (CONTRACT.md §8). Each condition has a key; evaluate() returns an
// alert when a key's condition begins (firing) or ends (resolved), and nothing while it
// lasts, so subscribers and webhooks hear of each once.
class SystemRules {
  public:
    // `instance` ("" alone): keys and details name it, for several instances on one Redis.
    SystemRules(const AlertSettings& settings, std::string instance);
    std::vector<Alert> evaluate(const SystemView& view, SysTime now);
    const std::map<std::string, Alert>& firing() const { return firing_; }

  private:
    void check_workers(const SystemView& view, SysTime now, std::map<std::string, Alert>& out);
    void check_vendors(const SystemView& view, SysTime now, std::map<std::string, Alert>& out);
    void check_budgets(const SystemView& view, SysTime now, std::map<std::string, Alert>& out);
    void check_redis(const SystemView& view, SysTime now, std::map<std::string, Alert>& out);
    void check_plugins(const SystemView& view, SysTime now, std::map<std::string, Alert>& out);
    void add(std::map<std::string, Alert>& out, std::string rule, std::string severity,
             std::string key, std::string summary, SysTime since,
             boost::json::object details) const;

    const int worker_failures_;
    const std::chrono::seconds redis_down_;
    const std::string instance_;
    std::optional<SysTime> redis_down_since_;
    std::map<std::string, Alert> firing_;  // by Alert::key
};

// The price rules, by symbol, with what each remembers between messages: which side of its
// threshold the value was on, the window's lowest and highest values, when it last fired.
class PriceRuleBook {
  public:
    // Rules unchanged since the last call keep what they remember; new or changed ones start
    // afresh.
    void set_rules(const std::map<std::string, PriceRule>& rules);
    // The alerts one market_data message sets off (its `at` is the message's timestamp).
    std::vector<Alert> on_market_data(const std::string& symbol, const boost::json::object& data,
                                      SysTime at);
    std::size_t size() const { return rules_; }

    struct Point {
        SysTime at;
        double value;
    };

  private:
    struct Watch {
        PriceRule rule;
        std::optional<bool> beyond;     // crossing: whether the last value met the condition
        std::deque<Point> lows, highs;  // percent_move: monotonic, within the window
        std::optional<SysTime> last_fired;
    };
    std::optional<Alert> check(Watch& watch, double value, SysTime at);
    std::optional<Alert> check_crossing(Watch& watch, double value, SysTime at);
    std::optional<Alert> check_move(Watch& watch, double value, SysTime at);
    Alert fired(Watch& watch, double value, SysTime at, std::string summary,
                boost::json::object details);

    std::unordered_map<std::string, std::vector<Watch>> by_symbol_;
    std::size_t rules_ = 0;
};

// Whether a webhook's `rules` patterns take an alert's rule: `*` matches any run.
bool matches(const std::vector<std::string>& patterns, std::string_view rule);

}  // namespace tickerd::alerts
