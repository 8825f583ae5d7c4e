// Alert evaluation cost (README, "Performance"): the price rules of 10,000 (or N) rules fed
// market_data messages, (1) every rule on one symbol: a message checks them all, (2) the
// rules spread one per symbol over N symbols: a message checks its own, (3) the system
// rules over a view of five workers with N failing symbols. Crossing and percent-move rules
// alternate; prices wander so that some rules fire.
//   alerts_bench [rules] [messages]   (default 10,000 rules; 2,000 / 1,000,000 messages)
#include "alerts/rules.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace tickerd;
using namespace tickerd::alerts;
using Clock = std::chrono::steady_clock;

namespace {

std::map<std::string, PriceRule> make_rules(std::size_t count, bool one_symbol) {
    std::map<std::string, PriceRule> rules;
    for (std::size_t i = 0; i < count; ++i) {
        PriceRule rule;
        rule.id = "r" + std::to_string(i);
        rule.symbol = one_symbol ? "AAPL" : "S" + std::to_string(i);
        if (i % 2 == 0) {
            rule.op = i % 4 == 0 ? ">=" : "<";
            rule.threshold = 95 + static_cast<double>(i % 100) / 10;
        } else {
            rule.kind = PriceRule::Kind::percent_move;
            rule.percent = 1 + static_cast<double>(i % 5);
            rule.window = std::chrono::seconds(60);
        }
        rule.cooldown = std::chrono::seconds(i % 3 == 0 ? 0 : 30);
        rules.emplace(rule.id, rule);
    }
    return rules;
}

struct Run {
    double ns_per_message = 0;
    std::size_t fired = 0;
};

Run feed(PriceRuleBook& book, std::size_t messages, std::size_t symbols) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < symbols; ++i)
        names.push_back(symbols == 1 ? "AAPL" : "S" + std::to_string(i));
    SysTime at(std::chrono::seconds(1764000000));
    double price = 100;
    std::size_t fired = 0;
    auto start = Clock::now();
    for (std::size_t i = 0; i < messages; ++i) {
        at += std::chrono::milliseconds(100);
        price += (i * 7919 % 13 < 6 ? 0.05 : -0.05);
        boost::json::object data{{"price", price}, {"volume", 1000}};
        fired += book.on_market_data(names[i % names.size()], data, at).size();
    }
    auto elapsed = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    return {elapsed / static_cast<double>(messages), fired};
}

double system_rules_ns(std::size_t failing) {
    SystemRules rules(AlertSettings{}, "");
    SystemView view;
    for (auto type : kAllDataTypes) {
        SystemView::Worker worker{type, {}, "boom"};
        for (std::size_t i = 0; i < failing; ++i)
            worker.failing_symbols.emplace("S" + std::to_string(i), 1 + i % 9);
        view.workers.push_back(std::move(worker));
    }
    constexpr int kRounds = 200;
    auto start = Clock::now();
    std::size_t changes = 0;
    for (int round = 0; round < kRounds; ++round)
        changes += rules.evaluate(view, SysTime(std::chrono::seconds(round))).size();
    auto elapsed = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    if (changes == 0) std::abort();  // the first round fires
    return elapsed / kRounds;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
    std::size_t messages = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 0;

    PriceRuleBook one;
    one.set_rules(make_rules(count, true));
    auto on_one = feed(one, messages ? messages : 2000, 1);
    std::printf(
        "%zu rules on one symbol: %.1f us per market_data message (%.1f ns per rule), "
        "%zu alerts\n",
        count, on_one.ns_per_message / 1000, on_one.ns_per_message / static_cast<double>(count),
        on_one.fired);

    PriceRuleBook spread;
    auto build = Clock::now();
    spread.set_rules(make_rules(count, false));
    auto built = std::chrono::duration<double, std::milli>(Clock::now() - build).count();
    auto on_spread = feed(spread, messages ? messages : 1000000, count);
    std::printf(
        "%zu rules on %zu symbols: %.0f ns per market_data message, %zu alerts; "
        "set_rules %.1f ms\n",
        count, count, on_spread.ns_per_message, on_spread.fired, built);

    std::printf("system rules, 5 workers x %zu failing symbols: %.1f us per evaluation\n", count,
                system_rules_ns(count) / 1000);
    return 0;
}
