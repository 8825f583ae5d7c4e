// The alert rules with an explicit clock: price rules (a crossing fires once per crossing,
// the first value only says which side it is on, the cool-down holds back a crossing, a
// percent move within a window up, down or either way, a changed rule starting afresh), the
// price rule's JSON form and its refusals, the system rules firing once and resolving once
// (Redis down only past its threshold), the webhooks' rule patterns, and the signature
// against RFC 4231's test vector.
#define BOOST_TEST_MODULE alerts_rules
#include "alerts/alerts.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

using namespace tickerd;
using namespace tickerd::alerts;
using namespace std::chrono;
namespace json = boost::json;

namespace {

SysTime at(int64_t seconds) {
    return SysTime(std::chrono::seconds(1'800'000'000 + seconds));
}

PriceRule rule_from(const json::value& value) {
    auto rule = parse_price_rule(value);
    BOOST_TEST_REQUIRE(rule.has_value(), json::serialize(value));
    return *rule;
}

// Feeds `prices` (one a second from `start`) and returns the prices that fired.
std::vector<double> fired_at(PriceRuleBook& book, const std::vector<double>& prices,
                             int64_t start = 0) {
    std::vector<double> fired;
    for (std::size_t i = 0; i < prices.size(); ++i) {
        auto alerts = book.on_market_data("AAPL", {{"price", prices[i]}},
                                          at(start + static_cast<int64_t>(i)));
        for (const auto& alert : alerts)
            fired.push_back(alert.details.at("observed").to_number<double>());
    }
    return fired;
}

PriceRuleBook book_of(std::initializer_list<json::value> rules) {
    std::map<std::string, PriceRule> by_id;
    for (const auto& value : rules) {
        auto rule = rule_from(value);
        by_id[rule.id] = rule;
    }
    PriceRuleBook book;
    book.set_rules(by_id);
    return book;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_crossing_fires_once_per_crossing) {
    auto book = book_of({{{"id", "up"}, {"symbol", "aapl"}, {"op", ">="}, {"value", 200}}});
    // 205 first: above already, no crossing seen. Then down, up (fires), hovering (no), down,
    // up again (fires).
    auto fired = fired_at(book, {205, 190, 200, 210, 204, 199, 201});
    BOOST_TEST(fired == (std::vector<double>{200, 201}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_downward_crossing_and_its_alert) {
    auto book = book_of({{{"id", "down"}, {"symbol", "AAPL"}, {"op", "<"}, {"value", 100}}});
    auto first = book.on_market_data("AAPL", {{"price", 101}}, at(0));
    BOOST_TEST(first.empty());
    auto alerts = book.on_market_data("AAPL", {{"price", 99.5}}, at(1));
    BOOST_TEST_REQUIRE(alerts.size() == 1u);
    const auto& alert = alerts[0];
    BOOST_TEST(alert.rule == "down");
    BOOST_TEST(alert.key == "price:down");
    BOOST_TEST(alert.symbol == "AAPL");
    BOOST_TEST(channel_of(alert) == "stream:alerts:AAPL");
    BOOST_TEST(alert.summary == "AAPL price crossed below 100: 99.5");
    auto shown = to_json(alert);
    BOOST_TEST(shown.at("state") == "firing");
    BOOST_TEST(shown.at("severity") == "info");
    BOOST_TEST(shown.at("details").at("kind") == "crossing");
}

BOOST_AUTO_TEST_CASE(the_cool_down_holds_back_a_crossing) {
    auto book = book_of(
        {{{"id", "up"}, {"symbol", "AAPL"}, {"op", ">"}, {"value", 200}, {"cooldown_seconds", 5}}});
    // Seconds 0-4: fires at 1 (201); the crossing at 3 (202) is within 5 s; at 6 (203) it
    // is past the cool-down.
    auto fired = fired_at(book, {199, 201, 198, 202, 197, 196, 203});
    BOOST_TEST(fired == (std::vector<double>{201, 203}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_rule_ignores_messages_without_its_field) {
    auto book = book_of(
        {{{"id", "vol"}, {"symbol", "AAPL"}, {"field", "volume"}, {"op", ">"}, {"value", 10}}});
    BOOST_TEST(book.on_market_data("AAPL", {{"price", 1}}, at(0)).empty());
    BOOST_TEST(book.on_market_data("AAPL", {{"volume", "many"}}, at(1)).empty());
    BOOST_TEST(book.on_market_data("AAPL", {{"volume", 5}}, at(2)).empty());
    BOOST_TEST(book.on_market_data("AAPL", {{"volume", 11}}, at(3)).size() == 1u);
    BOOST_TEST(book.on_market_data("MSFT", {{"volume", 1}}, at(4)).empty());
}

BOOST_AUTO_TEST_CASE(a_percent_move_within_its_window) {
    auto book = book_of(
        {{{"id", "move"}, {"symbol", "AAPL"}, {"percent_move", 5}, {"window_seconds", 10}}});
    // 100 → 104 (4 %) → 105.5 (5.5 % above the low of 100): fires, and the window starts
    // again at 105.5; 108 is 2.4 % above it: nothing; 100 is 7.4 % below 108: fires.
    auto fired = fired_at(book, {100, 104, 105.5, 108, 100});
    BOOST_TEST(fired == (std::vector<double>{105.5, 100}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_move_slower_than_the_window_does_not_fire) {
    auto book =
        book_of({{{"id", "move"}, {"symbol", "AAPL"}, {"percent_move", 5}, {"window_seconds", 3}}});
    // One percent a second: never 5 % within 3 s.
    auto fired = fired_at(book, {100, 101, 102, 103, 104, 105, 106, 107});
    BOOST_TEST(fired.empty());
}

BOOST_AUTO_TEST_CASE(a_move_in_one_direction_only) {
    auto down = book_of({{{"id", "drop"},
                          {"symbol", "AAPL"},
                          {"percent_move", 2},
                          {"direction", "down"},
                          {"window_seconds", 60}}});
    BOOST_TEST(fired_at(down, {100, 103, 104}).empty());
    auto fired = fired_at(down, {101.9}, 3);  // 2.0 % below 104
    BOOST_TEST(fired == (std::vector<double>{101.9}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(set_rules_keeps_what_unchanged_rules_remember) {
    json::value up = {{"id", "up"}, {"symbol", "AAPL"}, {"op", ">="}, {"value", 200}};
    std::map<std::string, PriceRule> rules{{"up", rule_from(up)}};
    PriceRuleBook book;
    book.set_rules(rules);
    BOOST_TEST(book.on_market_data("AAPL", {{"price", 190}}, at(0)).empty());
    // Another rule added: "up" still knows it was below, so 201 is a crossing.
    json::value other = {{"id", "other"}, {"symbol", "MSFT"}, {"op", "<"}, {"value", 1}};
    rules.emplace("other", rule_from(other));
    book.set_rules(rules);
    BOOST_TEST(book.size() == 2u);
    BOOST_TEST(book.on_market_data("AAPL", {{"price", 201}}, at(1)).size() == 1u);
    // Changed: it starts afresh, so its first value only says which side it is on.
    BOOST_TEST(book.on_market_data("AAPL", {{"price", 190}}, at(2)).empty());
    rules["up"].threshold = 195;
    book.set_rules(rules);
    BOOST_TEST(book.on_market_data("AAPL", {{"price", 196}}, at(3)).empty());
    BOOST_TEST(book.on_market_data("AAPL", {{"price", 190}}, at(4)).empty());
    BOOST_TEST(book.on_market_data("AAPL", {{"price", 196}}, at(5)).size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_price_rule_round_trips_through_json) {
    auto crossing = rule_from(
        {{"id", "a"}, {"symbol", "brk.b"}, {"op", "<="}, {"value", 1.5}, {"cooldown_seconds", 60}});
    BOOST_TEST(crossing.symbol == "BRK.B");
    BOOST_TEST((rule_from(to_json(crossing)) == crossing));
    auto move = rule_from({{"symbol", "AAPL"}, {"percent_move", 2.5}, {"direction", "up"}});
    BOOST_TEST(move.id.empty());
    BOOST_TEST(move.window.count() == 300);
    BOOST_TEST((move.direction == PriceRule::Direction::up));
    BOOST_TEST(json::serialize(to_json(move)).find("\"kind\":\"percent_move\"") !=
               std::string::npos);
    BOOST_TEST((rule_from(to_json(move)) == move));
}

BOOST_AUTO_TEST_CASE(a_bad_price_rule_is_refused_naming_its_field) {
    auto refused_field = [](const json::value& value) {
        auto rule = parse_price_rule(value);
        BOOST_TEST_REQUIRE(!rule.has_value(), json::serialize(value));
        BOOST_TEST(rule.error().status == 422u);
        return rule.error().field;
    };
    BOOST_TEST(refused_field({{"op", ">"}, {"value", 1}}) == "symbol");
    BOOST_TEST(refused_field({{"symbol", "AAPL"}, {"op", "=>"}, {"value", 1}}) == "op");
    BOOST_TEST(refused_field({{"symbol", "AAPL"}, {"op", ">"}}) == "value");
    BOOST_TEST(refused_field({{"symbol", "AAPL"}, {"op", ">"}, {"value", "high"}}) == "value");
    BOOST_TEST(refused_field({{"symbol", "AAPL"}, {"percent_move", 0}}) == "percent_move");
    BOOST_TEST(refused_field({{"symbol", "AAPL"}, {"percent_move", 1}, {"op", ">"}}) == "op");
    BOOST_TEST(
        refused_field({{"symbol", "AAPL"}, {"percent_move", 1}, {"direction", "sideways"}}) ==
        "direction");
    BOOST_TEST(refused_field(
                   {{"id", "no spaces"}, {"symbol", "AAPL"}, {"op", ">"}, {"value", 1}}) == "id");
    BOOST_TEST(refused_field({{"symbol", "AAPL"}, {"op", ">"}, {"value", 1}, {"colour", 1}}) ==
               "colour");
}

BOOST_AUTO_TEST_CASE(system_alerts_fire_once_and_resolve_once) {
    AlertSettings settings;
    settings.worker_failures = 3;
    SystemRules rules(settings, "");
    SystemView failing;
    failing.workers.push_back({DataType::market_data, {{"AAPL", 2}, {"MSFT", 3}}, "MSFT: boom"});
    failing.vendors.push_back(
        {DataType::market_data, {"mock", "yahoo"}, {{"mock", "boom"}, {"yahoo", "down"}}});
    failing.refused_plugins["/p/bad.so"] = "wrong ABI";

    auto fired = rules.evaluate(failing, at(0));
    std::set<std::string> keys;
    for (const auto& alert : fired) {
        BOOST_TEST(alert.firing);
        BOOST_TEST(alert.symbol == "system");
        keys.insert(alert.key);
    }
    BOOST_TEST(keys ==
               (std::set<std::string>{"worker_failing:market_data", "vendors_failing:market_data",
                                      "plugin_refused:/p/bad.so"}));
    for (const auto& alert : fired) {
        if (alert.rule != "worker_failing") continue;
        BOOST_TEST(alert.details.at("symbols") == json::array{"MSFT"});  // AAPL: only 2
        BOOST_TEST(alert.severity == "warning");
    }
    // Still so: nothing new.
    BOOST_TEST(rules.evaluate(failing, at(1)).empty());
    BOOST_TEST(rules.firing().size() == 3u);

    // One vendor answers again and the plugin is fixed: those two resolve.
    SystemView better = failing;
    better.vendors[0].failing.erase("yahoo");
    better.refused_plugins.clear();
    auto resolved = rules.evaluate(better, at(2));
    BOOST_TEST_REQUIRE(resolved.size() == 2u);
    for (const auto& alert : resolved) {
        BOOST_TEST(!alert.firing);
        BOOST_TEST(to_json(alert).at("state") == "resolved");
        BOOST_TEST((alert.since == at(0)));  // when the condition began
    }
    BOOST_TEST(rules.firing().size() == 1u);
}

BOOST_AUTO_TEST_CASE(redis_down_fires_only_past_its_threshold) {
    AlertSettings settings;
    settings.redis_down = seconds(30);
    SystemRules rules(settings, "host-1");
    SystemView down;
    down.redis_enabled = true;
    down.redis_connected = false;
    down.redis_error = "connection refused";
    BOOST_TEST(rules.evaluate(down, at(0)).empty());
    BOOST_TEST(rules.evaluate(down, at(29)).empty());
    auto fired = rules.evaluate(down, at(30));
    BOOST_TEST_REQUIRE(fired.size() == 1u);
    BOOST_TEST(fired[0].rule == "redis_down");
    BOOST_TEST(fired[0].key == "redis_down@host-1");  // several instances: one each
    BOOST_TEST((fired[0].since == at(0)));
    BOOST_TEST(fired[0].details.at("instance") == "host-1");
    SystemView up = down;
    up.redis_connected = true;
    auto resolved = rules.evaluate(up, at(31));
    BOOST_TEST_REQUIRE(resolved.size() == 1u);
    BOOST_TEST(!resolved[0].firing);
    // A blip shorter than the threshold after that: nothing.
    BOOST_TEST(rules.evaluate(down, at(40)).empty());
    BOOST_TEST(rules.evaluate(up, at(45)).empty());
}

BOOST_AUTO_TEST_CASE(budget_spent_fires_per_vendor) {
    SystemRules rules(AlertSettings{}, "");
    SystemView view;
    view.spent_budgets.push_back({"av", "5 of 5 calls this minute"});
    auto fired = rules.evaluate(view, at(0));
    BOOST_TEST_REQUIRE(fired.size() == 1u);
    BOOST_TEST(fired[0].key == "budget_spent:av");
    BOOST_TEST(fired[0].summary == "vendor av spent its request budget: 5 of 5 calls this minute");
}

BOOST_AUTO_TEST_CASE(webhook_rule_patterns) {
    BOOST_TEST(matches({"*"}, "worker_failing"));
    BOOST_TEST(matches({"worker_failing"}, "worker_failing"));
    BOOST_TEST(!matches({"worker_failing"}, "worker_failing2"));
    BOOST_TEST(matches({"aapl-*"}, "aapl-200"));
    BOOST_TEST(!matches({"aapl-*"}, "msft-200"));
    BOOST_TEST(matches({"*-200"}, "aapl-200"));
    BOOST_TEST(matches({"a*b*c"}, "aXXbYYc"));
    BOOST_TEST(!matches({"a*b*c"}, "aXXcYYb"));
    BOOST_TEST(!matches({}, "anything"));
    BOOST_TEST(matches({"redis_down", "plugin_*"}, "plugin_refused"));
}

BOOST_AUTO_TEST_CASE(the_signature_is_rfc_4231_hmac_sha256) {
    // RFC 4231, test case 2.
    BOOST_TEST(signature("Jefe", "what do ya want for nothing?") ==
               "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
