#define BOOST_TEST_MODULE scheduler_worker
#include <boost/test/unit_test.hpp>

#include "scheduler/scheduler.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>

#include <condition_variable>
#include <thread>

// The workers against the real thing: the mock vendor .so loaded by the real PluginHost, the
// embedded bus, a StateStore in a temp folder and an io_context on two threads. Every delay
// the scheduler owns runs at time_scale 0.01 (a 60 s cadence lasts 600 ms, a 2 s backoff
// 20 ms); vendor timeouts stay real. Time bounds are generous: the machine is noisy.

using namespace std::chrono_literals;
using tickerd::DataType;
namespace bus = tickerd::bus;
namespace config = tickerd::config;
namespace plugins = tickerd::plugins;
namespace scheduler = tickerd::scheduler;
namespace telemetry = tickerd::telemetry;
namespace json = boost::json;

namespace {

constexpr auto kPatience = 15s;  // upper bound for anything we wait for

template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds limit = kPatience) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (predicate()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return predicate();
}

// Collects what the bus delivers, with the steady time each message arrived.
class Collector : public bus::Subscriber {
  public:
    struct Arrival {
        bus::MessagePtr message;
        std::chrono::steady_clock::time_point at;
    };

    void deliver(const bus::MessagePtr& message) override {
        std::lock_guard lock(mutex_);
        arrivals_.push_back({message, std::chrono::steady_clock::now()});
    }
    std::vector<Arrival> arrivals() const {
        std::lock_guard lock(mutex_);
        return arrivals_;
    }
    std::size_t count() const {
        std::lock_guard lock(mutex_);
        return arrivals_.size();
    }
    bool wait_for(std::size_t n) {
        return eventually([&] { return count() >= n; });
    }
    json::object message_json(std::size_t index) const {
        return json::parse(arrivals().at(index).message->json).as_object();
    }

  private:
    mutable std::mutex mutex_;
    std::vector<Arrival> arrivals_;
};

plugins::InstanceConfig mock_vendor(std::string name, int priority, json::object settings = {},
                                    int timeout_ms = 5000) {
    plugins::InstanceConfig vendor;
    vendor.name = std::move(name);
    vendor.plugin = "mock";
    vendor.priority = priority;
    vendor.settings = std::move(settings);
    vendor.timeout_ms = timeout_ms;
    return vendor;
}

tickerd::Instrument instrument(std::string symbol, DataType type = DataType::market_data) {
    tickerd::Instrument result;
    result.symbol = std::move(symbol);
    result.data_types = {type};
    return result;
}

struct Setup {
    std::vector<plugins::InstanceConfig> vendors{mock_vendor("mock", 100)};
    std::vector<tickerd::Instrument> instruments{instrument("AAPL")};
    // The mock's folder; the hang tests add the plugins whose calls never return.
    std::vector<std::filesystem::path> plugin_dirs{TICKERD_TEST_VENDOR_DIR};
    tickerd::Cadence cadence = tickerd::default_cadence(DataType::market_data);
    tickerd::GlobalSettings global;
    double time_scale = 0.01;
};

// Declaration order matters: the manager goes first, then the io_context (with whatever
// handlers are still queued), and only then what they referred to.
struct Harness {
    explicit Harness(Setup setup) : host(setup.plugin_dirs) {
        host.load_all();
        auto problems = host.configure(setup.vendors, true);
        BOOST_REQUIRE_MESSAGE(problems.empty(), "vendor configuration: " + join(problems));

        config::RuntimeConfig initial;
        initial.instruments = config::InstrumentTable(setup.instruments);
        for (auto type : tickerd::kAllDataTypes) {
            initial.cadences[type] = tickerd::default_cadence(type);
        }
        initial.cadences[setup.cadence.data_type] = setup.cadence;
        initial.global = setup.global;
        state = std::make_unique<config::StateStore>(dir.path(), initial);

        for (const auto& item : setup.instruments) {
            for (auto type : item.data_types) {
                event_bus->subscribe(tickerd::channel_name(type, item.symbol), collector);
            }
        }

        for (int i = 0; i < 2; ++i)
            threads.emplace_back([this] { io.run(); });
        scheduler::Options options;
        options.time_scale = setup.time_scale;
        options.seed = 1;
        manager = std::make_unique<scheduler::WorkerManager>(io, *state, host, *event_bus, records,
                                                             options);
    }

