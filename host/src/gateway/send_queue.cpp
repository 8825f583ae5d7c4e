#include "gateway/send_queue.hpp"

namespace tickerd::gateway {

SendQueue::SendQueue(std::size_t max_messages, std::size_t max_bytes)
    : max_messages_(max_messages), max_bytes_(max_bytes) {}

SendQueue::Push SendQueue::push_message(const bus::MessagePtr& message, Outgoing item) {
    std::lock_guard lock(mutex_);
    if (closed_) return Push::dropped;
    auto it = last_seq_.find(message->channel);
    if (it == last_seq_.end()) return Push::dropped;
    // seq 0 means "unknown" (a message from elsewhere without metadata.seq): never a duplicate.
    if (message->seq != 0) {
        if (message->seq <= it->second) return Push::dropped;
        it->second = message->seq;
    }
    return push_locked(std::move(item));
}

SendQueue::Push SendQueue::push(Outgoing item) {
    std::lock_guard lock(mutex_);
    if (closed_) return Push::dropped;
    return push_locked(std::move(item));
}

SendQueue::Push SendQueue::push_locked(Outgoing&& item) {
    if (pending_.size() + 1 > max_messages_ || pending_bytes_ + item.bytes->size() > max_bytes_) {
        closed_ = true;
        pending_.clear();
        pending_bytes_ = 0;
        return Push::overflow;
    }
    pending_bytes_ += item.bytes->size();
    pending_.push_back(std::move(item));
    if (writer_woken_) return Push::queued;
    writer_woken_ = true;
    return Push::wake_writer;
}

void SendQueue::take(std::vector<Outgoing>& into, std::size_t max_bytes) {
    into.clear();
    std::lock_guard lock(mutex_);
    if (pending_bytes_ <= max_bytes) {
        into.swap(pending_);
        pending_bytes_ = 0;
        writer_woken_ = false;
        return;
    }
    std::size_t count = 0, bytes = 0;
    while (count < pending_.size() &&
           (count == 0 || bytes + pending_[count].bytes->size() <= max_bytes))
        bytes += pending_[count++].bytes->size();
    auto end = pending_.begin() + static_cast<std::ptrdiff_t>(count);
    into.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(end));
    pending_.erase(pending_.begin(), end);
    pending_bytes_ -= bytes;
    // The writer comes back for the rest: it is still woken.
}

void SendQueue::track(const std::string& channel) {
    std::lock_guard lock(mutex_);
    last_seq_[channel] = 0;
}

void SendQueue::untrack(const std::string& channel) {
    std::lock_guard lock(mutex_);
    last_seq_.erase(channel);
}

void SendQueue::close(bool discard_pending) {
    std::lock_guard lock(mutex_);
    closed_ = true;
    if (discard_pending) {
        pending_.clear();
        pending_bytes_ = 0;
    }
}

}  // namespace tickerd::gateway
