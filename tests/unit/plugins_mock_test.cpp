// The mock vendor, loaded from the real mock.so through the plugin host: every data type
// answers in the normalised shape, the data is deterministic, and each injected fault comes
// back as the error class it promises.
#define BOOST_TEST_MODULE plugins_mock
#include <boost/test/unit_test.hpp>

#include "plugins/plugins.hpp"
#include "support/schemas.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace tickerd;
using tickerd::testing::check_schema;
using namespace std::chrono_literals;

namespace {

// One mock instance with `settings`, made by a host of its own.
struct MockVendor {
    explicit MockVendor(const json::object& settings = {}, int max_concurrency = 4)
        : host({fs::path(TICKERD_TEST_VENDOR_DIR)}) {
        host.load_all();
        plugins::InstanceConfig config;
        config.name = "mock_under_test";
        config.plugin = "mock";
        config.settings = settings;
        config.max_concurrency = max_concurrency;
        problems = host.configure({config}, true);
        auto ranked = host.ranked_for(DataType::market_data);
        if (!ranked.empty()) instance = ranked.front();
    }

    plugins::FetchOutcome fetch(DataType type, const std::string& symbol,
                                std::chrono::milliseconds timeout = 5s) {
        plugins::CancelFlag cancel;
        return instance->fetch(type, symbol, std::chrono::system_clock::now() + timeout, cancel);
    }

    json::object fetch_data(DataType type, const std::string& symbol) {
        auto outcome = fetch(type, symbol);
        BOOST_REQUIRE_MESSAGE(outcome.status == TICKERD_OK, outcome.message);
        return json::parse(outcome.json).as_object();
    }

    plugins::PluginHost host;
    std::vector<std::string> problems;
    plugins::InstancePtr instance;
};

}  // namespace

BOOST_AUTO_TEST_CASE(every_data_type_answers_in_its_schema) {
    MockVendor mock;
    BOOST_TEST_REQUIRE(mock.problems.empty());
    BOOST_TEST_REQUIRE(mock.instance != nullptr);

    for (auto type : {DataType::market_data, DataType::news, DataType::fundamentals,
                      DataType::analytics, DataType::insider_data}) {
        auto data = mock.fetch_data(type, "AAPL");
        check_schema(std::string(to_string(type)), data);  // the same schema as the real vendors
    }
    auto market = mock.fetch_data(DataType::market_data, "AAPL");
    BOOST_TEST(market.at("price").to_number<double>() > 0);
    BOOST_TEST(market.at("low").to_number<double>() <= market.at("high").to_number<double>());
    BOOST_TEST(!mock.fetch_data(DataType::news, "AAPL").at("items").as_array().empty());
    auto insider = mock.fetch_data(DataType::insider_data, "AAPL");
    BOOST_TEST_REQUIRE(!insider.at("transactions").as_array().empty());
    const auto& first = insider.at("transactions").as_array().front().as_object();
    BOOST_TEST((first.at("type") == "acquisition" || first.at("type") == "disposal"));
}

BOOST_AUTO_TEST_CASE(prices_are_deterministic_per_symbol_and_seed) {
    MockVendor first, second;
    MockVendor other_seed(json::object{{"seed", 7}});
    auto price = [](MockVendor& mock, const char* symbol) {
        return mock.fetch_data(DataType::market_data, symbol).at("price").to_number<double>();
    };
    double aapl = price(first, "AAPL");
    BOOST_TEST(price(second, "AAPL") == aapl);
    BOOST_TEST(price(other_seed, "AAPL") != aapl);
    BOOST_TEST(price(first, "MSFT") != price(second, "TSLA"));
}

BOOST_AUTO_TEST_CASE(fail_first_fails_exactly_that_many_calls) {
    MockVendor mock(json::object{{"fail_first", 2}, {"fail_status", "auth"}});
    BOOST_TEST(mock.fetch(DataType::market_data, "AAPL").status == TICKERD_E_AUTH);
    BOOST_TEST(mock.fetch(DataType::market_data, "AAPL").status == TICKERD_E_AUTH);
    BOOST_TEST(mock.fetch(DataType::market_data, "AAPL").status == TICKERD_OK);
}

