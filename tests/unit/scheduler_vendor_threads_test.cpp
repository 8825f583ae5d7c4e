// The threads vendor calls run on: a thread whose call returned serves its instance's next
// call instead of a thread started for each; instances never share a thread; a waiting thread
// ends when its idle life is over, when its instance is replaced, and when the scheduler
// closes. Real threads (told apart by their kernel thread ids) and the mock vendor loaded by
// the real PluginHost.
#define BOOST_TEST_MODULE scheduler_vendor_threads
#include <boost/test/unit_test.hpp>

#include "scheduler/vendor_threads.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

using namespace std::chrono_literals;
namespace plugins = tickerd::plugins;
using tickerd::scheduler::detail::VendorThreads;

namespace {

plugins::InstanceConfig mock_vendor(std::string name, int priority, int max_concurrency) {
    plugins::InstanceConfig vendor;
    vendor.name = std::move(name);
    vendor.plugin = "mock";
    vendor.priority = priority;
    vendor.max_concurrency = max_concurrency;
    return vendor;
}

// The mock loaded as "a" and "b", ranked a first.
struct Instances {
    Instances() : host({TICKERD_TEST_VENDOR_DIR}) {
        host.load_all();
        auto problems = host.configure({mock_vendor("a", 10, 4), mock_vendor("b", 20, 4)}, true);
        BOOST_REQUIRE(problems.empty());
        auto ranked = host.ranked_for(tickerd::DataType::market_data);
        BOOST_REQUIRE(ranked.size() == 2u);
        a = ranked[0];
        b = ranked[1];
    }
    plugins::PluginHost host;
    plugins::InstancePtr a;
    plugins::InstancePtr b;
};

// Runs one call on `instance` and returns the kernel id of the thread it ran on, once its
// outcome was delivered.
pid_t call_on(VendorThreads& threads, const plugins::InstancePtr& instance) {
    auto ran_on = std::make_shared<std::promise<pid_t>>();
    auto tid = std::make_shared<pid_t>(0);
    auto ticket = threads.start(
        instance,
        [tid] {
            *tid = ::gettid();
            return plugins::FetchOutcome{};
        },
        [tid, ran_on](plugins::FetchOutcome) { ran_on->set_value(*tid); });
    BOOST_REQUIRE(ticket.has_value());
    auto result = ran_on->get_future();
    BOOST_REQUIRE(result.wait_for(10s) == std::future_status::ready);
    return result.get();
}

bool thread_exists(pid_t tid) {
    return std::filesystem::exists("/proc/self/task/" + std::to_string(tid));
}

// Waits up to 10 s for the thread to end.
bool ends(pid_t tid) {
    for (int i = 0; i < 1000 && thread_exists(tid); ++i)
        std::this_thread::sleep_for(10ms);
    return !thread_exists(tid);
}

}  // namespace

BOOST_AUTO_TEST_CASE(one_instances_calls_in_a_row_reuse_its_threads) {
    Instances vendors;
    VendorThreads threads;
    std::set<pid_t> used;
    for (int n = 0; n < 50; ++n)
        used.insert(call_on(threads, vendors.a));
    // A call delivers before its thread waits again, so the next may start another thread;
    // never more than the instance's limit of them wait. A thread per call would be 50.
    BOOST_TEST(used.size() <= 4u);
    for (pid_t tid : used)
        BOOST_TEST(tid != ::gettid());
}

BOOST_AUTO_TEST_CASE(instances_never_share_a_thread) {
    Instances vendors;
    VendorThreads threads;
    std::set<pid_t> on_a, on_b;
    for (int n = 0; n < 20; ++n) {
        on_a.insert(call_on(threads, vendors.a));
        on_b.insert(call_on(threads, vendors.b));
    }
    for (pid_t tid : on_a)
        BOOST_TEST(!on_b.contains(tid));
}

BOOST_AUTO_TEST_CASE(a_waiting_thread_ends_after_its_idle_life) {
    Instances vendors;
    VendorThreads threads(100ms);
    pid_t tid = call_on(threads, vendors.a);
    BOOST_TEST(ends(tid));
    // The next call gets a thread all the same.
    BOOST_TEST(call_on(threads, vendors.a) != tid);
}

