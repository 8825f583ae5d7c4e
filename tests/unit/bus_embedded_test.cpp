#define BOOST_TEST_MODULE bus_embedded
#include <boost/test/unit_test.hpp>

#include "bus/bus.hpp"

#include <set>
#include <thread>

using namespace tickerd;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

struct Collector : bus::Subscriber {
    std::mutex mutex;
    std::vector<bus::MessagePtr> seen;
    void deliver(const bus::MessagePtr& m) override {
        std::lock_guard lock(mutex);
        seen.push_back(m);
    }
};

bus::MessagePtr quote(const std::string& symbol, uint64_t seq, double price) {
    bus::Envelope envelope{
        DataType::market_data, symbol, "mock", {{"price", price}}, 0, false, 1.5, ""};
    return bus::make_message(envelope, seq, std::chrono::system_clock::now());
}

}  // namespace

BOOST_AUTO_TEST_CASE(message_is_serialised_once_with_both_frames) {
    bus::Envelope envelope{DataType::news, "AAPL", "mock", {{"items", json::array{}}}, 2,
                           true,           41,     ""};
    auto m = bus::make_message(envelope, 7, std::chrono::system_clock::time_point(1000ms));
    auto parsed = json::parse(m->json).as_object();
    BOOST_TEST(parsed.at("channel").as_string() == "stream:news:AAPL");
    BOOST_TEST(parsed.at("id").as_string() == "1000-7");
    BOOST_TEST(parsed.at("update_type").as_string() == "snapshot");
    BOOST_TEST(parsed.at("timestamp").as_string() == "1970-01-01T00:00:01.000Z");
    BOOST_TEST(parsed.at("data").at("symbol").as_string() == "AAPL");  // added when missing
    auto& metadata = parsed.at("metadata").as_object();
    BOOST_TEST(metadata.at("worker_id").as_string() == "worker_news");
    BOOST_TEST(metadata.at("seq").as_int64() == 7);
    BOOST_TEST(metadata.at("retry_count").as_int64() == 2);
    BOOST_TEST(metadata.at("fallback_used").as_bool());
    BOOST_TEST(!metadata.contains("simulated"), "real data says nothing about simulation");
    BOOST_TEST(m->sse_frame == "id: 1000-7\ndata: " + m->json + "\n\n");
    auto ws = json::parse(m->ws_frame).as_object();
    BOOST_TEST(ws.at("type").as_string() == "data");
    BOOST_TEST(ws.at("channel").as_string() == "stream:news:AAPL");
    BOOST_TEST(json::serialize(ws.at("message")) == m->json);
}

BOOST_AUTO_TEST_CASE(simulated_data_is_marked_in_the_metadata) {
    bus::Envelope envelope{
        DataType::market_data, "AAPL", "mock", {{"price", 1.0}}, 0, false, 1.5, "", true};
    auto m = bus::make_message(envelope, 1, std::chrono::system_clock::now());
    auto metadata = json::parse(m->json).at("metadata").as_object();
    BOOST_TEST(metadata.at("simulated") == true);
    BOOST_TEST(metadata.at("worker_id").as_string() == "worker_market_data");
}

