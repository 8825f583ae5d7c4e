#define BOOST_TEST_MODULE core_model
#include <boost/test/unit_test.hpp>

#include "core/model.hpp"

using namespace tickerd;
namespace json = boost::json;

BOOST_AUTO_TEST_CASE(symbols_are_upper_cased_and_validated) {
    BOOST_TEST(normalize_symbol("aapl").value() == "AAPL");
    for (auto ok :
         {"BRK-B", "^GSPC", "EURUSD=X", "BTC-USD", "RDS.A", "A", "ABCDEFGHIJ0123456789"}) {
        BOOST_TEST(normalize_symbol(ok).has_value(), ok);
    }
    for (auto bad : {"", "AAPL MSFT", "A/B", "ÄPPLE", "ABCDEFGHIJ01234567890", "a:b", "x*"}) {
        BOOST_TEST(!normalize_symbol(bad).has_value(), bad);
    }
}

BOOST_AUTO_TEST_CASE(channels_round_trip_and_reject_malformed_names) {
    auto key = parse_channel("stream:market_data:AAPL");
    BOOST_REQUIRE(key);
    BOOST_TEST(key->symbol == "AAPL");
    BOOST_TEST(key->name() == "stream:market_data:AAPL");
    BOOST_TEST(channel_name(DataType::insider_data, "BRK-B") == "stream:insider_data:BRK-B");
    BOOST_TEST((key->data_type() == DataType::market_data));
    for (auto bad : {"stream:market_data", "market_data:AAPL", "stream:market_data:aapl",
                     "stream:market_data:", "stream:news:A B", "stream:Quotes:AAPL",
                     "stream:1x:AAPL", "stream::AAPL", "stream:a-b:AAPL"}) {
        BOOST_TEST(!parse_channel(bad).has_value(), bad);
    }
    // A well-formed type that is not polled parses; whether it is served is ChannelTypes'.
    auto published = parse_channel("stream:signals:AAPL");
    BOOST_REQUIRE(published);
    BOOST_TEST(published->type == "signals");
    BOOST_TEST(!published->data_type().has_value());
}

BOOST_AUTO_TEST_CASE(channel_types_serve_the_polled_and_the_declared_published_types) {
    std::vector<std::string> declared{"signals", "fills_v2"};
    ChannelTypes polled_only;
    ChannelTypes types(declared);
    BOOST_TEST(polled_only.serves("news"));
    BOOST_TEST(!polled_only.serves("signals"));
    BOOST_TEST(types.serves("signals"));
    BOOST_TEST(types.is_published("fills_v2"));
    BOOST_TEST(!types.is_published("market_data"));
    BOOST_TEST(!types.serves("quotes"));
    BOOST_TEST(types.describe().ends_with("insider_data, signals, fills_v2"));
    BOOST_TEST(check_published_type("signals").has_value());
    for (auto bad : {"", "Signals", "9lives", "a-b", "market_data", "alerts", "bars_1m",
                     "a_name_that_is_much_longer_than_forty_chars"}) {
        auto refused = check_published_type(bad);
        BOOST_TEST(!refused.has_value(), bad);
        if (!refused) BOOST_TEST(refused.error().field == "published_types");
    }
}

BOOST_AUTO_TEST_CASE(data_types_parse_by_name_only) {
    for (auto type : kAllDataTypes)
        BOOST_TEST((parse_data_type(to_string(type)) == type));
    BOOST_TEST(!parse_data_type("quotes"));
    BOOST_TEST(!parse_data_type("Market_Data"));
}

BOOST_AUTO_TEST_CASE(instrument_parsing_is_strict_and_names_the_field) {
    auto instrument =
        parse_instrument(
            json::parse(
                R"({"symbol":"tsla","data_types":["market_data","news","news"],"enabled":false})"))
            .value();
    BOOST_TEST(instrument.symbol == "TSLA");
    BOOST_TEST(instrument.data_types.size() == 2u);  // duplicates folded
    BOOST_TEST(!instrument.enabled);
    BOOST_TEST(to_json(instrument).at("symbol").as_string() == "TSLA");

    auto field_of = [](const char* text) {
        auto parsed = parse_instrument(json::parse(text));
        if (parsed) return std::string("no error");
        BOOST_TEST(parsed.error().status == 422u);
        return parsed.error().field;
    };
    BOOST_TEST(field_of(R"({"data_types":["news"]})") == "symbol");
    BOOST_TEST(field_of(R"({"symbol":42})") == "symbol");
    BOOST_TEST(field_of(R"({"symbol":"A B"})") == "symbol");
    BOOST_TEST(field_of(R"({"symbol":"AAPL","data_types":"news"})") == "data_types");
    BOOST_TEST(field_of(R"({"symbol":"AAPL","data_types":["quotes"]})") == "data_types[0]");
    BOOST_TEST(field_of(R"({"symbol":"AAPL","data_types":[]})") == "data_types");
    BOOST_TEST(field_of(R"({"symbol":"AAPL","enabled":"yes"})") == "enabled");
    BOOST_TEST(field_of(R"({"symbol":"AAPL","colour":"red"})") == "colour");
    BOOST_TEST(field_of(R"([1,2])") == "");  // the value itself
    auto whole = parse_instrument(json::parse("[1,2]"));
    BOOST_TEST(whole.error().detail == "expected an object");
    auto typed = parse_instrument(json::parse(R"({"symbol":"AAPL","enabled":"yes"})"));
    BOOST_TEST(typed.error().detail == "enabled: expected true or false");
}

