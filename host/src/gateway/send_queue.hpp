// The bounded outgoing queue of one stream (SSE or WebSocket). Bus deliveries arrive on
// publisher threads and only append here; the session's writer takes everything pending at
// once and sends it with one gather-write.
#pragma once

#include "bus/bus.hpp"

#include <boost/asio/buffer.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tickerd::gateway {

// Bytes to send. Shared bytes (a message's frame, a keepalive) are never copied; `bytes`
// keeps them alive until the write that uses them completes.
struct Outgoing {
    std::shared_ptr<const std::string> bytes;
    uint8_t opcode = 0;  // WebSocket frame opcode; unused by SSE
    // A message's timestamp (for the delivery latency metric); unset for session traffic.
    std::chrono::system_clock::time_point published_at{};
    // The message whose frame this is (kept alive by `bytes`); null for session traffic.
    const bus::Message* message = nullptr;

    // A message's frame, sharing ownership with the message itself.
    static Outgoing frame_of(const bus::MessagePtr& message, const std::string& frame,
                             uint8_t opcode = 0) {
        return {std::shared_ptr<const std::string>(message, &frame), opcode, message->timestamp,
                message.get()};
    }
};

class SendQueue {
  public:
    SendQueue(std::size_t max_messages, std::size_t max_bytes);

    enum class Push {
        queued,       // the writer already knows there is work
        wake_writer,  // the caller must get the writer going (post it to the session)
        dropped,      // duplicate, unsubscribed channel, or the queue is closed
        overflow,     // limits exceeded: the queue closed itself; the client is too slow
    };

    // A bus delivery: accepted only for a tracked channel and a seq newer than the last one
    // queued for it (a subscribe can race with a publish and deliver a message twice).
    Push push_message(const bus::MessagePtr& message, Outgoing item);
    // Session traffic (replies, keepalives, control frames); counts against the same limits.
    Push push(Outgoing item);

    // Moves what is pending, in order, into `into` (cleared first): everything, or when that
    // is more than `max_bytes`, the items from the front up to it (at least one). Taking
    // everything trades the two vectors' storage, so a session that keeps `into` allocates
    // nothing here; what is left stays queued, where a slow consumer's backlog can be
    // dropped instead of written.
    void take(std::vector<Outgoing>& into, std::size_t max_bytes);

    // Start accepting a channel's messages (its seq memory starts fresh, so a new
    // subscription gets the channel's latest message again) / stop accepting them.
    void track(const std::string& channel);
    void untrack(const std::string& channel);

    // A resume: the channel's deliveries are held back (counting against the limits) from now
    // until release(`replay`, the history after `after`, oldest first). Then the replay goes
    // out, then what was held, each message once and in order, so nothing published meanwhile
    // is lost or sent twice, whichever way it came. The replay is fed to the writer a batch
    // at a time, when nothing else is pending: it does not count against the limits (the
    // history bounds it), and a long one does not cut the client as slow.
    // `continuous`: false when the replay does not follow on from `after` (the client gets
    // the latest message instead): the channel's seq memory starts again from it.
    void track_held(const std::string& channel, uint64_t after);
    Push release(const std::string& channel, std::vector<Outgoing> replay, bool continuous);

    // Refuse everything from now on; `discard_pending` also drops what is queued.
    void close(bool discard_pending);

  private:
    // A channel resuming. Apart, because a std::deque allocates about 600 bytes as it is
    // made: kept in every channel of every stream, two of them were a fifth of an idle
    // connection's memory.
    struct Resume {
        std::deque<Outgoing> replay;  // released, not yet taken by the writer
        std::deque<Outgoing> held;    // counted in held_count_ / held_bytes_
    };
    struct Tracked {
        uint64_t last_seq = 0;           // the last seq queued
        std::unique_ptr<Resume> resume;  // while resuming: deliveries wait in its `held`
    };
    // The channels accepted, looked up by name on every delivery. Nearly every stream has
    // one: it is kept in place, its name too when short, so a delivery to a stream quiet for
    // seconds reads no hash bucket, node and key on the heap (each a cache miss by then: on
    // the idle row the lookup was a tenth of the daemon's CPU). Any others go in a map.
    class TrackedChannels {
      public:
        Tracked* find(const std::string& channel);
        Tracked& find_or_add(const std::string& channel);
        void erase(const std::string& channel);
        template <class Each>
        void for_each(Each each) {
            if (first_used_) each(first_);
            for (auto& [_, tracked] : rest_)
                each(tracked);
        }

      private:
        bool first_is(const std::string& channel) const;

        static constexpr std::size_t kInlineName = 46;  // "stream:fundamentals:" + a long symbol
        std::array<char, kInlineName> first_name_{};
        uint8_t first_size_ = 0;
        bool first_used_ = false;
        Tracked first_;
        std::unordered_map<std::string, Tracked> rest_;
    };

    Push push_locked(Outgoing&& item);
    bool accept_in_order(Tracked& tracked, const Outgoing& item);
    bool over_limits(std::size_t more_bytes) const;
    void forget_resume(Tracked& tracked);
    void take_replay(std::vector<Outgoing>& into, std::size_t max_bytes);
    Push overflow();

    const std::size_t max_messages_;
    const std::size_t max_bytes_;
    std::mutex mutex_;
    std::vector<Outgoing> pending_;
    std::size_t pending_bytes_ = 0;
    std::size_t held_count_ = 0;  // held by every channel resuming, and their bytes
    std::size_t held_bytes_ = 0;
    TrackedChannels tracked_;
    std::vector<std::string> replaying_;  // channels released and still feeding the writer
    bool writer_woken_ = false;
    bool closed_ = false;
};

}  // namespace tickerd::gateway
