// The search-news parser against the repo's own fixture, hostile input, and the recorded
// search answer in ../shared/fixtures when present.
#define BOOST_TEST_MODULE yfinance_news
#include <boost/test/unit_test.hpp>

#include "news.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace tickerd::testing;

BOOST_AUTO_TEST_CASE(search_news_become_items_newest_first) {
    auto body = own_fixture("yfinance/search-MSFT-news.json");
    auto answer = yfinance::parse_news(body, "MSFT");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    BOOST_TEST(answer.data.at("symbol").as_string() == "MSFT");
    const auto& items = answer.data.at("items").as_array();
    BOOST_TEST_REQUIRE(items.size() == 2u);  // the item without an id is skipped
    check_schema("news", answer.data);
    const auto& newest = items[0].as_object();
    BOOST_TEST(newest.at("id").as_string() == "0b1c2d3e-0000-3abc-9def-000000000002");
    BOOST_TEST(newest.at("publisher").as_string() == "Yahoo Finance");
    BOOST_TEST(newest.at("published_at").as_string() == "2024-11-28T10:33:20Z");
    BOOST_TEST(newest.at("summary").is_null());
    BOOST_TEST(items[1].at("published_at").as_string() == "2024-11-27T09:33:20Z");
}

BOOST_AUTO_TEST_CASE(items_are_capped) {
    json::array news;
    for (int i = 0; i < 50; ++i) {
        news.push_back(json::object{{"uuid", "id" + std::to_string(i)},
                                    {"title", "t"},
                                    {"providerPublishTime", 1700000000 + i}});
    }
    auto answer = yfinance::parse_news(json::serialize(json::object{{"news", news}}), "X", 20);
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK);
    BOOST_TEST(answer.data.at("items").as_array().size() == 20u);
    BOOST_TEST(answer.data.at("items").as_array()[0].at("id").as_string() == "id49");
}

BOOST_AUTO_TEST_CASE(hostile_input_is_classified) {
    BOOST_TEST(yfinance::parse_news("", "X").status == TICKERD_E_TRANSIENT);
    BOOST_TEST(yfinance::parse_news("{\"news\":{}}", "X").status == TICKERD_E_TRANSIENT);
    BOOST_TEST(yfinance::parse_news("{\"quotes\":[]}", "X").status == TICKERD_E_TRANSIENT);
    auto odd = yfinance::parse_news(
        R"({"news":[null,1,"x",{"uuid":5,"title":"t"},{"uuid":"a","title":"t","providerPublishTime":"soon","link":7}]})",
        "X");
    BOOST_TEST_REQUIRE(odd.status == TICKERD_OK);
    BOOST_TEST_REQUIRE(odd.data.at("items").as_array().size() == 1u);
    const auto& item = odd.data.at("items").as_array()[0].as_object();
    BOOST_TEST(item.at("published_at").is_null());
    BOOST_TEST(item.at("url").is_null());
    auto empty = yfinance::parse_news(R"({"news":[]})", "X");
    BOOST_TEST(empty.status == TICKERD_OK);  // no news is an answer, not an error
}

BOOST_AUTO_TEST_CASE(the_recorded_search_answer_parses) {
    auto shared = shared_fixtures_dir();
    auto file = shared ? *shared / "yahoo/search-v1-AAPL-quotes-news.json" : fs::path();
    if (!shared || !fs::exists(file)) {
        BOOST_TEST_MESSAGE("recorded search answer not found: not checked");
        return;
    }
    auto answer = yfinance::parse_news(read_file(file), "AAPL");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    check_schema("news", answer.data);
    const auto& items = answer.data.at("items").as_array();
    BOOST_TEST(items.size() == 4u);
    for (const auto& item : items) {
        BOOST_TEST(item.at("url").as_string().starts_with("https://"));
        BOOST_TEST(item.at("published_at").is_string());
    }
}
