#include "gateway/send_queue.hpp"

#include <algorithm>

namespace tickerd::gateway {

namespace {
// Replayed messages handed to the writer at once (besides its byte limit per write).
constexpr std::size_t kReplayBatch = 512;
}  // namespace

SendQueue::SendQueue(std::size_t max_messages, std::size_t max_bytes)
    : max_messages_(max_messages), max_bytes_(max_bytes) {}

SendQueue::Push SendQueue::push_message(const bus::MessagePtr& message, Outgoing item) {
    std::lock_guard lock(mutex_);
    if (closed_) return Push::dropped;
    auto* found = tracked_.find(message->channel);
    if (!found) return Push::dropped;
    auto& tracked = *found;
    if (tracked.resume) {
        if (over_limits(item.bytes->size())) return overflow();
        ++held_count_;
        held_bytes_ += item.bytes->size();
        tracked.resume->held.push_back(std::move(item));
        return Push::queued;
    }
    if (!accept_in_order(tracked, item)) return Push::dropped;
    return push_locked(std::move(item));
}

// Whether `item` is newer than what the channel queued (and if so, it becomes the newest).
// seq 0 means "unknown" (a message from elsewhere without metadata.seq): never a duplicate.
bool SendQueue::accept_in_order(Tracked& tracked, const Outgoing& item) {
    auto seq = item.message ? item.message->seq : 0;
    if (seq == 0) return true;
    if (seq <= tracked.last_seq) return false;
    tracked.last_seq = seq;
    return true;
}

SendQueue::Push SendQueue::push(Outgoing item) {
    std::lock_guard lock(mutex_);
    if (closed_) return Push::dropped;
    return push_locked(std::move(item));
}

bool SendQueue::over_limits(std::size_t more_bytes) const {
    return pending_.size() + held_count_ + 1 > max_messages_ ||
           pending_bytes_ + held_bytes_ + more_bytes > max_bytes_;
}

SendQueue::Push SendQueue::overflow() {
    closed_ = true;
    pending_.clear();
    pending_bytes_ = 0;
    tracked_.for_each([this](Tracked& tracked) { forget_resume(tracked); });
    replaying_.clear();
    return Push::overflow;
}

SendQueue::Push SendQueue::push_locked(Outgoing&& item) {
    if (over_limits(item.bytes->size())) return overflow();
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
        auto room = max_bytes - pending_bytes_;
        pending_bytes_ = 0;
        take_replay(into, room);
        // While a replay lasts the writer comes back for more: it stays woken.
        writer_woken_ = !replaying_.empty();
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

// Appends the next batch of the channels still replaying, in turn: each one's replay, then
// what it held; a channel with nothing left goes live.
void SendQueue::take_replay(std::vector<Outgoing>& into, std::size_t max_bytes) {
    std::size_t bytes = 0;
    while (!replaying_.empty() && into.size() < kReplayBatch && bytes < max_bytes) {
        auto* found = tracked_.find(replaying_.front());
        auto* resume = found ? found->resume.get() : nullptr;
        if (!resume || (resume->replay.empty() && resume->held.empty())) {
            if (resume) found->resume.reset();  // live from here
            replaying_.erase(replaying_.begin());
            continue;
        }
        auto& tracked = *found;
        bool from_replay = !resume->replay.empty();
        auto& source = from_replay ? resume->replay : resume->held;
        Outgoing item = std::move(source.front());
        source.pop_front();
        if (!from_replay) {
            --held_count_;
            held_bytes_ -= item.bytes->size();
        }
        if (!accept_in_order(tracked, item)) continue;
        bytes += item.bytes->size();
        into.push_back(std::move(item));
    }
}

void SendQueue::track(const std::string& channel) {
    std::lock_guard lock(mutex_);
    auto& tracked = tracked_.find_or_add(channel);
    forget_resume(tracked);
    tracked = Tracked{};
}

void SendQueue::track_held(const std::string& channel, uint64_t after) {
    std::lock_guard lock(mutex_);
    auto& tracked = tracked_.find_or_add(channel);
    forget_resume(tracked);
    tracked = Tracked{};
    tracked.last_seq = after;
    tracked.resume = std::make_unique<Resume>();
}

SendQueue::Push SendQueue::release(const std::string& channel, std::vector<Outgoing> replay,
                                   bool continuous) {
    std::lock_guard lock(mutex_);
    auto* found = tracked_.find(channel);
    if (closed_ || !found || !found->resume) return Push::dropped;
    auto& tracked = *found;
    if (!continuous) tracked.last_seq = 0;
    tracked.resume->replay.assign(std::make_move_iterator(replay.begin()),
                                  std::make_move_iterator(replay.end()));
    if (std::find(replaying_.begin(), replaying_.end(), channel) == replaying_.end())
        replaying_.push_back(channel);
    if (writer_woken_) return Push::queued;
    writer_woken_ = true;
    return Push::wake_writer;
}

// Drops what a channel's resume holds or has still to replay.
void SendQueue::forget_resume(Tracked& tracked) {
    if (!tracked.resume) return;
    auto& held = tracked.resume->held;
    for (const auto& item : held)
        held_bytes_ -= item.bytes->size();
    held_count_ -= held.size();
    held.clear();
    tracked.resume->replay.clear();
}

void SendQueue::untrack(const std::string& channel) {
    std::lock_guard lock(mutex_);
    auto* found = tracked_.find(channel);
    if (!found) return;
    forget_resume(*found);
    tracked_.erase(channel);
    std::erase(replaying_, channel);
}

void SendQueue::close(bool discard_pending) {
    std::lock_guard lock(mutex_);
    closed_ = true;
    tracked_.for_each([this](Tracked& tracked) { forget_resume(tracked); });
    replaying_.clear();
    if (discard_pending) {
        pending_.clear();
        pending_bytes_ = 0;
    }
}

// ---- The channels tracked -----------------------------------------------------------

bool SendQueue::TrackedChannels::first_is(const std::string& channel) const {
    return first_used_ && first_size_ == channel.size() &&
           std::equal(channel.begin(), channel.end(), first_name_.begin());
}

SendQueue::Tracked* SendQueue::TrackedChannels::find(const std::string& channel) {
    if (first_is(channel)) return &first_;
    if (rest_.empty()) return nullptr;
    auto it = rest_.find(channel);
    return it == rest_.end() ? nullptr : &it->second;
}

SendQueue::Tracked& SendQueue::TrackedChannels::find_or_add(const std::string& channel) {
    if (auto* found = find(channel)) return *found;
    if (first_used_ || channel.size() > kInlineName) return rest_[channel];
    std::copy(channel.begin(), channel.end(), first_name_.begin());
    first_size_ = static_cast<uint8_t>(channel.size());
    first_used_ = true;
    first_ = Tracked{};
    return first_;
}

void SendQueue::TrackedChannels::erase(const std::string& channel) {
    if (!first_is(channel)) {
        rest_.erase(channel);
        return;
    }
    first_used_ = false;
    first_ = Tracked{};
}

}  // namespace tickerd::gateway