BOOST_AUTO_TEST_CASE(waiting_threads_end_when_the_scheduler_closes) {
    Instances vendors;
    VendorThreads threads;  // idle life 30 s: only close() ends them within the test
    pid_t on_a = call_on(threads, vendors.a);
    pid_t on_b = call_on(threads, vendors.b);
    BOOST_TEST(thread_exists(on_a));
    BOOST_TEST(threads.close() == 0);
    BOOST_TEST(ends(on_a));
    BOOST_TEST(ends(on_b));
}

BOOST_AUTO_TEST_CASE(a_replaced_instances_waiting_threads_end) {
    Instances vendors;
    VendorThreads threads;
    pid_t old_thread = call_on(threads, vendors.a);
    // A reload makes a new instance of the same name: it gets a lane (and threads) of its own.
    auto problems =
        vendors.host.configure({mock_vendor("a", 10, 2), mock_vendor("b", 20, 4)}, true);
    BOOST_REQUIRE(problems.empty());
    auto replaced = vendors.host.ranked_for(tickerd::DataType::market_data).at(0);
    BOOST_REQUIRE(replaced != vendors.a);
    pid_t new_thread = call_on(threads, replaced);
    BOOST_TEST(new_thread != old_thread);
    BOOST_TEST(ends(old_thread));
}

namespace {

// Calls held on a gate until it opens; counts the ones that ran.
struct Gate {
    std::promise<void> open;
    std::shared_future<void> opened = open.get_future().share();
    std::atomic<int> ran{0};
    std::atomic<int> delivered{0};
};

VendorThreads::TicketPtr start_gated(VendorThreads& threads, const plugins::InstancePtr& instance,
                                     const std::shared_ptr<Gate>& gate) {
    auto ticket = threads.start(
        instance,
        [gate] {
            ++gate->ran;
            gate->opened.wait();
            return plugins::FetchOutcome{};
        },
        [gate](plugins::FetchOutcome) { ++gate->delivered; });
    BOOST_REQUIRE(ticket.has_value());
    return *ticket;
}

// Starts `calls` calls on `instance`, all held on one new gate.
std::shared_ptr<Gate> start_held(VendorThreads& threads, const plugins::InstancePtr& instance,
                                 int calls) {
    auto gate = std::make_shared<Gate>();
    for (int n = 0; n < calls; ++n)
        start_gated(threads, instance, gate);
    return gate;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_call_that_finds_its_instance_full_waits_in_line) {
    Instances vendors;
    VendorThreads threads;
    auto gate = start_held(threads, vendors.a, 4 + 4);  // the limit running, as many in line
    auto refused = threads.start(
        vendors.a, [] { return plugins::FetchOutcome{}; }, [](plugins::FetchOutcome) {});
    BOOST_REQUIRE(!refused.has_value());
    BOOST_TEST(refused.error().detail.starts_with("busy: 4 calls already in flight"));
    BOOST_TEST(threads.load(*vendors.a).running == 4);
    // Another instance is not held up by a's line.
    BOOST_TEST(call_on(threads, vendors.b) != 0);
    gate->open.set_value();
    BOOST_TEST(threads.wait_idle(10s));
    BOOST_TEST(gate->ran == 8);
    BOOST_TEST(gate->delivered == 8);
    BOOST_TEST(threads.load(*vendors.a).running == 0);
}

BOOST_AUTO_TEST_CASE(a_call_written_off_in_line_never_runs) {
    Instances vendors;
    VendorThreads threads;
    auto gate = start_held(threads, vendors.a, 4);
    auto waiting = std::make_shared<Gate>();
    auto in_line = start_gated(threads, vendors.a, waiting);
    auto load = threads.write_off(*in_line);  // its timeout came first
    BOOST_TEST(load.written_off == 0);        // no thread holds it
    gate->open.set_value();
    waiting->open.set_value();
    BOOST_TEST(threads.wait_idle(10s));
    BOOST_TEST(gate->ran == 4);
    BOOST_TEST(waiting->ran == 0);
    BOOST_TEST(waiting->delivered == 0);
}

BOOST_AUTO_TEST_CASE(closing_drops_the_calls_in_line) {
    Instances vendors;
    VendorThreads threads;
    auto gate = start_held(threads, vendors.a, 6);
    BOOST_TEST(threads.close() == 4);  // running; the two in line never start
    gate->open.set_value();
    BOOST_TEST(threads.wait_idle(10s));
    std::this_thread::sleep_for(100ms);
    BOOST_TEST(gate->ran == 4);
    BOOST_TEST(gate->delivered == 0);  // closed: nothing is delivered
}
