// The HTTP vendors refuse bad settings at create time with a reason naming the key, and
// Alpha Vantage refuses to start without an API key; the daemon shows the reason.
#define BOOST_TEST_MODULE plugins_vendor_settings
#include <boost/test/unit_test.hpp>

#include "plugins/plugins.hpp"

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace tickerd;

namespace {

// The problem configure() reports for one instance of `plugin` with `settings` ("" = none).
std::string problem_with(const std::string& plugin, json::object settings) {
    plugins::PluginHost host({fs::path(TICKERD_ALL_VENDORS_DIR)});
    host.load_all();
    plugins::InstanceConfig config;
    config.name = "under_test";
    config.plugin = plugin;
    config.settings = std::move(settings);
    auto problems = host.configure({config}, true);
    return problems.empty() ? std::string() : problems.front();
}

bool mentions(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(yfinance_settings) {
    BOOST_TEST(problem_with("yfinance", {}).empty());
    BOOST_TEST(problem_with("yfinance", {{"market_data_api", "quote"},
                                         {"cookie_url", "http://127.0.0.1:1/"},
                                         {"include_raw", true}})
                   .empty());
    BOOST_TEST(mentions(problem_with("yfinance", {{"base_url", "ftp://x"}}),
                        "setting 'base_url' must be an http(s) URL"));
    BOOST_TEST(mentions(problem_with("yfinance", {{"market_data_api", "v7"}}),
                        "setting 'market_data_api' must be \"chart\" or \"quote\""));
    BOOST_TEST(mentions(problem_with("yfinance", {{"include_raw", "yes"}}),
                        "setting 'include_raw' must be true or false"));
    BOOST_TEST(mentions(problem_with("yfinance", {{"api_key", "x"}}), "unknown setting 'api_key'"));
}

BOOST_AUTO_TEST_CASE(alphavantage_settings) {
    ::unsetenv("ALPHAVANTAGE_API_KEY");
    BOOST_TEST(mentions(problem_with("alphavantage", {}), "an API key is required"));
    ::setenv("ALPHAVANTAGE_API_KEY", "from-env", 1);
    BOOST_TEST(problem_with("alphavantage", {}).empty());
    ::unsetenv("ALPHAVANTAGE_API_KEY");
    BOOST_TEST(
        problem_with("alphavantage",
                     {{"api_key", "k"}, {"daily_outputsize", "full"}, {"sma_200_request", false}})
            .empty());
    BOOST_TEST(mentions(problem_with("alphavantage", {{"api_key", "k"}, {"daily_outputsize", 100}}),
                        "setting 'daily_outputsize' must be \"compact\" or \"full\""));
    BOOST_TEST(mentions(problem_with("alphavantage", {{"api_key", "k"}, {"sma_200_request", 1}}),
                        "setting 'sma_200_request' must be true or false"));
    BOOST_TEST(mentions(problem_with("alphavantage", {{"api_key", 5}}),
                        "setting 'api_key' must be a string"));
    BOOST_TEST(mentions(problem_with("alphavantage", {{"api_key", "k"}, {"budget", 5}}),
                        "unknown setting 'budget'"));  // the host takes it out of config files
}