    ~Harness() {
        manager->shutdown(3s);
        manager.reset();
        work.reset();
        io.stop();
        for (auto& thread : threads)
            thread.join();
    }

    static std::string join(const std::vector<std::string>& lines) {
        std::string out;
        for (const auto& line : lines)
            out += line + "; ";
        return out;
    }

    scheduler::WorkerStatus status(DataType type = DataType::market_data) const {
        return manager->status(type);
    }

    // Telemetry oldest first, optionally only one vendor's calls.
    std::vector<telemetry::Record> calls(DataType type = DataType::market_data,
                                         const std::string& vendor = "") const {
        auto newest = records.newest(type, telemetry::Store::kCapacity);
        std::vector<telemetry::Record> out;
        for (auto it = newest.rbegin(); it != newest.rend(); ++it) {
            if (vendor.empty() || it->vendor == vendor) out.push_back(*it);
        }
        return out;
    }

    tickerd::testing::TempDir dir{"tickerd-scheduler"};
    plugins::PluginHost host;
    std::unique_ptr<bus::Bus> event_bus = bus::make_embedded_bus();
    telemetry::Store records;
    std::unique_ptr<config::StateStore> state;
    std::shared_ptr<Collector> collector = std::make_shared<Collector>();
    boost::asio::io_context io;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
        io.get_executor()};
    std::vector<std::thread> threads;
    std::unique_ptr<scheduler::WorkerManager> manager;
};

Setup long_interval_setup() {
    Setup setup;
    setup.cadence.interval_seconds = 3600;  // 36 s scaled: one cycle during a test
    return setup;
}

}  // namespace

BOOST_AUTO_TEST_CASE(success_publishes_with_channel_vendor_and_increasing_seq) {
    Harness harness(Setup{});  // market_data every 60 s, scaled to 600 ms
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(harness.collector->wait_for(3));

    auto arrivals = harness.collector->arrivals();
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& message = *arrivals[i].message;
        BOOST_TEST(message.channel == "stream:market_data:AAPL");
        BOOST_TEST(message.seq == i + 1);
        auto body = harness.collector->message_json(i);
        BOOST_TEST(body.at("vendor").as_string() == "mock");
        BOOST_TEST(body.at("data").at("symbol").as_string() == "AAPL");
        BOOST_TEST(body.at("metadata").at("worker_id").as_string() == "worker_market_data");
        BOOST_TEST(body.at("metadata").at("retry_count").to_number<int>() == 0);
        BOOST_TEST(body.at("metadata").at("fallback_used").as_bool() == false);
    }
    // One cycle per interval, not a burst: three messages took at least two intervals.
    BOOST_TEST((arrivals[2].at - arrivals[0].at) >= 900ms);

    auto status = harness.status();
    BOOST_TEST(status.worker_id == "worker_market_data");
    BOOST_TEST(scheduler::to_string(status.status) == "running");
    BOOST_TEST(status.success_count >= 3u);
    BOOST_TEST(status.error_count == 0u);
    BOOST_TEST(status.current_vendor.value_or("") == "mock");
    BOOST_TEST(status.last_run.has_value());
    BOOST_TEST(status.next_run.has_value());
    BOOST_TEST(!status.last_error.has_value());

    auto calls = harness.calls();
    BOOST_REQUIRE(calls.size() >= 3u);
    BOOST_TEST(calls[0].success);
    BOOST_TEST(calls[0].symbol == "AAPL");
    BOOST_TEST(calls[0].worker_id == "worker_market_data");
    BOOST_TEST(!calls[0].fallback_used);
}

