#define BOOST_TEST_MODULE scheduler_policy
#include <boost/test/unit_test.hpp>

#include "scheduler/scheduler.hpp"

#include <set>

using namespace std::chrono_literals;
using tickerd::DataType;
namespace scheduler = tickerd::scheduler;

BOOST_AUTO_TEST_CASE(retry_delay_doubles_up_to_a_minute) {
    BOOST_TEST(scheduler::retry_delay_without_jitter(1, 2.0).count() == 2000);
    BOOST_TEST(scheduler::retry_delay_without_jitter(2, 2.0).count() == 4000);
    BOOST_TEST(scheduler::retry_delay_without_jitter(3, 2.0).count() == 8000);
    BOOST_TEST(scheduler::retry_delay_without_jitter(5, 2.0).count() == 32000);
    BOOST_TEST(scheduler::retry_delay_without_jitter(6, 2.0).count() == 60000);  // 64 capped
    BOOST_TEST(scheduler::retry_delay_without_jitter(40, 2.0).count() == 60000);
    BOOST_TEST(scheduler::retry_delay_without_jitter(2, 1.5).count() == 2250);
    BOOST_TEST(scheduler::retry_delay_without_jitter(3000, 10.0).count() == 60000);  // inf
}

BOOST_AUTO_TEST_CASE(retry_delay_jitter_stays_within_half_and_full_base) {
    std::mt19937_64 rng(7);
    for (int retry = 1; retry <= 8; ++retry) {
        auto base = scheduler::retry_delay_without_jitter(retry, 2.0);
        std::set<long long> seen;
        for (int i = 0; i < 500; ++i) {
            auto delay = scheduler::retry_delay(retry, 2.0, rng);
            BOOST_TEST(delay.count() >= base.count() / 2);
            BOOST_TEST(delay.count() <= base.count());
            seen.insert(delay.count());
        }
        BOOST_TEST(seen.size() > 10u);  // really random, not a constant
    }
}

BOOST_AUTO_TEST_CASE(stagger_spreads_polls_evenly_over_the_interval) {
    auto offsets = scheduler::stagger_offsets(4, 60s);
    std::vector<std::chrono::milliseconds> expected{0s, 15s, 30s, 45s};
    BOOST_TEST(offsets == expected);
    BOOST_TEST(scheduler::stagger_offsets(0, 60s).empty());
    BOOST_TEST(scheduler::stagger_offsets(1, 60s) == std::vector<std::chrono::milliseconds>{0s});
    auto three = scheduler::stagger_offsets(3, 1000ms);
    BOOST_TEST(three.back().count() == 666);
}

BOOST_AUTO_TEST_CASE(scale_delay_scales_but_never_reaches_zero) {
    BOOST_TEST(scheduler::scale_delay(60s, 0.01).count() == 600);
    BOOST_TEST(scheduler::scale_delay(2000ms, 1.0).count() == 2000);
    BOOST_TEST(scheduler::scale_delay(0ms, 1.0).count() == 1);
    BOOST_TEST(scheduler::scale_delay(10ms, 0.001).count() == 1);
}

BOOST_AUTO_TEST_CASE(bench_keeps_a_vendor_out_until_its_retry_after) {
    auto now = std::chrono::steady_clock::time_point{} + 1h;
    scheduler::Bench bench([&] { return now; });
    BOOST_TEST(!bench.is_benched("alpha"));
    bench.bench("alpha", 1000ms, scheduler::BenchReason::rate_limited, "");
    BOOST_TEST(bench.is_benched("alpha"));
    BOOST_TEST(!bench.is_benched("beta"));
    now += 999ms;
    BOOST_TEST(bench.is_benched("alpha"));
    bench.bench("alpha", 1ms, scheduler::BenchReason::rate_limited,
                "");  // a shorter retry-after never shortens the bench
    now += 1ms;
    BOOST_TEST(!bench.is_benched("alpha"));
    bench.bench("alpha", 5s, scheduler::BenchReason::rate_limited, "");
    now += 4s;
    BOOST_TEST(bench.is_benched("alpha"));
    now += 2s;
    BOOST_TEST(!bench.is_benched("alpha"));
}

