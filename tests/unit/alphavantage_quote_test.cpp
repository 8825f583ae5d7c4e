// GLOBAL_QUOTE and Alpha Vantage's HTTP-200 error bodies: the repo's own fixtures (the
// documented shapes), hostile input, and the recorded answers in ../shared/fixtures.
#define BOOST_TEST_MODULE alphavantage_quote
#include <boost/test/unit_test.hpp>

#include "parsers.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
using namespace tickerd::testing;

namespace {

std::string own(const std::string& name) {
    return own_fixture("alphavantage/" + name);
}

std::optional<fs::path> shared_alphavantage() {
    auto dir = shared_fixtures_dir();
    if (!dir || !fs::is_directory(*dir / "alphavantage")) return std::nullopt;
    return *dir / "alphavantage";
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_quote_becomes_market_data_with_numbers) {
    auto answer = alphavantage::parse_global_quote(own("global-quote-MSFT.json"), "MSFT");
    BOOST_TEST_REQUIRE(answer.status == TICKERD_OK, answer.message);
    const auto& data = answer.data;
    BOOST_TEST(data.at("price").as_double() == 422.99);
    BOOST_TEST(data.at("open").as_double() == 425.66);
    BOOST_TEST(data.at("previous_close").as_double() == 427.99);
    BOOST_TEST(data.at("change").as_double() == -5.0);
    BOOST_TEST(data.at("change_percent").as_double() == -1.1682);
    BOOST_TEST(data.at("volume").as_int64() == 18332400);
    BOOST_TEST(data.at("market_time").as_string() == "2024-11-27");
    BOOST_TEST(data.at("currency").is_null());
}

BOOST_AUTO_TEST_CASE(limits_and_errors_sent_as_200_are_classified) {
    auto unknown = alphavantage::parse_global_quote(own("global-quote-unknown-symbol.json"), "ZZ");
    BOOST_TEST(unknown.status == TICKERD_E_NOT_FOUND);
    auto daily = alphavantage::parse_global_quote(own("information-daily-limit.json"), "MSFT");
    BOOST_TEST(daily.status == TICKERD_E_RATE_LIMITED);
    BOOST_TEST(daily.retry_after_ms == 3'600'000);
    auto note = alphavantage::parse_global_quote(
        R"({"Note":"Our standard API call frequency is 5 calls per minute"})", "X");
    BOOST_TEST(note.status == TICKERD_E_RATE_LIMITED);
    BOOST_TEST(note.retry_after_ms == 60'000);
    auto key = alphavantage::parse_global_quote(
        R"({"Error Message":"the parameter apikey is invalid or missing."})", "X");
    BOOST_TEST(key.status == TICKERD_E_AUTH);
    auto premium =
        alphavantage::parse_global_quote(R"({"Information":"This is a premium endpoint."})", "X");
    BOOST_TEST(premium.status == TICKERD_E_AUTH);
}

BOOST_AUTO_TEST_CASE(hostile_input_is_classified) {
    BOOST_TEST(alphavantage::parse_global_quote("", "X").status == TICKERD_E_TRANSIENT);
    BOOST_TEST(alphavantage::parse_global_quote("{}", "X").status == TICKERD_E_TRANSIENT);
    BOOST_TEST(alphavantage::parse_global_quote(R"({"Global Quote":[]})", "X").status ==
               TICKERD_E_TRANSIENT);
    BOOST_TEST(
        alphavantage::parse_global_quote(R"({"Global Quote":{"05. price":"None"}})", "X").status ==
        TICKERD_E_TRANSIENT);
    auto odd = alphavantage::parse_global_quote(
        R"({"Global Quote":{"05. price":"1.5","02. open":"None","06. volume":"1e300",
            "07. latest trading day":"yesterday","10. change percent":"%"}})",
        "X");
    BOOST_TEST_REQUIRE(odd.status == TICKERD_OK, odd.message);
    BOOST_TEST(odd.data.at("open").is_null());
    BOOST_TEST(odd.data.at("volume").is_null());
    BOOST_TEST(odd.data.at("market_time").is_null());
    BOOST_TEST(odd.data.at("change_percent").is_null());
}

BOOST_AUTO_TEST_CASE(recorded_answers_parse_or_map_to_their_class) {
    auto dir = shared_alphavantage();
    if (!dir) {
        BOOST_TEST_MESSAGE("../shared/fixtures not found: recorded answers not checked");
        return;
    }
    auto quote = alphavantage::parse_global_quote(
        read_file(*dir / "global-quote-MSFT-2018-10-05.json"), "MSFT");
    BOOST_TEST_REQUIRE(quote.status == TICKERD_OK, quote.message);
    BOOST_TEST(quote.data.at("price").as_double() == 112.13);
    BOOST_TEST(quote.data.at("change_percent").as_double() == -0.5852);
    BOOST_TEST(alphavantage::parse_global_quote(
                   read_file(*dir / "error-note-rate-limit-5-per-minute.transcribed.json"), "X")
                   .status == TICKERD_E_RATE_LIMITED);
    BOOST_TEST(alphavantage::parse_global_quote(
                   read_file(*dir / "error-message-invalid-apikey.transcribed.json"), "X")
                   .status == TICKERD_E_AUTH);
    BOOST_TEST(
        alphavantage::parse_global_quote(
            read_file(*dir / "error-message-invalid-api-call-FX_DAILY.transcribed.json"), "X")
            .status == TICKERD_E_NOT_FOUND);
}
