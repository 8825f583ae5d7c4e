// What the server closes when it stops, held weakly: each one's lifetime belongs to its own
// async operations; the registry only needs to reach the live ones. The expired entries are
// dropped when the list has doubled since they last were: pruning on every add made 18,000
// connections cost 18,000 walks of up to 18,000 entries, under a lock the I/O threads share.
#include "gateway/streams.hpp"

#include <algorithm>

namespace tickerd::gateway {

void ClosableRegistry::add(const std::shared_ptr<Closable>& closable) {
    constexpr std::size_t kFewest = 64;  // below this, pruning is not worth the walk
    std::lock_guard lock(mutex_);
    if (entries_.size() >= prune_at_) {
        std::erase_if(entries_, [](const auto& weak) { return weak.expired(); });
        prune_at_ = std::max(kFewest, 2 * entries_.size());
    }
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
