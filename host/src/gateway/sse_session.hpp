// One Server-Sent Events stream: the response header, `retry:`, then every message of the
// subscribed channels (latest first), keepalive comments when idle, until the client goes.
#pragma once

#include "gateway/deflate.hpp"
#include "gateway/stream_session.hpp"

#include <unordered_map>

namespace tickerd::gateway {

class SseSession final : public StreamSession {
  public:
    // `gzip`: the body is a gzip stream (the client accepts it).
    SseSession(std::unique_ptr<Transport> transport, ChannelSet channels,
               const StreamContext& context, bool gzip);

    void run();

  private:
    Outgoing frame_of(const bus::MessagePtr& message) const override;
    void frame_batch(const std::vector<Outgoing>& items, Buffers& buffers) override;
    Clock::time_point on_tick(Clock::time_point now) override;
    void on_shutdown() override;

    void frame_message(const Outgoing& item, Buffers& buffers);
    void frame_gzip_item(const Outgoing& item, Buffers& buffers);
    // Where a message's SSE frame starts after its own "id:" line.
    static std::size_t own_id_line(const bus::Message& message);

    ChannelSet requested_;                         // until run() subscribes
    ResumePositions resume_from_;                  // until run() subscribes
    ViewSpec view_;                                // until run() subscribes
    std::shared_ptr<const std::string> preamble_;  // the response header and retry
    const bool gzip_;

    // Several channels: each one's position (the seq last framed), in the stream's order.
    // Set before the stream subscribes, read-only after (frame_of reads it from any thread).
    std::vector<uint64_t> positions_;
    std::unordered_map<std::string, std::size_t> position_of_;  // channel -> index
    // This batch's bytes of its own (id lines, the gzip trailer): the buffers point here.
    std::vector<std::string> id_lines_;

    // gzip: the CRC-32 and length of everything the stream has framed, for its trailer.
    uint32_t crc_ = 0;
    uint64_t length_ = 0;
};

}  // namespace tickerd::gateway
