// One Server-Sent Events stream: the response header, `retry:`, then every message of the
// subscribed channels (latest first), keepalive comments when idle, until the client goes.
#pragma once

#include "gateway/stream_session.hpp"

#include <unordered_map>

namespace tickerd::gateway {

class SseSession final : public StreamSession {
  public:
    SseSession(std::unique_ptr<Transport> transport, ChannelSet channels,
               const StreamContext& context);

    void run();

  private:
    Outgoing frame_of(const bus::MessagePtr& message) const override;
    void frame_batch(const std::vector<Outgoing>& items, Buffers& buffers) override;
    Clock::time_point on_tick(Clock::time_point now) override;
    void on_shutdown() override;

    // A stream of several channels says where it is in each, in every id it sends.
    void frame_with_positions(const Outgoing& item, Buffers& buffers);

    ChannelSet requested_;                         // until run() subscribes
    ResumePositions resume_from_;                  // until run() subscribes
    std::shared_ptr<const std::string> preamble_;  // the response header and retry

    // Several channels: each one's position (the seq last framed), in the stream's order.
    std::vector<uint64_t> positions_;
    std::unordered_map<std::string, std::size_t> position_of_;  // channel -> index
    std::vector<std::string> id_lines_;  // this batch's "id: …\n" lines (buffers point here)
};

}  // namespace tickerd::gateway
