// InstrumentTable: sorted by symbol whatever the order of changes, found by symbol, walked
// from any symbol on (the channel pages), and a copy is a snapshot: changing one never shows
// in the other, across chunk splits and chunks emptied.
#define BOOST_TEST_MODULE config_instrument_table
#include <boost/test/unit_test.hpp>

#include "config/instrument_table.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace tickerd;
using tickerd::config::InstrumentTable;

namespace {

Instrument instrument(std::string symbol, bool enabled = true) {
    Instrument result;
    result.symbol = std::move(symbol);
    result.enabled = enabled;
    return result;
}

std::string name(int n) {
    char text[16];
    std::snprintf(text, sizeof text, "S%05d", n);
    return text;
}

std::vector<std::string> symbols(const InstrumentTable& table) {
    std::vector<std::string> list;
    for (const auto& item : table)
        list.push_back(item.symbol);
    return list;
}

}  // namespace

BOOST_AUTO_TEST_CASE(built_from_a_list_it_is_sorted_and_keeps_the_last_of_a_symbol) {
    InstrumentTable table({instrument("MSFT"), instrument("AAPL"), instrument("MSFT", false)});
    BOOST_TEST(symbols(table) == (std::vector<std::string>{"AAPL", "MSFT"}));
    BOOST_TEST(table.size() == 2u);
    BOOST_TEST(!table.find("MSFT")->enabled);
    BOOST_TEST(table.find("TSLA") == nullptr);
    BOOST_TEST(InstrumentTable().empty());
    BOOST_TEST((InstrumentTable().begin() == InstrumentTable().end()));
}

BOOST_AUTO_TEST_CASE(thousands_of_changes_in_any_order_keep_it_sorted_and_complete) {
    std::vector<int> order(5000);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(7));
    InstrumentTable table;
    for (int n : order)
        table.upsert(instrument(name(n)));
    table.upsert(instrument(name(42), false));  // a replacement, not a second one
    BOOST_TEST(table.size() == 5000u);
    auto listed = symbols(table);
    BOOST_TEST(std::is_sorted(listed.begin(), listed.end()));
    BOOST_TEST(listed.size() == 5000u);
    BOOST_TEST(!table.find(name(42))->enabled);
    for (int n = 0; n < 5000; n += 2)
        BOOST_TEST(table.erase(name(n)));
    BOOST_TEST(!table.erase(name(0)));
    BOOST_TEST(table.size() == 2500u);
    BOOST_TEST(symbols(table).size() == 2500u);
    BOOST_TEST(table.find(name(1)) != nullptr);
    BOOST_TEST(table.find(name(2)) == nullptr);
    for (int n = 1; n < 5000; n += 2)
        table.erase(name(n));
    BOOST_TEST(table.empty());
    BOOST_TEST(symbols(table).empty());
}

BOOST_AUTO_TEST_CASE(upper_bound_starts_after_a_symbol_present_or_not) {
    std::vector<Instrument> list;
    for (int n = 0; n < 2000; n += 2)
        list.push_back(instrument(name(n)));
    InstrumentTable table(list);
    BOOST_TEST(table.upper_bound(name(10))->symbol == name(12));
    BOOST_TEST(table.upper_bound(name(11))->symbol == name(12));
    BOOST_TEST(table.upper_bound("")->symbol == name(0));
    BOOST_TEST((table.upper_bound(name(1998)) == table.end()));
    BOOST_TEST((table.upper_bound("ZZZ") == table.end()));
    // Across every chunk boundary: the walk from any symbol sees the rest, in order.
    for (int n = 0; n < 2000; n += 50) {
        auto count = std::distance(table.upper_bound(name(n)), table.end());
        BOOST_TEST(count == static_cast<long>((1998 - n) / 2));
    }
}

BOOST_AUTO_TEST_CASE(a_copy_is_a_snapshot_that_later_changes_do_not_touch) {
    InstrumentTable table;
    for (int n = 0; n < 1000; ++n)
        table.upsert(instrument(name(n)));
    InstrumentTable before = table;
    for (int n = 1000; n < 2000; ++n)
        table.upsert(instrument(name(n)));  // splits chunks
    table.upsert(instrument(name(5), false));
    for (int n = 0; n < 300; ++n)
        table.erase(name(n));  // empties the first chunk
    BOOST_TEST(before.size() == 1000u);
    BOOST_TEST(symbols(before).size() == 1000u);
    BOOST_TEST(before.find(name(5))->enabled);
    BOOST_TEST(before.find(name(1500)) == nullptr);
    BOOST_TEST(table.size() == 1700u);
    BOOST_TEST(table.find(name(5)) == nullptr);
}