BOOST_AUTO_TEST_CASE(message_from_json_rebuilds_the_same_frames) {
    auto original = quote("MSFT", 3, 410.5);
    auto parsed = bus::message_from_json(original->json);
    BOOST_REQUIRE(parsed);
    const auto& copy = *parsed;
    BOOST_TEST(copy->seq == 3u);
    BOOST_TEST(copy->channel == original->channel);
    BOOST_TEST(copy->sse_frame == original->sse_frame);
    BOOST_TEST(copy->ws_frame == original->ws_frame);
    auto not_json = bus::message_from_json("not json");
    BOOST_REQUIRE(!not_json);
    BOOST_TEST(not_json.error().detail.starts_with("not a StreamMessage"));
    auto bogus = bus::message_from_json(R"({"channel":"bogus","id":"1-1"})");
    BOOST_REQUIRE(!bogus);
    BOOST_TEST(bogus.error().detail.find("'bogus' is not a channel") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(subscribers_get_the_latest_first_then_every_publish) {
    auto bus = bus::make_embedded_bus();
    bus->publish(quote("AAPL", 1, 100), 60s);
    auto a = std::make_shared<Collector>();
    bus->subscribe("stream:market_data:AAPL", a);
    BOOST_REQUIRE_EQUAL(a->seen.size(), 1u);
    BOOST_TEST(a->seen[0]->seq == 1u);
    bus->publish(quote("AAPL", 2, 101), 60s);
    bus->publish(quote("MSFT", 1, 400), 60s);  // another channel: not delivered
    BOOST_REQUIRE_EQUAL(a->seen.size(), 2u);
    BOOST_TEST(a->seen[1]->seq == 2u);
    BOOST_TEST(bus->stats("stream:market_data:AAPL").subscribers == 1u);

    bus->unsubscribe("stream:market_data:AAPL", a.get());
    bus->publish(quote("AAPL", 3, 102), 60s);
    BOOST_TEST(a->seen.size() == 2u);
    BOOST_TEST(bus->stats("stream:market_data:AAPL").subscribers == 0u);
    BOOST_TEST(bus->latest("stream:market_data:AAPL")->seq == 3u);
}

BOOST_AUTO_TEST_CASE(latest_expires_after_its_ttl) {
    auto bus = bus::make_embedded_bus();
    bus->publish(quote("AAPL", 1, 100), 0s);
    BOOST_TEST(!bus->latest("stream:market_data:AAPL"));
    BOOST_TEST(bus->stats("stream:market_data:AAPL").last_message_at.has_value());
    BOOST_TEST(!bus->latest("stream:market_data:NOPE"));
}

BOOST_AUTO_TEST_CASE(a_dead_subscriber_is_skipped_not_called) {
    auto bus = bus::make_embedded_bus();
    auto gone = std::make_shared<Collector>();
    bus->subscribe("stream:market_data:AAPL", gone);
    gone.reset();
    bus->publish(quote("AAPL", 1, 100), 60s);  // must not crash (ASan would see a use-after-free)
    BOOST_TEST(bus->stats("stream:market_data:AAPL").subscribers == 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_publish_and_subscribe_lose_nothing) {
    auto bus = bus::make_embedded_bus();
    bus::ChannelSequencer sequencer;
    constexpr int kMessages = 2000;
    std::vector<std::shared_ptr<Collector>> subscribers;
    for (int i = 0; i < 50; ++i) {
        subscribers.push_back(std::make_shared<Collector>());
        bus->subscribe("stream:market_data:AAPL", subscribers.back());
    }
    std::thread churn([&] {
        for (int i = 0; i < 500; ++i) {
            auto extra = std::make_shared<Collector>();
            bus->subscribe("stream:market_data:AAPL", extra);
            bus->unsubscribe("stream:market_data:AAPL", extra.get());
        }
    });
    for (int i = 0; i < kMessages; ++i) {
        sequencer.publish_next("stream:market_data:AAPL",
                               [&](uint64_t seq) { bus->publish(quote("AAPL", seq, i), 60s); });
    }
    churn.join();
    for (auto& s : subscribers) {
        BOOST_REQUIRE_EQUAL(s->seen.size(), static_cast<size_t>(kMessages));
        for (int i = 0; i < kMessages; ++i)
            BOOST_TEST(s->seen[i]->seq == uint64_t(i + 1));
    }
}

BOOST_AUTO_TEST_CASE(publishers_on_several_threads_reach_subscribers_in_the_order_of_seq) {
    auto bus = bus::make_embedded_bus();
    const std::string channel = "stream:signals:AAPL";
    auto collector = std::make_shared<Collector>();
    bus->subscribe(channel, collector);
    constexpr int kThreads = 4, kEach = 2000;
    std::vector<std::thread> publishers;
    for (int t = 0; t < kThreads; ++t) {
        publishers.emplace_back([&] {
            for (int i = 0; i < kEach; ++i) {
                auto id = bus->publish_numbered(
                    {*tickerd::parse_channel(channel), "api", {{"n", i}}}, 60s);
                BOOST_REQUIRE(id.has_value());
            }
        });
    }
    for (auto& thread : publishers)
        thread.join();
    // Every number once, in order: a subscriber dropping a seq below one seen loses nothing.
    BOOST_REQUIRE_EQUAL(collector->seen.size(), static_cast<size_t>(kThreads * kEach));
    for (std::size_t i = 0; i < collector->seen.size(); ++i)
        BOOST_TEST(collector->seen[i]->seq == i + 1);
}

BOOST_AUTO_TEST_CASE(channels_nobody_follows_and_nothing_was_published_on_are_forgotten) {
    auto bus = bus::make_embedded_bus();
    auto collector = std::make_shared<Collector>();
    bus->publish(quote("AAPL", 1, 10), 300s);
    // One client subscribing to made-up names, then leaving.
    for (int i = 0; i < 10000; ++i)
        bus->subscribe("stream:market_data:X" + std::to_string(i), collector);
    bus->subscribe("stream:market_data:AAPL", collector);
    BOOST_TEST(bus->health().channels == 10001u);
    for (int i = 0; i < 10000; ++i)
        bus->unsubscribe("stream:market_data:X" + std::to_string(i), collector.get());
    bus->unsubscribe("stream:market_data:AAPL", collector.get());
    // AAPL stays: it holds a latest message for the next subscriber.
    BOOST_TEST(bus->health().channels == 1u);
    BOOST_TEST(bus->latest("stream:market_data:AAPL") != nullptr);
}

// Subscribers leave in any order, some while messages flow, one subscribes twice: each
// publish reaches exactly the subscribers following the channel at that moment, once each.
BOOST_AUTO_TEST_CASE(each_publish_reaches_exactly_who_follows_the_channel_then) {
    auto bus = bus::make_embedded_bus();
    const std::string channel = "stream:market_data:AAPL";
    std::vector<std::shared_ptr<Collector>> subscribers;
    for (int i = 0; i < 1000; ++i) {
        subscribers.push_back(std::make_shared<Collector>());
        bus->subscribe(channel, subscribers.back());
    }
    bus->subscribe(channel, subscribers.front());  // again: still one delivery per publish
    bus->publish(quote("AAPL", 1, 1.0), 60s);
    // Every third one leaves (from the middle, the front and the back of the table), with a
    // publish after every hundred departures.
    uint64_t seq = 1;
    std::vector<bool> follows(subscribers.size(), true);
    for (std::size_t i = 0; i < subscribers.size(); i += 3) {
        bus->unsubscribe(channel, subscribers[i].get());
        follows[i] = false;
        if (i % 300 == 0) bus->publish(quote("AAPL", ++seq, 1.0), 60s);
    }
    bus->publish(quote("AAPL", ++seq, 1.0), 60s);
    BOOST_TEST(bus->stats(channel).subscribers == 666u);
    for (std::size_t i = 0; i < subscribers.size(); ++i) {
        const auto& seen = subscribers[i]->seen;
        std::set<uint64_t> distinct;
        for (const auto& message : seen)
            distinct.insert(message->seq);
        BOOST_TEST_CONTEXT("subscriber " << i) {
            BOOST_TEST(distinct.size() == seen.size(), "a message delivered twice");
            BOOST_TEST(distinct.count(1) == 1u);  // everyone followed at the first publish
            BOOST_TEST(distinct.count(seq) == (follows[i] ? 1u : 0u));  // only who stayed
        }
    }
    // Back in after leaving: the latest first, then what follows.
    bus->subscribe(channel, subscribers[0]);
    bus->publish(quote("AAPL", ++seq, 1.0), 60s);
    BOOST_TEST(subscribers[0]->seen.back()->seq == seq);
    BOOST_TEST(bus->stats(channel).subscribers == 667u);
}

// ---- History (CONTRACT.md §7) ----

namespace {

std::vector<uint64_t> seqs_of(const bus::HistoryPage& page) {
    std::vector<uint64_t> seqs;
    for (const auto& message : page.messages)
        seqs.push_back(message->seq);
    return seqs;
}

}  // namespace

BOOST_AUTO_TEST_CASE(history_keeps_the_last_messages_and_says_whether_a_position_is_covered) {
    auto bus = bus::make_embedded_bus({5, std::chrono::hours(1)});
    for (uint64_t seq = 1; seq <= 8; ++seq)
        bus->publish(quote("AAPL", seq, 100.0 + seq), 60s);
    const std::string channel = "stream:market_data:AAPL";

    auto newest = bus->history(channel, {std::nullopt, 3});
    BOOST_REQUIRE(newest);
    BOOST_TEST(seqs_of(*newest) == (std::vector<uint64_t>{6, 7, 8}),
               boost::test_tools::per_element());
    BOOST_TEST(
        json::parse(newest->messages.back()->json).at("data").at("price").to_number<double>() ==
        108.0);

    auto after_five = bus->history(channel, {5, 1000});  // 6..8 kept: complete
    BOOST_TEST(seqs_of(*after_five) == (std::vector<uint64_t>{6, 7, 8}),
               boost::test_tools::per_element());
    BOOST_TEST(after_five->complete);
    BOOST_TEST(!after_five->more);
    auto paged = bus->history(channel, {4, 2});  // 5, 6 of 5..8
    BOOST_TEST(seqs_of(*paged) == (std::vector<uint64_t>{5, 6}), boost::test_tools::per_element());
    BOOST_TEST(paged->complete);
    BOOST_TEST(paged->more);
    auto trimmed = bus->history(channel, {2, 1000});  // 3 is gone: not complete
    BOOST_TEST(!trimmed->complete);
    auto at_head = bus->history(channel, {8, 1000});
    BOOST_TEST(at_head->messages.empty());
    BOOST_TEST(at_head->complete);
    auto ahead = bus->history(channel, {9, 1000});  // a position this bus never numbered
    BOOST_TEST(!ahead->complete);

    // Numbering that starts again (a channel taken over without its past) starts the history
    // again: nothing older can be confused with the new series.
    bus->publish(quote("AAPL", 1, 1.0), 60s);
    auto renumbered = bus->history(channel, {std::nullopt, 1000});
    BOOST_TEST(seqs_of(*renumbered) == (std::vector<uint64_t>{1}),
               boost::test_tools::per_element());

    auto unknown = bus->history("stream:market_data:NONE", {3, 1000});
    BOOST_TEST(unknown->messages.empty());
    BOOST_TEST(!unknown->complete);
    BOOST_TEST(bus->history("stream:market_data:NONE", {0, 1000})->complete);
}

BOOST_AUTO_TEST_CASE(history_forgets_what_is_older_than_its_age_and_can_be_off) {
    auto aged = bus::make_embedded_bus({100, std::chrono::seconds(60)});
    auto old_message = bus::make_message(
        bus::Envelope{DataType::market_data, "AAPL", "mock", {{"price", 1.0}}, 0, false, 1, ""}, 1,
        std::chrono::system_clock::now() - std::chrono::minutes(5));
    aged->publish(old_message, 60s);
    aged->publish(quote("AAPL", 2, 2.0), 60s);
    auto page = aged->history("stream:market_data:AAPL", {std::nullopt, 100});
    BOOST_TEST(seqs_of(*page) == (std::vector<uint64_t>{2}), boost::test_tools::per_element());

    auto off = bus::make_embedded_bus({0, std::chrono::seconds(60)});
    off->publish(quote("AAPL", 1, 1.0), 60s);
    BOOST_TEST(off->history("stream:market_data:AAPL", {std::nullopt, 100})->messages.empty());
    BOOST_TEST(!off->history("stream:market_data:AAPL", {0, 100})->messages.size());
}

BOOST_AUTO_TEST_CASE(an_unrecovered_copy_says_so_and_ids_give_their_seq) {
    auto original = quote("AAPL", 12, 99.5);
    auto copy = bus::unrecovered(*original);
    auto metadata = json::parse(copy->json).at("metadata").as_object();
    BOOST_TEST(metadata.at("recovered") == false);
    BOOST_TEST(copy->seq == 12u);
    BOOST_TEST(copy->id == original->id);
    BOOST_TEST(copy->sse_frame.find("\"recovered\":false") != std::string::npos);
    BOOST_TEST(copy->ws_frame.find("\"recovered\":false") != std::string::npos);
    BOOST_TEST(original->json.find("recovered") == std::string::npos);

    BOOST_TEST(bus::seq_of_id("1764504000123-42").value_or(0) == 42u);
    for (const char* bad :
         {"", "42", "-42", "12-", "a-1", "1-b", "1-2-3", "1-99999999999999999999"})
        BOOST_TEST(!bus::seq_of_id(bad), bad);
}