BOOST_AUTO_TEST_CASE(cadence_defaults_and_validation) {
    BOOST_TEST(default_cadence(DataType::market_data).interval_seconds == 60);
    BOOST_TEST(default_cadence(DataType::news).interval_seconds == 300);
    BOOST_TEST(default_cadence(DataType::fundamentals).interval_seconds == 3600);
    BOOST_TEST(default_cadence(DataType::analytics).interval_seconds == 600);
    BOOST_TEST(default_cadence(DataType::insider_data).interval_seconds == 1800);

    auto cadence =
        parse_cadence(json::parse(R"({"interval_seconds":5,"retry_attempts":1})"), DataType::news)
            .value();
    BOOST_TEST((cadence.data_type == DataType::news));
    BOOST_TEST(cadence.interval_seconds == 5);
    BOOST_TEST(cadence.retry_attempts == 1);
    BOOST_TEST(cadence.retry_backoff_multiplier == 2.0);

    auto field_of = [](const char* text, std::optional<DataType> type) {
        auto parsed = parse_cadence(json::parse(text), type);
        return parsed ? std::string("no error") : parsed.error().field;
    };
    BOOST_TEST(field_of(R"({"interval_seconds":0})", DataType::news) == "interval_seconds");
    BOOST_TEST(field_of(R"({"retry_attempts":1.5})", DataType::news) == "retry_attempts");
    BOOST_TEST(field_of(R"({"retry_backoff_multiplier":0.5})", DataType::news) ==
               "retry_backoff_multiplier");
    BOOST_TEST(field_of(R"({"interval_seconds":5})", std::nullopt) == "data_type");
}

BOOST_AUTO_TEST_CASE(global_settings_merge_over_the_current_ones) {
    GlobalSettings base;
    base.cache_ttl_seconds = 900;
    auto next = parse_global_settings(json::parse(R"({"global_enabled":false})"), base).value();
    BOOST_TEST(!next.global_enabled);
    BOOST_TEST(next.cache_ttl_seconds == 900);
    auto negative = parse_global_settings(json::parse(R"({"cache_ttl_seconds":-1})"), base);
    BOOST_REQUIRE(!negative);
    BOOST_TEST(negative.error().detail == "cache_ttl_seconds: must be between 1 and 604800");
}

BOOST_AUTO_TEST_CASE(timestamps_are_iso8601_utc_with_milliseconds) {
    using namespace std::chrono;
    system_clock::time_point t{milliseconds(1764000000123)};
    BOOST_TEST(iso8601_utc(t) == "2025-11-24T16:00:00.123Z");
    BOOST_TEST(iso8601_utc(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(numeric_fields_and_comparisons) {
    boost::json::object data{
        {"price", 101.5}, {"volume", 7}, {"big", 18446744073709551615ull}, {"name", "x"}};
    BOOST_TEST(tickerd::number_at(data, "price").value() == 101.5);
    BOOST_TEST(tickerd::number_at(data, "volume").value() == 7.0);
    BOOST_TEST(tickerd::number_at(data, "big").value() == 18446744073709551615.0);
    BOOST_TEST(!tickerd::number_at(data, "name").has_value());
    BOOST_TEST(!tickerd::number_at(data, "missing").has_value());
    BOOST_TEST(tickerd::compare(2, ">", 1));
    BOOST_TEST(tickerd::compare(1, ">=", 1));
    BOOST_TEST(!tickerd::compare(1, "<", 1));
    BOOST_TEST(tickerd::compare(1, "<=", 1));
    BOOST_TEST(tickerd::compare(1, "==", 1));
    BOOST_TEST(tickerd::compare(1, "!=", 2));
    BOOST_TEST(!tickerd::compare(1, "=>", 0));  // not an operator: never holds
}
