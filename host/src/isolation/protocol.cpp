// The frame codec and the socket loop both ends of the runner protocol share.
#include "isolation/protocol.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string.h>
#include <cerrno>
#include <cstring>

namespace tickerd::isolation {

bool known_frame_type(uint8_t type) {
    return type >= static_cast<uint8_t>(FrameType::create) &&
           type <= static_cast<uint8_t>(FrameType::shutdown);
}

Writer& Writer::u8(uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
}

Writer& Writer::u32(uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out_.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
    return *this;
}

Writer& Writer::i64(int64_t v) {
    auto u = static_cast<uint64_t>(v);
    for (int i = 0; i < 8; ++i)
        out_.push_back(static_cast<char>((u >> (8 * i)) & 0xffu));
    return *this;
}

Writer& Writer::str(std::string_view v) {
    u32(static_cast<uint32_t>(v.size()));
    out_.append(v);
    return *this;
}

bool Reader::take(std::size_t n, const char** at) {
    if (!ok_ || in_.size() < n) {
        ok_ = false;
        return false;
    }
    *at = in_.data();
    in_.remove_prefix(n);
    return true;
}

uint8_t Reader::u8() {
    const char* at = nullptr;
    return take(1, &at) ? static_cast<uint8_t>(at[0]) : 0;
}

uint32_t Reader::u32() {
    const char* at = nullptr;
    if (!take(4, &at)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= uint32_t{static_cast<uint8_t>(at[i])} << (8 * i);
    return v;
}

int64_t Reader::i64() {
    const char* at = nullptr;
    if (!take(8, &at)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v |= uint64_t{static_cast<uint8_t>(at[i])} << (8 * i);
    return static_cast<int64_t>(v);
}

std::string Reader::str() {
    auto n = u32();
    const char* at = nullptr;
    if (!take(n, &at)) return {};
    return {at, n};
}

namespace {

std::string encode(const Frame& frame) {
    std::string bytes;
    bytes.reserve(kFrameHeader + frame.payload.size());
    auto n = static_cast<uint32_t>(frame.payload.size());
    for (int i = 0; i < 4; ++i)
        bytes.push_back(static_cast<char>((n >> (8 * i)) & 0xffu));
    bytes.push_back(static_cast<char>(frame.type));
    bytes += frame.payload;
    return bytes;
}

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

Channel::Channel(int fd, std::size_t max_queued_bytes)
    : fd_(fd), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), max_queued_(max_queued_bytes) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

Channel::~Channel() {
    ::close(fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Channel::wake() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

bool Channel::send(Frame frame) {
    if (frame.payload.size() > kMaxFrame) return false;
    auto bytes = encode(frame);
    {
        std::lock_guard lock(mutex_);
        if (closed_ || stop_at_ || queued_bytes_ + bytes.size() > max_queued_) return false;
        queued_bytes_ += bytes.size();
        out_.push_back(std::move(bytes));
    }
    wake();
    return true;
}

void Channel::stop(std::chrono::milliseconds flush) {
    {
        std::lock_guard lock(mutex_);
        auto at = std::chrono::steady_clock::now() + flush;
        if (!stop_at_ || at < *stop_at_) stop_at_ = at;
    }
    wake();
}

std::string Channel::run(const std::function<bool(Frame&&)>& on_frame) {
    std::string in;       // bytes read, not yet a whole frame
    std::string writing;  // the frame being written, taken off the queue
    std::size_t written = 0;
    std::string why;
    char buffer[65536];
    while (why.empty()) {
        bool stopping = false;
        std::chrono::steady_clock::time_point stop_at{};
        {
            std::lock_guard lock(mutex_);
            if (writing.empty() && !out_.empty()) {
                writing = std::move(out_.front());
                out_.pop_front();
                written = 0;
            }
            if (stop_at_) {
                stopping = true;
                stop_at = *stop_at_;
            }
        }
        int timeout_ms = -1;
        if (stopping) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                stop_at - std::chrono::steady_clock::now());
            if (writing.empty() || left.count() <= 0) {
                why = "stopped";
                break;
            }
            timeout_ms = static_cast<int>(left.count()) + 1;
        }
        pollfd fds[2] = {{fd_, static_cast<short>(POLLIN | (writing.empty() ? 0 : POLLOUT)), 0},
                         {wake_fd_, POLLIN, 0}};
        int ready = ::poll(fds, 2, timeout_ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            why = errno_text("poll");
            break;
        }
        if (fds[1].revents & POLLIN) {
            uint64_t count = 0;
            [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof count);
        }
        if (fds[0].revents & POLLOUT) {
            auto n = ::send(fd_, writing.data() + written, writing.size() - written, MSG_NOSIGNAL);
            if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
                why = "closed by peer";
                break;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                why = errno_text("write");
                break;
            }
            if (n > 0) written += static_cast<std::size_t>(n);
            if (written == writing.size()) {
                std::lock_guard lock(mutex_);
                queued_bytes_ -= writing.size();
                writing.clear();
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            auto n = ::read(fd_, buffer, sizeof buffer);
            // A peer that dies with our bytes unread resets the connection: that is a close.
            if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                why = "closed by peer";
                break;
            }
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                why = errno_text("read");
                break;
            }
            in.append(buffer, static_cast<std::size_t>(n));
            std::size_t at = 0;
            while (why.empty() && in.size() - at >= kFrameHeader) {
                uint32_t length = 0;
                for (int i = 0; i < 4; ++i)
                    length |= uint32_t{static_cast<uint8_t>(in[at + i])} << (8 * i);
                auto type = static_cast<uint8_t>(in[at + 4]);
                if (!known_frame_type(type)) {
                    why = "protocol error: unknown frame type " + std::to_string(type);
                } else if (length > kMaxFrame) {
                    why = "protocol error: frame of " + std::to_string(length) + " bytes";
                } else if (in.size() - at - kFrameHeader >= length) {
                    Frame frame{static_cast<FrameType>(type), in.substr(at + kFrameHeader, length)};
                    at += kFrameHeader + length;
                    if (!on_frame(std::move(frame))) why = "protocol error: unexpected frame";
                } else {
                    break;
                }
            }
            in.erase(0, at);
        }
    }
    std::lock_guard lock(mutex_);
    closed_ = true;
    out_.clear();
    queued_bytes_ = 0;
    return why;
}

std::string describe_wait_status(int status) {
    if (WIFSIGNALED(status)) {
        int signal = WTERMSIG(status);
        const char* abbrev = ::sigabbrev_np(signal);
        std::string name =
            abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
        return "killed by " + name + (WCOREDUMP(status) ? " (core dumped)" : "");
    }
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    return "stopped (wait status " + std::to_string(status) + ")";
}

}  // namespace tickerd::isolation
