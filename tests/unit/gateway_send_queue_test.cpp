// The stream's send queue on its own: each message once and in order per channel, limits that
// cut a slow client, and a resume that holds live deliveries until its replay has gone out.
#define BOOST_TEST_MODULE gateway_send_queue
#include <boost/test/unit_test.hpp>

#include "gateway/send_queue.hpp"

using namespace tickerd;
using namespace std::chrono_literals;
using gateway::Outgoing;
using gateway::SendQueue;

namespace {

const std::string kChannel = "stream:market_data:AAPL";

bus::MessagePtr message(uint64_t seq) {
    bus::Envelope envelope{
        DataType::market_data, "AAPL", "mock", {{"price", 1.0 * seq}}, 0, false, 1, ""};
    return bus::make_message(envelope, seq, std::chrono::system_clock::now());
}

SendQueue::Push deliver(SendQueue& queue, uint64_t seq) {
    auto m = message(seq);
    return queue.push_message(m, Outgoing::frame_of(m, m->sse_frame));
}

// Whether the queue takes `symbol`'s market_data message number `seq`.
bool accepts(SendQueue& queue, const std::string& symbol, uint64_t seq) {
    bus::Envelope envelope{
        DataType::market_data, symbol, "mock", {{"price", 1.0}}, 0, false, 1, ""};
    auto m = bus::make_message(envelope, seq, std::chrono::system_clock::now());
    return queue.push_message(m, Outgoing::frame_of(m, m->sse_frame)) != SendQueue::Push::dropped;
}

std::string channel_of(const std::string& symbol) {
    return "stream:market_data:" + symbol;
}

std::vector<Outgoing> replay_of(std::initializer_list<uint64_t> seqs) {
    std::vector<Outgoing> items;
    for (auto seq : seqs) {
        auto m = message(seq);
        items.push_back(Outgoing::frame_of(m, m->sse_frame));
    }
    return items;
}

// Everything the writer would take, batch after batch, as seqs.
std::vector<uint64_t> drain(SendQueue& queue) {
    std::vector<uint64_t> seqs;
    std::vector<Outgoing> batch;
    for (int guard = 0; guard < 100; ++guard) {
        queue.take(batch, 256 * 1024);
        if (batch.empty()) break;
        for (const auto& item : batch)
            seqs.push_back(item.message ? item.message->seq : 0);
    }
    return seqs;
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_message_goes_once_and_in_order) {
    SendQueue queue(100, 1 << 20);
    queue.track(kChannel);
    BOOST_TEST((deliver(queue, 1) == SendQueue::Push::wake_writer));
    BOOST_TEST((deliver(queue, 2) == SendQueue::Push::queued));
    BOOST_TEST((deliver(queue, 2) == SendQueue::Push::dropped));  // twice: a subscribe race
    BOOST_TEST((deliver(queue, 1) == SendQueue::Push::dropped));
    BOOST_TEST(drain(queue) == (std::vector<uint64_t>{1, 2}), boost::test_tools::per_element());
    queue.untrack(kChannel);
    BOOST_TEST((deliver(queue, 3) == SendQueue::Push::dropped));
}

// The first channel is kept in place, its name inline when short; others (and long names)
// in a map. Each keeps its own seq memory, and a channel untracked gets nothing, wherever kept.
BOOST_AUTO_TEST_CASE(channels_are_told_apart_however_many_and_however_long) {
    SendQueue queue(100, 1 << 20);
    const std::string longer(60, 'L');  // past the name kept inline
    for (const auto& symbol : {std::string("AAPL"), std::string("MSFT"), longer})
        queue.track(channel_of(symbol));
    for (const auto& symbol : {std::string("AAPL"), std::string("MSFT"), longer}) {
        BOOST_TEST(accepts(queue, symbol, 1), symbol);
        BOOST_TEST(!accepts(queue, symbol, 1), symbol);  // its own seq memory
    }
    BOOST_TEST(!accepts(queue, "AAP", 2));  // a prefix of the first is another channel
    BOOST_TEST(!accepts(queue, "AAPLX", 2));

    queue.untrack(channel_of("AAPL"));  // the one kept in place
    BOOST_TEST(!accepts(queue, "AAPL", 2));
    BOOST_TEST(accepts(queue, "MSFT", 2));
    BOOST_TEST(accepts(queue, longer, 2));
    queue.track(channel_of("NVDA"));  // takes the place
    BOOST_TEST(accepts(queue, "NVDA", 1));
    BOOST_TEST(!accepts(queue, "AAPL", 3));
    queue.track(channel_of("MSFT"));  // tracked again: its seq memory starts afresh
    BOOST_TEST(accepts(queue, "MSFT", 1));
    queue.untrack(channel_of(longer));
    BOOST_TEST(!accepts(queue, longer, 3));
    queue.track(channel_of("AAPL"));
    BOOST_TEST(accepts(queue, "AAPL", 1));
    BOOST_TEST(drain(queue).size() == 8u);
}

BOOST_AUTO_TEST_CASE(a_resume_sends_its_replay_then_what_was_held_each_once) {
    SendQueue queue(100, 1 << 20);
    queue.track_held(kChannel, 4);
    // Live deliveries while the history is read: held, whatever their order.
    for (uint64_t seq : {7, 8, 6})
        BOOST_TEST((deliver(queue, seq) == SendQueue::Push::queued));
    BOOST_TEST(drain(queue).empty());
    // The replay overlaps what was held (6, 7): each seq goes once.
    BOOST_TEST(
        (queue.release(kChannel, replay_of({5, 6, 7}), true) == SendQueue::Push::wake_writer));
    BOOST_TEST(drain(queue) == (std::vector<uint64_t>{5, 6, 7, 8}),
               boost::test_tools::per_element());
    // Live again.
    BOOST_TEST((deliver(queue, 9) == SendQueue::Push::wake_writer));
    BOOST_TEST(drain(queue) == (std::vector<uint64_t>{9}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_resume_that_cannot_continue_starts_the_channel_again_from_the_latest) {
    SendQueue queue(100, 1 << 20);
    queue.track_held(kChannel, 500);  // a position from before the numbering started again
    deliver(queue, 4);
    queue.release(kChannel, replay_of({3}), /*continuous=*/false);
    BOOST_TEST(drain(queue) == (std::vector<uint64_t>{3, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_long_replay_goes_in_batches_and_never_counts_as_slow) {
    SendQueue queue(16, 1 << 20);  // far fewer than the replay
    queue.track_held(kChannel, 0);
    std::vector<Outgoing> replay;
    for (uint64_t seq = 1; seq <= 2000; ++seq) {
        auto m = message(seq);
        replay.push_back(Outgoing::frame_of(m, m->sse_frame));
    }
    BOOST_TEST((queue.release(kChannel, std::move(replay), true) != SendQueue::Push::overflow));
    std::vector<Outgoing> batch;
    queue.take(batch, 256 * 1024);
    BOOST_TEST(batch.size() < 2000u);  // a batch, not the whole replay
    auto rest = drain(queue);
    BOOST_TEST(batch.size() + rest.size() == 2000u);
    BOOST_TEST(rest.back() == 2000u);
}

BOOST_AUTO_TEST_CASE(held_deliveries_count_against_the_limits) {
    SendQueue queue(4, 1 << 20);
    queue.track_held(kChannel, 0);
    for (uint64_t seq = 1; seq <= 4; ++seq)
        BOOST_TEST((deliver(queue, seq) == SendQueue::Push::queued));
    BOOST_TEST((deliver(queue, 5) == SendQueue::Push::overflow));
    BOOST_TEST((deliver(queue, 6) == SendQueue::Push::dropped));  // closed
}