BOOST_AUTO_TEST_CASE(fail_rate_fails_about_that_fraction) {
    MockVendor mock(json::object{{"fail_rate", 0.5}});
    int failures = 0;
    for (int i = 0; i < 200; ++i) {
        if (mock.fetch(DataType::market_data, "AAPL").status == TICKERD_E_TRANSIENT) ++failures;
    }
    BOOST_TEST(failures > 50);
    BOOST_TEST(failures < 150);
}

BOOST_AUTO_TEST_CASE(not_found_and_rate_limited_are_their_own_classes) {
    MockVendor not_found(json::object{{"not_found_symbols", json::array{"ZZZZ"}}});
    BOOST_TEST(not_found.fetch(DataType::market_data, "ZZZZ").status == TICKERD_E_NOT_FOUND);
    BOOST_TEST(not_found.fetch(DataType::market_data, "AAPL").status == TICKERD_OK);

    MockVendor limited(json::object{{"rate_limited", true}, {"retry_after_ms", 2500}});
    auto outcome = limited.fetch(DataType::market_data, "AAPL");
    BOOST_TEST(outcome.status == TICKERD_E_RATE_LIMITED);
    BOOST_TEST(outcome.retry_after_ms == 2500);
}

BOOST_AUTO_TEST_CASE(bad_settings_refuse_the_instance_with_the_key_named) {
    MockVendor unknown(json::object{{"fail_frist", 1}});
    BOOST_TEST_REQUIRE(unknown.problems.size() == 1u);
    BOOST_TEST(unknown.problems[0].find("unknown setting 'fail_frist'") != std::string::npos,
               unknown.problems[0]);
    BOOST_TEST(unknown.instance == nullptr);

    MockVendor wrong_type(json::object{{"fail_rate", "often"}});
    BOOST_TEST_REQUIRE(wrong_type.problems.size() == 1u);
    BOOST_TEST(wrong_type.problems[0].find("fail_rate") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_hung_call_ends_at_its_deadline_as_transient) {
    MockVendor mock(json::object{{"hang", true}});
    auto started = std::chrono::steady_clock::now();
    auto outcome = mock.fetch(DataType::market_data, "AAPL", 200ms);
    auto took = std::chrono::steady_clock::now() - started;
    BOOST_TEST(outcome.status == TICKERD_E_TRANSIENT);
    BOOST_TEST(took < std::chrono::seconds(3));
}

BOOST_AUTO_TEST_CASE(a_cancelled_call_returns_early) {
    MockVendor mock(json::object{{"hang", true}});
    plugins::CancelFlag cancel;
    auto call = std::async(std::launch::async, [&] {
        return mock.instance->fetch(DataType::market_data, "AAPL",
                                    std::chrono::system_clock::now() + 60s, cancel);
    });
    std::this_thread::sleep_for(50ms);
    cancel.cancelled = true;
    BOOST_TEST_REQUIRE((call.wait_for(3s) == std::future_status::ready));
    BOOST_TEST(call.get().status == TICKERD_E_TRANSIENT);
}

BOOST_AUTO_TEST_CASE(calls_beyond_max_concurrency_are_turned_away_busy) {
    MockVendor mock(json::object{{"latency_ms", 500}}, 1);
    auto slow =
        std::async(std::launch::async, [&] { return mock.fetch(DataType::market_data, "AAPL"); });
    std::this_thread::sleep_for(100ms);  // the slow call is now in flight
    auto turned_away = mock.fetch(DataType::market_data, "MSFT");
    BOOST_TEST(turned_away.status == TICKERD_E_TRANSIENT);
    BOOST_TEST(turned_away.message.find("busy") != std::string::npos, turned_away.message);
    BOOST_TEST(slow.get().status == TICKERD_OK);
}
