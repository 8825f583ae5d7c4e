// The open streams, held weakly: a stream's lifetime belongs to its own async operations,
// the registry only needs to reach the live ones when the server stops.
#include "gateway/streams.hpp"

#include <algorithm>

namespace tickerd::gateway {

void StreamRegistry::add(const std::shared_ptr<Closable>& stream) {
    std::lock_guard lock(mutex_);
    std::erase_if(streams_, [](const auto& weak) { return weak.expired(); });
    streams_.push_back(stream);
}

void StreamRegistry::close_all() {
    // Copied out first: closing runs outside the lock (a stream may finish meanwhile).
    std::vector<std::shared_ptr<Closable>> live;
    {
        std::lock_guard lock(mutex_);
        for (const auto& weak : streams_) {
            if (auto stream = weak.lock()) live.push_back(std::move(stream));
        }
    }
    for (const auto& stream : live)
        stream->close_for_shutdown();
}

std::size_t StreamRegistry::open_count() {
    std::lock_guard lock(mutex_);
    std::erase_if(streams_, [](const auto& weak) { return weak.expired(); });
    return streams_.size();
}

}  // namespace tickerd::gateway
