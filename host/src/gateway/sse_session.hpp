// One Server-Sent Events stream: the response header, `retry:`, then every message of the
// subscribed channels (latest first), keepalive comments when idle, until the client goes.
#pragma once

#include "gateway/stream_session.hpp"

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

    ChannelSet requested_;                         // until run() subscribes
    std::shared_ptr<const std::string> preamble_;  // the response header and retry
};

}  // namespace tickerd::gateway