BOOST_AUTO_TEST_CASE(transient_failures_are_retried_until_success) {
    auto setup = long_interval_setup();
    setup.vendors = {mock_vendor("mock", 100, {{"fail_first", 2}})};
    setup.cadence.retry_attempts = 3;
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(harness.collector->wait_for(1));

    auto body = harness.collector->message_json(0);
    BOOST_TEST(body.at("metadata").at("retry_count").to_number<int>() == 2);
    BOOST_TEST(body.at("metadata").at("fallback_used").as_bool() == false);

    auto calls = harness.calls();
    BOOST_REQUIRE(calls.size() == 3u);
    for (int attempt = 0; attempt < 3; ++attempt) {
        BOOST_TEST(calls[attempt].retry_count == attempt);
        BOOST_TEST(calls[attempt].vendor == "mock");
    }
    BOOST_TEST(!calls[0].success);
    BOOST_TEST(calls[0].error_class.value_or("") == "transient");
    BOOST_TEST(!calls[1].success);
    BOOST_TEST(calls[2].success);
    BOOST_TEST(harness.status().success_count == 1u);
    BOOST_TEST(harness.status().error_count == 0u);
}

BOOST_AUTO_TEST_CASE(exhausted_retries_count_an_error_and_keep_the_last_one) {
    auto setup = long_interval_setup();
    setup.vendors = {mock_vendor("mock", 100, {{"fail_first", 100}, {"fail_status", "permanent"}})};
    setup.cadence.retry_attempts = 5;
    setup.global.max_retries = 2;  // the smaller of the two wins: 3 attempts
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(eventually([&] { return harness.status().error_count >= 1; }));

    auto status = harness.status();
    BOOST_TEST(status.error_count == 1u);
    BOOST_TEST(status.success_count == 0u);
    BOOST_TEST(scheduler::to_string(status.status) ==
               "running");  // a failing vendor is not a broken worker
    BOOST_TEST(status.last_error.value_or("").starts_with("AAPL: mock: "));
    auto calls = harness.calls();
    BOOST_TEST(calls.size() == 3u);
    for (const auto& call : calls) {
        BOOST_TEST(!call.success);
        BOOST_TEST(call.error_class.value_or("") == "permanent");
    }
    BOOST_TEST(harness.collector->count() == 0u);
    BOOST_TEST(!harness.event_bus->latest("stream:market_data:AAPL"));
}

BOOST_AUTO_TEST_CASE(a_failing_first_vendor_falls_back_to_the_second) {
    auto setup = long_interval_setup();
    setup.vendors = {mock_vendor("first", 10, {{"fail_rate", 1.0}}), mock_vendor("second", 20)};
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(harness.collector->wait_for(1));

    auto body = harness.collector->message_json(0);
    BOOST_TEST(body.at("vendor").as_string() == "second");
    BOOST_TEST(body.at("metadata").at("fallback_used").as_bool() == true);
    BOOST_TEST(body.at("metadata").at("retry_count").to_number<int>() == 0);
    BOOST_TEST(harness.status().current_vendor.value_or("") == "second");

    auto calls = harness.calls();
    BOOST_REQUIRE(calls.size() == 2u);
    BOOST_TEST(calls[0].vendor == "first");
    BOOST_TEST(!calls[0].success);
    BOOST_TEST(!calls[0].fallback_used);
    BOOST_TEST(calls[1].vendor == "second");
    BOOST_TEST(calls[1].success);
    BOOST_TEST(calls[1].fallback_used);
}

