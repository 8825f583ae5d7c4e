#define BOOST_TEST_MODULE telemetry_store
#include <boost/test/unit_test.hpp>

#include "telemetry/telemetry.hpp"

using namespace tickerd;

BOOST_AUTO_TEST_CASE(keeps_the_newest_thousand_per_data_type_newest_first) {
    telemetry::Store store;
    for (int i = 0; i < 1500; ++i) {
        telemetry::Record r;
        r.vendor = "mock";
        r.data_type = DataType::news;
        r.symbol = "AAPL";
        r.retry_count = i;
        store.record(r);
    }
    telemetry::Record other;
    other.data_type = DataType::market_data;
    store.record(other);

    auto all = store.newest(DataType::news, 5000);
    BOOST_TEST(all.size() == 1000u);
    BOOST_TEST(all.front().retry_count == 1499);
    BOOST_TEST(all.back().retry_count == 500);
    BOOST_TEST(store.newest(DataType::news, 3).size() == 3u);
    BOOST_TEST(store.newest(DataType::market_data, 10).size() == 1u);
    BOOST_TEST(store.newest(DataType::analytics, 10).empty());
}

BOOST_AUTO_TEST_CASE(json_form_has_the_seed_fields) {
    telemetry::Record r;
    r.vendor = "mock_b";
    r.data_type = DataType::market_data;
    r.symbol = "TSLA";
    r.success = false;
    r.latency_ms = 12.345;
    r.error = "timed out after 200 ms";
    r.error_class = "transient";
    r.retry_count = 1;
    r.fallback_used = true;
    r.worker_id = "worker_market_data";
    auto j = telemetry::to_json(r);
    for (auto key : {"vendor", "data_type", "symbol", "timestamp", "success", "latency_ms", "error",
                     "retry_count", "fallback_used"}) {
        BOOST_TEST(j.contains(key), key);
    }
    BOOST_TEST(j.at("latency_ms").as_double() == 12.3);
    BOOST_TEST(j.at("error").as_string() == "timed out after 200 ms");
}
