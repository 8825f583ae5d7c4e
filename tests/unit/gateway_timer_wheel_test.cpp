// The streams' timer wheel: every client is called once per schedule, never before its time,
// in the order of their times; a client gone by then is skipped; with nothing scheduled the
// wheel stops ticking; a late schedule of a time already past comes at the next tick; a
// crowded tick is called a chunk at a time.
#define BOOST_TEST_MODULE gateway_timer_wheel
#include <boost/test/unit_test.hpp>

#include "gateway/timer_wheel.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

using namespace tickerd::gateway;
using namespace std::chrono_literals;
using Clock = TimerWheel::Clock;

namespace {

struct Recorder : WheelClient {
    std::mutex mutex;
    std::vector<std::pair<uint64_t, Clock::time_point>> calls;  // generation, when called
    void due(uint64_t generation) override {
        std::lock_guard lock(mutex);
        calls.emplace_back(generation, Clock::now());
    }
    std::size_t count() {
        std::lock_guard lock(mutex);
        return calls.size();
    }
};

struct Running {
    boost::asio::io_context io;
    std::shared_ptr<TimerWheel> wheel = std::make_shared<TimerWheel>(io);
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
        io.get_executor()};
    std::thread thread{[this] { io.run(); }};
    ~Running() {
        work.reset();
        io.stop();
        thread.join();
    }
};

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto until = Clock::now() + timeout;
    while (!done() && Clock::now() < until)
        std::this_thread::sleep_for(10ms);
    return done();
}

}  // namespace

BOOST_AUTO_TEST_CASE(clients_are_called_once_in_order_never_early) {
    Running running;
    auto start = Clock::now();
    std::vector<std::shared_ptr<Recorder>> clients;
    for (int i = 0; i < 3; ++i)
        clients.push_back(std::make_shared<Recorder>());
    // Scheduled out of order: 600 ms, 0 ms (already due), 300 ms.
    std::vector<std::chrono::milliseconds> after{600ms, 0ms, 300ms};
    for (int i = 0; i < 3; ++i)
        running.wheel->schedule(clients[i], static_cast<uint64_t>(i + 10), start + after[i]);
    BOOST_TEST(running.wheel->scheduled() == 3u);
    BOOST_TEST_REQUIRE(wait_for(
        [&] {
            return clients[0]->count() == 1 && clients[1]->count() == 1 && clients[2]->count() == 1;
        },
        5s));
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST(clients[i]->calls[0].first == static_cast<uint64_t>(i + 10));
        BOOST_TEST((clients[i]->calls[0].second >= start + after[i]), "client " << i << " early");
    }
    BOOST_TEST((clients[1]->calls[0].second <= clients[2]->calls[0].second));
    BOOST_TEST((clients[2]->calls[0].second <= clients[0]->calls[0].second));
    // Nothing left: nothing more is called, and the wheel has stopped.
    std::this_thread::sleep_for(2 * TimerWheel::kTick);
    BOOST_TEST(running.wheel->scheduled() == 0u);
    for (const auto& client : clients)
        BOOST_TEST(client->count() == 1u);
}

BOOST_AUTO_TEST_CASE(a_client_gone_is_skipped_and_the_wheel_starts_again) {
    Running running;
    auto gone = std::make_shared<Recorder>();
    std::weak_ptr<Recorder> watch = gone;
    running.wheel->schedule(gone, 1, Clock::now() + 100ms);
    gone.reset();
    BOOST_TEST_REQUIRE(wait_for([&] { return running.wheel->scheduled() == 0; }, 5s));
    BOOST_TEST(watch.expired());
    // Idle now; a new schedule, even of a time long past, is called at the next tick.
    auto late = std::make_shared<Recorder>();
    running.wheel->schedule(late, 7, Clock::now() - 1h);
    BOOST_TEST_REQUIRE(wait_for([&] { return late->count() == 1; }, 5s));
    BOOST_TEST(late->calls[0].first == 7u);
}

// Many clients over several turns of the wheel's slots: each called once.
BOOST_AUTO_TEST_CASE(thousands_of_clients_each_called_once) {
    Running running;
    std::vector<std::shared_ptr<Recorder>> clients(2000);
    auto start = Clock::now();
    for (std::size_t i = 0; i < clients.size(); ++i) {
        clients[i] = std::make_shared<Recorder>();
        running.wheel->schedule(clients[i], i, start + std::chrono::milliseconds(i % 1500));
    }
    BOOST_TEST_REQUIRE(wait_for([&] { return running.wheel->scheduled() == 0; }, 10s));
    std::size_t once = 0;
    for (const auto& client : clients)
        once += client->count() == 1 ? 1 : 0;
    BOOST_TEST(once == clients.size());
}

// A thousand clients due in one tick are called a chunk at a time: work queued on the I/O
// thread meanwhile runs between chunks, not after the last of them.
BOOST_AUTO_TEST_CASE(a_crowded_tick_lets_other_work_run_between_chunks) {
    struct Counting : WheelClient {
        std::atomic<std::size_t>& calls;
        std::function<void()> first;
        Counting(std::atomic<std::size_t>& calls, std::function<void()> first)
            : calls(calls), first(std::move(first)) {}
        void due(uint64_t) override {
            if (calls++ == 0 && first) first();
        }
    };
    Running running;
    std::atomic<std::size_t> calls{0};
    std::atomic<std::size_t> calls_when_other_work_ran{0};
    std::atomic<bool> other_work_ran{false};
    std::function<void()> other_work = [&] {
        boost::asio::post(running.io, [&] {
            calls_when_other_work_ran = calls.load();
            other_work_ran = true;
        });
    };
    constexpr std::size_t kClients = 1000;
    std::vector<std::shared_ptr<Counting>> clients;
    auto when = Clock::now() + 100ms;
    for (std::size_t i = 0; i < kClients; ++i) {
        clients.push_back(
            std::make_shared<Counting>(calls, i == 0 ? other_work : std::function<void()>{}));
        running.wheel->schedule(clients.back(), 1, when);
    }
    BOOST_TEST_REQUIRE(wait_for([&] { return calls == kClients && other_work_ran; }, 5s));
    BOOST_TEST(calls_when_other_work_ran.load() < kClients);
}
