// The three-way merge of shared-config documents: what two instances change at the same
// time is kept on both sides, item by item; only the same item changed on both takes ours.
#define BOOST_TEST_MODULE cluster_merge
#include <boost/test/unit_test.hpp>

#include "cluster/cluster.hpp"

#include <boost/json.hpp>

namespace json = boost::json;
using tickerd::cluster::merge_documents;

namespace {

json::object instrument(const std::string& symbol, bool enabled = true) {
    return {{"symbol", symbol}, {"data_types", {"market_data"}}, {"enabled", enabled}};
}

std::string document(std::vector<json::object> instruments, int news_interval = 1800,
                     int ttl = 300) {
    json::object root{{"format", 1},
                      {"instruments", json::array(instruments.begin(), instruments.end())},
                      {"cadences",
                       {{"news", {{"interval_seconds", news_interval}}},
                        {"market_data", {{"interval_seconds", 60}}}}},
                      {"global", {{"cache_ttl_seconds", ttl}, {"max_workers", 10}}}};
    return json::serialize(root);
}

json::object merged(const std::string& base, const std::string& ours, const std::string& theirs) {
    return json::parse(merge_documents(base, ours, theirs).value()).as_object();
}

std::vector<std::string> symbols(const json::object& document) {
    std::vector<std::string> out;
    for (const auto& item : document.at("instruments").as_array())
        out.emplace_back(item.at("symbol").as_string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(instruments_added_on_both_sides_are_both_kept) {
    auto base = document({instrument("AAPL")});
    auto result = merged(base, document({instrument("AAPL"), instrument("MSFT")}),
                         document({instrument("AAPL"), instrument("TSLA")}));
    BOOST_TEST(symbols(result) == (std::vector<std::string>{"AAPL", "MSFT", "TSLA"}));
}

BOOST_AUTO_TEST_CASE(a_removal_on_one_side_stays_removed) {
    auto base = document({instrument("AAPL"), instrument("MSFT")});
    auto result = merged(base, document({instrument("AAPL")}),
                         document({instrument("AAPL"), instrument("MSFT"), instrument("IBM")}));
    BOOST_TEST(symbols(result) == (std::vector<std::string>{"AAPL", "IBM"}));
    // And removed by them, unchanged by us.
    result = merged(base, base, document({instrument("MSFT")}));
    BOOST_TEST(symbols(result) == (std::vector<std::string>{"MSFT"}));
}

BOOST_AUTO_TEST_CASE(the_same_item_changed_on_both_sides_takes_ours) {
    auto base = document({instrument("AAPL")});
    auto result = merged(base, document({instrument("AAPL", false)}),
                         document({json::object{{"symbol", "AAPL"}, {"data_types", {"news"}}}}));
    BOOST_TEST(result.at("instruments").at(0).at("enabled").as_bool() == false);
    BOOST_TEST(result.at("instruments").at(0).at("data_types").at(0).as_string() == "market_data");
}

BOOST_AUTO_TEST_CASE(cadences_and_global_settings_merge_per_key) {
    auto base = document({instrument("AAPL")});
    // Ours changed the news cadence, theirs the cache TTL and added an instrument.
    auto result = merged(base, document({instrument("AAPL")}, 120),
                         document({instrument("AAPL"), instrument("IBM")}, 1800, 42));
    BOOST_TEST(result.at("cadences").at("news").at("interval_seconds").as_int64() == 120);
    BOOST_TEST(result.at("cadences").at("market_data").at("interval_seconds").as_int64() == 60);
    BOOST_TEST(result.at("global").at("cache_ttl_seconds").as_int64() == 42);
    BOOST_TEST(result.at("global").at("max_workers").as_int64() == 10);
    BOOST_TEST(symbols(result) == (std::vector<std::string>{"AAPL", "IBM"}));
}

BOOST_AUTO_TEST_CASE(unchanged_ours_takes_theirs_whole) {
    auto base = document({instrument("AAPL")});
    auto theirs = document({instrument("TSLA")}, 99, 7);
    BOOST_TEST(merged(base, base, theirs) == json::parse(theirs).as_object());
}

BOOST_AUTO_TEST_CASE(a_document_that_is_not_an_object_is_refused) {
    auto base = document({instrument("AAPL")});
    auto not_object = merge_documents(base, base, "[1, 2]");
    BOOST_REQUIRE(!not_object);
    BOOST_TEST(not_object.error().detail == "the shared config is not a JSON object");
    auto not_json = merge_documents("{", base, base);
    BOOST_REQUIRE(!not_json);
    BOOST_TEST(not_json.error().detail == "the agreed config is not a JSON object");
}

BOOST_AUTO_TEST_CASE(price_rules_merge_by_id) {
    auto with_rules = [](std::vector<std::string> ids, double value = 1) {
        auto root = json::parse(document({instrument("AAPL")})).as_object();
        json::object rules;
        for (const auto& id : ids)
            rules[id] = {{"id", id}, {"symbol", "AAPL"}, {"op", ">"}, {"value", value}};
        if (!rules.empty()) root["price_rules"] = std::move(rules);
        return json::serialize(root);
    };
    auto result = merged(with_rules({"a"}), with_rules({"a", "ours"}), with_rules({"theirs"}));
    const auto& rules = result.at("price_rules").as_object();
    BOOST_TEST(rules.contains("ours"));
    BOOST_TEST(rules.contains("theirs"));
    BOOST_TEST(!rules.contains("a"));  // removed on their side, unchanged on ours
    // None left on either side: no empty member.
    BOOST_TEST(
        !merged(with_rules({"a"}), with_rules({}), with_rules({"a"})).contains("price_rules"));
}
