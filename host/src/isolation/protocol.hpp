// The wire between the daemon and a vendor runner (README, "Isolating a vendor"): one
// AF_UNIX stream socket (a socketpair; the runner's end is its fd 3) carrying frames.
//
//   frame   = length:u32 type:u8 payload[length]      (little-endian; length ≤ kMaxFrame)
//   payload = fields in a fixed order per type: u8/u32/i32/i64 little-endian, strings as
//             length:u32 bytes[length]
//
// Shared by both ends and compiled into the runner on its own, so it uses nothing of the
// daemon's (no logging, no Boost): only the C++ standard library and POSIX.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickerd::isolation {

// Each type's payload, in order. "→ runner" are sent by the daemon, "→ daemon" by the runner.
enum class FrameType : uint8_t {
    create = 1,      // → runner: instance_name:str settings_json:str
    created = 2,     // → daemon: status:i32 error:str (status 0: ready for calls)
    fetch = 3,       // → runner: call:u32 data_type:str symbol:str deadline_unix_ms:i64
    cancel = 4,      // → runner: call:u32 (the daemon stopped waiting for it)
    result = 5,      // → daemon: call:u32 status:i32 retry_after_ms:i64 http_status:i32
                     //           message:str json_set:u8 json:str
    log = 6,         // → daemon: level:i32 text:str
    http = 7,        // → daemon: call:u32 method:str url:str header_count:u32
                     //           (name:str value:str)* body:str timeout_ms:i32
                     //           connect_timeout_ms:i32
    http_reply = 8,  // → runner: call:u32 outcome:i32 status_code:i32 body:str headers:str
                     //           error:str
    shutdown = 9,    // → runner: (empty) destroy the instance and exit 0
};
bool known_frame_type(uint8_t type);

// Bigger than any HTTP response the host's web client accepts (32 MiB) plus its headers.
constexpr std::size_t kMaxFrame = 40u * 1024 * 1024;
constexpr std::size_t kFrameHeader = 5;

struct Frame {
    FrameType type{};
    std::string payload;
};

class Writer {
  public:
    Writer& u8(uint8_t v);
    Writer& u32(uint32_t v);
    Writer& i32(int32_t v) { return u32(static_cast<uint32_t>(v)); }
    Writer& i64(int64_t v);
    Writer& str(std::string_view v);
    Frame frame(FrameType type) { return {type, std::move(out_)}; }  // empties the writer

  private:
    std::string out_;
};

// Reads a payload front to back; any read past the end (or a string longer than what is
// left) makes ok() false and returns zeros from then on.
class Reader {
  public:
    explicit Reader(std::string_view payload) : in_(payload) {}
    uint8_t u8();
    uint32_t u32();
    int32_t i32() { return static_cast<int32_t>(u32()); }
    int64_t i64();
    std::string str();
    // Every field read and nothing left over.
    bool done() const { return ok_ && in_.empty(); }
    bool ok() const { return ok_; }

  private:
    bool take(std::size_t n, const char** at);
    std::string_view in_;
    bool ok_ = true;
};

// One end of the socket: a thread runs run(), which reads frames (handing each to
// `on_frame`) and writes the queued ones; send() only queues (bounded) and wakes it, so no
// caller ever blocks on the socket and no lock is held across I/O.
class Channel {
  public:
    Channel(int fd, std::size_t max_queued_bytes);
    ~Channel();  // closes the socket
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    // Queues a frame; false when the channel is closed or its queue holds max_queued_bytes.
    bool send(Frame frame);
    // Serves the socket until the peer closes it, a frame is malformed, on_frame returns
    // false, stop() is called or an I/O error occurs. Returns why, in a few words ("closed
    // by peer", "protocol error: frame type 77", …). Thread-safe to stop() from elsewhere.
    std::string run(const std::function<bool(Frame&&)>& on_frame);
    // Ends run() after the frames queued so far are written (at most `flush` long).
    void stop(std::chrono::milliseconds flush = std::chrono::milliseconds(0));
    bool closed() const { return closed_.load(); }

  private:
    void wake();
    int fd_;
    int wake_fd_;  // eventfd: send() and stop() poke the run() loop
    const std::size_t max_queued_;
    std::mutex mutex_;
    std::deque<std::string> out_;  // whole encoded frames
    std::size_t queued_bytes_ = 0;
    std::optional<std::chrono::steady_clock::time_point> stop_at_;
    std::atomic<bool> closed_{false};
};

// "killed by SIGSEGV", "exited with code 3", from a waitpid status.
std::string describe_wait_status(int status);

}  // namespace tickerd::isolation
