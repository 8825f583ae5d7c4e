// What the server closes when it stops, held weakly: each one's lifetime belongs to its own
// async operations; the registry only needs to reach the live ones.
#include "gateway/streams.hpp"

#include <algorithm>

namespace tickerd::gateway {

void ClosableRegistry::add(const std::shared_ptr<Closable>& closable) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [](const auto& weak) { return weak.expired(); });
    entries_.push_back(closable);
}

void ClosableRegistry::close_all() {
    // Copied out first: closing runs outside the lock (a stream may finish meanwhile).
    std::vector<std::shared_ptr<Closable>> live;
    {
        std::lock_guard lock(mutex_);
        for (const auto& weak : entries_) {
            if (auto stream = weak.lock()) live.push_back(std::move(stream));
        }
    }
    for (const auto& stream : live)
        stream->close_for_shutdown();
}

std::size_t ClosableRegistry::open_count() {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [](const auto& weak) { return weak.expired(); });
    return entries_.size();
}

}  // namespace tickerd::gateway
