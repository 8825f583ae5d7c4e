// Who follows one channel (or one view of it): held weakly, added and removed in O(1). An
// unsubscribe swaps the last entry into the leaving one's place, so 10,000 clients leaving one
// channel cost 10,000 small edits rather than 10,000 walks of the list. Not thread-safe: its
// owner's lock guards it.
#pragma once

#include "bus/bus.hpp"

#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

namespace tickerd::bus {

class SubscriberTable {
  public:
    struct Entry {
        std::weak_ptr<Subscriber> subscriber;
        const Subscriber* identity;
    };

    // Adds `s`, or renews its entry when it is there already.
    void add(const std::shared_ptr<Subscriber>& s) {
        auto [it, added] = index_.try_emplace(s.get(), entries_.size());
        if (added) {
            entries_.push_back({s, s.get()});
        } else {
            entries_[it->second].subscriber = s;
        }
    }

    void remove(const Subscriber* s) {
        auto it = index_.find(s);
        if (it != index_.end()) remove_at(it->second);
    }

    // Drops the subscribers gone without unsubscribing.
    void forget_expired() {
        for (std::size_t i = entries_.size(); i-- > 0;) {
            if (entries_[i].subscriber.expired()) remove_at(i);
        }
    }

    const std::vector<Entry>& entries() const { return entries_; }
    bool empty() const { return entries_.empty(); }

  private:
    // Order among subscribers does not matter, and nothing else moves.
    void remove_at(std::size_t position) {
        index_.erase(entries_[position].identity);
        if (position + 1 != entries_.size()) {
            entries_[position] = std::move(entries_.back());
            index_[entries_[position].identity] = position;
        }
        entries_.pop_back();
    }

    std::vector<Entry> entries_;
    std::unordered_map<const Subscriber*, std::size_t> index_;  // each one's place in entries_
};

}  // namespace tickerd::bus
