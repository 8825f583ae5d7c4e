// Internal to the gateway: work over a long list a chunk at a time. A message to 18,000
// streams, or 18,000 streams due in one tick of the timer wheel, must not hold an I/O thread
// (and the GET / queued behind it) for the whole list; the rest waits behind whatever else is
// queued, and an idle thread can take the next chunk.
#pragma once

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

namespace tickerd::gateway {

// What a chunk runs inside by default: nothing.
struct NoChunkScope {};

// Calls `each` on items [from, from + chunk), then posts the rest to `executor`; `done` gets
// the list after its last item. Whatever the rest needs kept alive, `each` or `done` holds.
// A `Scope` lives around each chunk's calls (the writer wake-ups' SendBatch).
template <class Scope = NoChunkScope, class Executor, class Item, class Each, class Done>
void run_in_chunks(const Executor& executor, std::shared_ptr<std::vector<Item>> items,
                   std::size_t from, std::size_t chunk, Each each, Done done) {
    auto end = std::min(items->size(), from + chunk);
    {
        [[maybe_unused]] Scope scope;
        for (auto i = from; i < end; ++i)
            each((*items)[i]);
    }
    if (end == items->size()) return done(*items);
    boost::asio::post(executor, [executor, items = std::move(items), end, chunk,
                                 each = std::move(each), done = std::move(done)]() mutable {
        run_in_chunks<Scope>(executor, std::move(items), end, chunk, std::move(each),
                             std::move(done));
    });
}

}  // namespace tickerd::gateway