BOOST_AUTO_TEST_CASE(bench_says_why_and_lists_only_the_vendors_benched_now) {
    auto now = std::chrono::steady_clock::time_point{} + 1h;
    scheduler::Bench bench([&] { return now; });
    bench.bench("alpha", 60s, scheduler::BenchReason::hanging, "3 call(s) in a row ran past");
    bench.bench("beta", 1s, scheduler::BenchReason::rate_limited, "budget spent");
    now += 2s;
    auto benched = bench.benched();
    BOOST_REQUIRE_EQUAL(benched.size(), 1u);
    BOOST_TEST(benched[0].vendor == "alpha");
    BOOST_TEST(scheduler::to_string(benched[0].reason) == "hanging");
    BOOST_TEST(benched[0].detail == "3 call(s) in a row ran past");

    boost::json::object instance{{"name", "alpha"}};
    scheduler::add_health(instance, {benched[0], 2}, std::chrono::system_clock::now());
    BOOST_TEST(instance.at("stuck_calls").to_number<int>() == 2);
    BOOST_TEST(instance.at("benched").at("reason").as_string() == "hanging");
    BOOST_TEST(instance.at("benched").at("until").is_string());
    boost::json::object healthy{{"name", "beta"}};
    scheduler::add_health(healthy, {}, std::chrono::system_clock::now());
    BOOST_TEST(healthy.at("benched").is_null());
    BOOST_TEST(healthy.at("stuck_calls").to_number<int>() == 0);
}

BOOST_AUTO_TEST_CASE(worker_ids_round_trip) {
    for (auto type : tickerd::kAllDataTypes) {
        auto id = worker_id(type);
        BOOST_TEST(id.starts_with("worker_"));
        BOOST_TEST((tickerd::parse_worker_id(id) == type));
    }
    BOOST_TEST(worker_id(DataType::insider_data) == "worker_insider_data");
    BOOST_TEST(!tickerd::parse_worker_id("worker_bogus"));
    BOOST_TEST(!tickerd::parse_worker_id("market_data"));
    BOOST_TEST(!tickerd::parse_worker_id(""));
}

BOOST_AUTO_TEST_CASE(status_json_has_iso_times_or_nulls) {
    scheduler::WorkerStatus status;
    status.worker_id = "worker_news";
    status.data_type = DataType::news;
    auto json = scheduler::to_json(status);
    BOOST_TEST(json.at("worker_id").as_string() == "worker_news");
    BOOST_TEST(json.at("data_type").as_string() == "news");
    BOOST_TEST(json.at("status").as_string() == "stopped");
    BOOST_TEST(json.at("last_run").is_null());
    BOOST_TEST(json.at("next_run").is_null());
    BOOST_TEST(json.at("current_vendor").is_null());
    BOOST_TEST(json.at("last_error").is_null());
    BOOST_TEST(json.at("last_success_at").is_null());
    BOOST_TEST(json.at("stalled").as_bool() == false);
    BOOST_TEST(json.at("timeout_count").to_number<int>() == 0);

    status.last_run = std::chrono::system_clock::time_point{} + std::chrono::seconds(1795003200);
    status.current_vendor = "mock";
    status.last_error = "AAPL: mock: boom";
    status.success_count = 3;
    json = scheduler::to_json(status);
    BOOST_TEST(json.at("last_run").as_string() == "2026-11-18T12:00:00.000Z");
    BOOST_TEST(json.at("current_vendor").as_string() == "mock");
    BOOST_TEST(json.at("last_error").as_string() == "AAPL: mock: boom");
    BOOST_TEST(json.at("success_count").to_number<int>() == 3);
}
