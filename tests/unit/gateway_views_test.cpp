// Views on their own: filter parsing (what is refused, and how equal views share one key) and
// merge patches (RFC 7386: a patch applied gives exactly the new data, and none is offered
// where a patch cannot say the change).
#define BOOST_TEST_MODULE gateway_views
#include <boost/test/unit_test.hpp>

#include "gateway/views.hpp"

#include <boost/json.hpp>

#include <random>

using namespace tickerd::gateway;
namespace json = boost::json;

BOOST_AUTO_TEST_CASE(views_parse_and_equal_views_share_a_key) {
    auto a = parse_view("delta", "volume, price,price", "price>100, change_percent<=-2");
    auto b = parse_view("delta", "price,volume", "change_percent<=-2,price>100");
    BOOST_REQUIRE(a);
    BOOST_REQUIRE(b);
    BOOST_TEST(a->delta);
    BOOST_TEST(a->fields == (std::vector<std::string>{"price", "volume"}),
               boost::test_tools::per_element());
    BOOST_TEST(a->key() == b->key());
    BOOST_TEST(a->key() != parse_view("full", "price,volume", "price>100")->key());
    BOOST_TEST(parse_view(std::nullopt, std::nullopt, std::nullopt)->plain());
    BOOST_TEST(parse_view("full", std::nullopt, std::nullopt)->plain());
    BOOST_TEST(parse_view(std::nullopt, std::nullopt, "x>=-1.5e3")->where.at(0).value == -1500.0);
    for (const char* op : {">", ">=", "<", "<=", "==", "!="}) {
        auto view = parse_view(std::nullopt, std::nullopt, std::string("price") + op + "1");
        BOOST_REQUIRE(view);
        BOOST_TEST(view->where.at(0).op == op);
    }
}

BOOST_AUTO_TEST_CASE(bad_views_are_refused_naming_what_is_wrong) {
    struct Bad {
        std::optional<std::string_view> mode, fields, where;
        std::string named;
    };
    for (const auto& bad : std::vector<Bad>{{"diff", {}, {}, "diff"},
                                            {{}, "pri-ce", {}, "pri-ce"},
                                            {{}, "", {}, "fields"},
                                            {{}, {}, "price=>1", "=>"},
                                            {{}, {}, "price<>1", "<>"},
                                            {{}, {}, "price>", "not a number"},
                                            {{}, {}, "price>1e999", "1e999"},
                                            {{}, {}, "price>abc", "abc"},
                                            {{}, {}, ">1", "not a field"},
                                            {{}, {}, "price", "no operator"}}) {
        auto view = parse_view(bad.mode, bad.fields, bad.where);
        BOOST_REQUIRE(!view);
        BOOST_TEST(view.error().status == 422u);
        BOOST_TEST(view.error().detail.find(bad.named) != std::string::npos, view.error().detail);
    }
}

BOOST_AUTO_TEST_CASE(a_merge_patch_applied_gives_the_new_data) {
    std::mt19937 random(11);
    std::uniform_int_distribution<int> pick(0, 5);
    auto value = [&]() -> json::value {
        switch (pick(random)) {
            case 0:
                return pick(random);
            case 1:
                return json::string("text" + std::to_string(pick(random)));
            case 2:
                return json::object{{"x", pick(random)}, {"y", pick(random) > 2}};
            case 3:
                return json::array{pick(random), pick(random)};
            case 4:
                return 1.5 * pick(random);
            default:
                return true;
        }
    };
    json::object before{{"symbol", "AAPL"}};
    int patched = 0;
    for (int round = 0; round < 2000; ++round) {
        json::object after = before;
        for (const char* key : {"a", "b", "c", "d"}) {
            int what = pick(random);
            if (what == 0) after.erase(key);
            if (what >= 4) after[key] = value();
        }
        auto patch = merge_patch(before, after);
        BOOST_REQUIRE(patch);
        json::object applied = before;
        apply_merge_patch(applied, *patch);
        BOOST_REQUIRE_MESSAGE(applied == after, json::serialize(before)
                                                    << " + " << json::serialize(*patch));
        patched += patch->empty() ? 0 : 1;
        before = std::move(after);
    }
    BOOST_TEST(patched > 1000);
    // Only what changed goes in the patch.
    auto small = merge_patch({{"a", 1}, {"b", {{"x", 1}, {"y", 2}}}},
                             {{"a", 1}, {"b", {{"x", 1}, {"y", 3}}}});
    BOOST_TEST(json::serialize(*small) == R"({"b":{"y":3}})");
}

BOOST_AUTO_TEST_CASE(no_patch_is_offered_where_one_cannot_say_the_change) {
    BOOST_TEST(!merge_patch({{"a", 1}}, {{"a", nullptr}}));                // becomes null
    BOOST_TEST(!merge_patch({}, {{"a", nullptr}}));                        // appears as null
    BOOST_TEST(!merge_patch({}, {{"o", {{"x", nullptr}}}}));               // an object with a null
    BOOST_TEST(merge_patch({{"a", nullptr}}, {{"a", nullptr}})->empty());  // unchanged null
    BOOST_TEST(json::serialize(*merge_patch({{"a", nullptr}}, {})) == R"({"a":null})");
}
