// The streams' writer wake-ups: every stream added is woken once per time it was added, from
// any thread; a list is posted once however many join it before it runs, and held back when
// it comes again within a millisecond of its last run; a stream gone by
// then is skipped (the list holds it weakly); a large list is woken a chunk at a time, with
// whatever else the I/O threads have queued in between.
#define BOOST_TEST_MODULE gateway_writer_wakeups
#include <boost/test/unit_test.hpp>

#include "gateway/writer_wakeups.hpp"

#include <boost/asio/post.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace tickerd::gateway;
namespace asio = boost::asio;

namespace {

struct Counter : Wakeable {
    std::atomic<int> woken{0};
    std::atomic<int>* total = nullptr;  // every counter's wake-ups, counted together
    void wake() override {
        ++woken;
        if (total) ++*total;
    }
};

std::vector<std::shared_ptr<Counter>> counters(std::size_t count, std::atomic<int>* total) {
    std::vector<std::shared_ptr<Counter>> made;
    for (std::size_t i = 0; i < count; ++i) {
        made.push_back(std::make_shared<Counter>());
        made.back()->total = total;
    }
    return made;
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_stream_is_woken_once_however_many_join_a_run) {
    asio::io_context io;
    auto wakeups = std::make_shared<WriterWakeups>(io, 2);
    std::atomic<int> total{0};
    auto streams = counters(600, &total);
    for (auto& stream : streams)
        wakeups->add(wakeups->assign(), stream);
    // Two lists, each posted once: two handlers, however many streams joined them (plus the
    // continuations of lists longer than a chunk, run below).
    BOOST_TEST(io.poll_one() == 1u);
    BOOST_TEST(io.poll_one() == 1u);
    io.run();
    for (const auto& stream : streams)
        BOOST_TEST(stream->woken == 1);
    BOOST_TEST(total == 600);
}

BOOST_AUTO_TEST_CASE(a_stream_added_again_after_its_run_is_woken_again) {
    asio::io_context io;
    auto wakeups = std::make_shared<WriterWakeups>(io, 1);
    auto stream = std::make_shared<Counter>();
    wakeups->add(0, stream);
    io.run();
    io.restart();
    wakeups->add(0, stream);
    io.run();
    BOOST_TEST(stream->woken == 2);
}

BOOST_AUTO_TEST_CASE(a_list_handed_over_again_at_once_waits_for_the_gap) {
    struct Timed : Wakeable {
        std::vector<std::chrono::steady_clock::time_point> at;
        void wake() override { at.push_back(std::chrono::steady_clock::now()); }
    };
    asio::io_context io;
    auto wakeups = std::make_shared<WriterWakeups>(io, 1);
    auto stream = std::make_shared<Timed>();
    wakeups->add(0, stream);
    io.run();
    io.restart();
    // Straight after a run: held back until a millisecond after it began, so that messages
    // gather (both entries go in that one run). However slow this machine, the second run
    // cannot come sooner; without the hold it would come within microseconds.
    wakeups->add(0, stream);
    wakeups->add(0, stream);
    io.run();
    BOOST_TEST_REQUIRE(stream->at.size() == 3u);
    BOOST_TEST((stream->at[1] - stream->at[0]) >= std::chrono::microseconds(500));
}

BOOST_AUTO_TEST_CASE(a_stream_gone_before_its_run_is_skipped_and_not_kept_alive) {
    asio::io_context io;
    auto wakeups = std::make_shared<WriterWakeups>(io, 1);
    auto gone = std::make_shared<Counter>();
    auto stays = std::make_shared<Counter>();
    std::weak_ptr<Counter> watch = gone;
    wakeups->add(0, gone);
    wakeups->add(0, stays);
    gone.reset();
    BOOST_TEST(watch.expired());  // the list does not own it
    io.run();
    BOOST_TEST(stays->woken == 1);
}

BOOST_AUTO_TEST_CASE(a_long_list_lets_other_work_in_between_chunks) {
    asio::io_context io;
    auto wakeups = std::make_shared<WriterWakeups>(io, 1);
    std::atomic<int> total{0};
    auto streams = counters(2000, &total);
    for (auto& stream : streams)
        wakeups->add(0, stream);
    int woken_before_other_work = -1;
    asio::post(io, [&] { woken_before_other_work = total; });  // queued behind the list
    io.run();
    BOOST_TEST(total == 2000);
    // The first chunk went, then the other work, then the rest.
    BOOST_TEST(woken_before_other_work > 0);
    BOOST_TEST(woken_before_other_work < 2000);
}

BOOST_AUTO_TEST_CASE(streams_added_from_many_threads_while_io_threads_run) {
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    auto wakeups = std::make_shared<WriterWakeups>(io, 2);
    std::vector<std::thread> runners;
    for (int i = 0; i < 2; ++i)
        runners.emplace_back([&] { io.run(); });
    auto streams = counters(400, nullptr);
    constexpr int kRounds = 50;
    std::vector<std::thread> publishers;
    for (int p = 0; p < 4; ++p) {
        publishers.emplace_back([&, p] {
            for (int round = 0; round < kRounds; ++round) {
                for (std::size_t i = static_cast<std::size_t>(p); i < streams.size(); i += 4)
                    wakeups->add(i % 2, streams[i]);
            }
        });
    }
    for (auto& publisher : publishers)
        publisher.join();
    // Every add leads to a wake-up after it: each stream is woken at least once, and never
    // more often than it was added.
    auto settled = [&] {
        for (const auto& stream : streams) {
            if (stream->woken == 0) return false;
        }
        return true;
    };
    for (int i = 0; i < 500 && !settled(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    guard.reset();
    for (auto& runner : runners)
        runner.join();
    for (const auto& stream : streams) {
        BOOST_TEST(stream->woken >= 1);
        BOOST_TEST(stream->woken <= kRounds);
    }
}