BOOST_AUTO_TEST_CASE(not_found_drops_the_vendor_for_the_rest_of_the_poll) {
    auto setup = long_interval_setup();
    // The second fails once, so the poll needs a second attempt: the first must not be
    // asked again in it.
    setup.vendors = {mock_vendor("first", 10, {{"not_found_symbols", json::array{"AAPL"}}}),
                     mock_vendor("second", 20, {{"fail_first", 1}})};
    setup.cadence.retry_attempts = 3;
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(harness.collector->wait_for(1));

    auto body = harness.collector->message_json(0);
    BOOST_TEST(body.at("vendor").as_string() == "second");
    BOOST_TEST(body.at("metadata").at("retry_count").to_number<int>() == 1);
    auto first_calls = harness.calls(DataType::market_data, "first");
    BOOST_REQUIRE(first_calls.size() == 1u);
    BOOST_TEST(first_calls[0].error_class.value_or("") == "not_found");
    BOOST_TEST(harness.calls(DataType::market_data, "second").size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_rate_limited_vendor_is_benched_across_polls) {
    Setup setup;  // 600 ms cycles: several polls
    setup.vendors = {mock_vendor("first", 10, {{"rate_limited", true}, {"retry_after_ms", 600000}}),
                     mock_vendor("second", 20)};
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(harness.collector->wait_for(2));

    for (std::size_t i = 0; i < 2; ++i) {
        BOOST_TEST(harness.collector->message_json(i).at("vendor").as_string() == "second");
    }
    auto first_calls = harness.calls(DataType::market_data, "first");
    BOOST_REQUIRE(first_calls.size() == 1u);
    BOOST_TEST(first_calls[0].error_class.value_or("") == "rate_limited");
}

BOOST_AUTO_TEST_CASE(with_every_vendor_benched_the_poll_fails_at_once_saying_why) {
    Setup setup;
    setup.vendors = {mock_vendor("only", 10, {{"rate_limited", true}, {"retry_after_ms", 600000}})};
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(eventually([&] { return harness.status().error_count >= 2; }));

    auto status = harness.status();
    BOOST_TEST(status.last_error.value_or("") ==
               "AAPL: no vendor available for market_data (1 benched)");
    BOOST_TEST(harness.calls().size() == 1u);  // asked once, then left alone
    BOOST_TEST(harness.collector->count() == 0u);
}

BOOST_AUTO_TEST_CASE(without_vendor_fallback_only_the_primary_is_tried) {
    auto setup = long_interval_setup();
    setup.vendors = {mock_vendor("first", 10, {{"fail_rate", 1.0}}), mock_vendor("second", 20)};
    setup.cadence.vendor_fallback = false;
    setup.cadence.retry_attempts = 1;
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(eventually([&] { return harness.status().error_count >= 1; }));

    BOOST_TEST(harness.calls(DataType::market_data, "first").size() == 2u);
    BOOST_TEST(harness.calls(DataType::market_data, "second").empty());
    BOOST_TEST(harness.collector->count() == 0u);
    BOOST_TEST(harness.status().last_error.value_or("").starts_with("AAPL: first: "));
}

BOOST_AUTO_TEST_CASE(a_hanging_vendor_times_out_and_the_next_one_answers) {
    auto setup = long_interval_setup();
    setup.vendors = {mock_vendor("first", 10, {{"hang", true}}, 200), mock_vendor("second", 20)};
    Harness harness(setup);
    auto started = std::chrono::steady_clock::now();
    harness.manager->start(DataType::market_data);

    // While the vendor hangs, the I/O threads stay free: status answers and another
    // worker polls.
    BOOST_TEST(scheduler::to_string(harness.status().status) == "running");
    BOOST_REQUIRE(harness.collector->wait_for(1));
    BOOST_TEST((std::chrono::steady_clock::now() - started) >= 190ms);

    auto body = harness.collector->message_json(0);
    BOOST_TEST(body.at("vendor").as_string() == "second");
    BOOST_TEST(body.at("metadata").at("fallback_used").as_bool() == true);
    auto first_calls = harness.calls(DataType::market_data, "first");
    BOOST_REQUIRE(first_calls.size() == 1u);
    BOOST_TEST(first_calls[0].error_class.value_or("") == "transient");
    BOOST_TEST(first_calls[0].error.value_or("") == "timed out after 200 ms");
    BOOST_TEST(first_calls[0].latency_ms >= 190.0);
}

BOOST_AUTO_TEST_CASE(the_io_threads_stay_free_while_a_vendor_hangs) {
    Setup setup;
    setup.vendors = {mock_vendor("slow", 10, {{"hang", true}}, 10000)};
    setup.cadence.interval_seconds = 3600;
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(eventually([&] { return harness.status().polls_in_flight == 1; }));

    // A timer on the same io_context still fires promptly.
    std::atomic<bool> fired{false};
    boost::asio::steady_timer timer(harness.io, 10ms);
    timer.async_wait([&](boost::system::error_code) { fired = true; });
    BOOST_TEST(eventually([&] { return fired.load(); }, 2s));

    // Shutdown cancels the hung call instead of waiting out its 10 s timeout.
    auto before = std::chrono::steady_clock::now();
    harness.manager->shutdown(5s);
    BOOST_TEST((std::chrono::steady_clock::now() - before) < 4s);
    BOOST_TEST(scheduler::to_string(harness.status().status) == "stopped");
    BOOST_TEST(harness.status().polls_in_flight == 0);
}

BOOST_AUTO_TEST_CASE(calls_that_never_return_hold_only_their_own_instance) {
    // abi_hang ignores cancellation: its calls never come back. At max_concurrency 16 it
    // used to fill the shared pool and starve "backup".
    auto setup = Setup{};
    setup.plugin_dirs.push_back(TICKERD_TEST_HANG_PLUGIN_DIR);
    auto stuck = mock_vendor("stuck", 10, {}, 200);
    stuck.plugin = "abi_hang";
    stuck.max_concurrency = 16;
    setup.vendors = {stuck, mock_vendor("backup", 20)};
    setup.instruments.clear();
    for (int n = 1; n <= 20; ++n)
        setup.instruments.push_back(instrument("SYM" + std::to_string(n)));
    setup.cadence.interval_seconds = 100;  // 1 s scaled
    Harness harness(setup);
    harness.manager->start(DataType::market_data);

    BOOST_REQUIRE(harness.collector->wait_for(40));
    for (std::size_t i = 0; i < 40; ++i)
        BOOST_TEST(harness.collector->message_json(i).at("vendor").as_string() == "backup");
    auto health = harness.manager->vendor_health();
    BOOST_REQUIRE(health.contains("stuck"));
    BOOST_REQUIRE(health["stuck"].benched.has_value());
    BOOST_TEST(scheduler::to_string(health["stuck"].benched->reason) == "hanging");
    BOOST_TEST(health["stuck"].stuck_calls >= 1);
    BOOST_TEST(health["stuck"].stuck_calls <= 16);
    BOOST_TEST(!health.contains("backup"));
    auto status = harness.status();
    BOOST_TEST(status.timeout_count >= 1u);
    BOOST_TEST(status.error_count >= status.timeout_count);
    BOOST_TEST(status.last_success_at.has_value());
    BOOST_TEST(!status.stalled);

    // Shutdown leaves the stuck calls behind instead of waiting for them.
    harness.manager->shutdown(5s);
    BOOST_TEST(scheduler::to_string(harness.status().status) == "stopped");
}

BOOST_AUTO_TEST_CASE(start_and_stop_are_idempotent) {
    Harness harness(Setup{});
    auto all = harness.manager->statuses();
    BOOST_REQUIRE(all.size() == 5u);
    for (const auto& status : all) {
        BOOST_TEST(scheduler::to_string(status.status) == "stopped");
        BOOST_TEST(!status.next_run.has_value());
    }
    BOOST_TEST(all[1].worker_id == "worker_news");

    harness.manager->start(DataType::market_data);
    harness.manager->start(DataType::market_data);
    BOOST_TEST(scheduler::to_string(harness.status().status) == "running");
    BOOST_TEST(scheduler::to_string(harness.status(DataType::news).status) == "stopped");
    BOOST_REQUIRE(harness.collector->wait_for(2));

    harness.manager->stop(DataType::market_data);
    harness.manager->stop(DataType::market_data);
    BOOST_TEST(scheduler::to_string(harness.status().status) == "stopped");
    BOOST_TEST(!harness.status().next_run.has_value());
    // A poll already running may still finish; after that nothing new starts.
    std::this_thread::sleep_for(300ms);
    auto after_stop = harness.collector->count();
    std::this_thread::sleep_for(1500ms);  // more than two intervals
    BOOST_TEST(harness.collector->count() == after_stop);

    harness.manager->start(DataType::market_data);
    BOOST_TEST(scheduler::to_string(harness.status().status) == "running");
    BOOST_TEST(harness.collector->wait_for(after_stop + 1));

    harness.manager->start_all();
    for (const auto& status : harness.manager->statuses())
        BOOST_TEST(scheduler::to_string(status.status) == "running");
    harness.manager->stop_all();
    for (const auto& status : harness.manager->statuses())
        BOOST_TEST(scheduler::to_string(status.status) == "stopped");
}

BOOST_AUTO_TEST_CASE(polls_of_one_cycle_are_spread_over_the_interval) {
    Setup setup;
    setup.instruments = {instrument("MSFT"), instrument("AAPL"), instrument("NVDA"),
                         instrument("AMZN")};
    setup.time_scale = 0.02;  // 60 s → 1.2 s: polls due 300 ms apart
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(harness.collector->wait_for(4));

    auto arrivals = harness.collector->arrivals();
    std::vector<std::string> order;
    for (std::size_t i = 0; i < 4; ++i)
        order.push_back(arrivals[i].message->symbol);
    std::vector<std::string> expected{"AAPL", "AMZN", "MSFT", "NVDA"};  // sorted by symbol
    BOOST_TEST(order == expected, boost::test_tools::per_element());
    for (std::size_t i = 1; i < 4; ++i) {
        BOOST_TEST((arrivals[i].at - arrivals[i - 1].at) >= 100ms);  // not a burst
    }
    BOOST_TEST((arrivals[3].at - arrivals[0].at) >= 600ms);  // 900 ms planned
    BOOST_TEST((arrivals[3].at - arrivals[0].at) < 1200ms);  // all in one interval
}

BOOST_AUTO_TEST_CASE(a_shorter_interval_takes_effect_without_waiting_out_the_old_one) {
    auto setup = long_interval_setup();  // 36 s scaled
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(harness.collector->wait_for(1));

    auto cadence = setup.cadence;
    cadence.interval_seconds = 60;  // 600 ms scaled
    BOOST_REQUIRE(harness.state->put_cadence(cadence));
    BOOST_TEST(eventually([&] { return harness.collector->count() >= 3; }, 10s));

    // Back to a long interval: the cycle restarts once more and polls AAPL at once.
    cadence.interval_seconds = 3600;
    BOOST_REQUIRE(harness.state->put_cadence(cadence));
    auto count_of = [&](const std::string& symbol) {
        std::size_t n = 0;
        for (const auto& arrival : harness.collector->arrivals())
            n += arrival.message->symbol == symbol;
        return n;
    };
    std::this_thread::sleep_for(500ms);
    auto aapl_before = count_of("AAPL");

    // A new instrument alone is polled at once, without re-polling the others.
    harness.event_bus->subscribe("stream:market_data:MSFT", harness.collector);
    BOOST_REQUIRE(harness.state->upsert_instrument(instrument("MSFT")));
    BOOST_TEST(eventually([&] { return count_of("MSFT") >= 1; }, 5s));
    BOOST_TEST(count_of("AAPL") == aapl_before);
}

BOOST_AUTO_TEST_CASE(a_disabled_cadence_or_global_switch_idles_the_worker) {
    auto setup = long_interval_setup();
    setup.global.global_enabled = false;
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    std::this_thread::sleep_for(300ms);
    BOOST_TEST(harness.collector->count() == 0u);
    BOOST_TEST(scheduler::to_string(harness.status().status) == "running");
    BOOST_TEST(!harness.status().next_run.has_value());
    BOOST_TEST(harness.calls().empty());

    auto global = setup.global;
    global.global_enabled = true;
    BOOST_REQUIRE(harness.state->put_global(global));
    BOOST_TEST(harness.collector->wait_for(1));
    BOOST_TEST(harness.status().next_run.has_value());
}

BOOST_AUTO_TEST_CASE(no_configured_vendor_is_a_clear_error) {
    auto setup = long_interval_setup();
    setup.vendors = {mock_vendor("mock", 100)};
    setup.vendors[0].enabled = false;
    Harness harness(setup);
    harness.manager->start(DataType::market_data);
    BOOST_REQUIRE(eventually([&] { return harness.status().error_count >= 1; }));
    BOOST_TEST(harness.status().last_error.value_or("") ==
               "AAPL: no vendor available for market_data (none configured)");
}
