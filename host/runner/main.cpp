// tickerd-vendor-runner: serves one vendor instance out of the daemon's process (README,
// "Isolating a vendor"). The daemon starts it with the socket of its protocol as fd 3 and the
// plugin file (the very copy the daemon validated) as fd 4:
//
//   tickerd-vendor-runner --parent PID [--memory-mb N] [--cpu-seconds N]
//
// It limits itself, loads the plugin and then does what the daemon asks over the socket:
// create the instance, fetch (each call on a thread at once, reused), cancel, shut down. The host
// services the plugin calls (log, http) travel back to the daemon as frames; the clock,
// cancellation and the result are answered here. The plugin sees the same ABI as in process.
#include "isolation/protocol.hpp"

#include <tickerd/abi.h>

#include <dlfcn.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

using namespace tickerd::isolation;

namespace {

constexpr int kSocketFd = 3;
constexpr int kPluginFd = 4;
constexpr std::size_t kMaxQueued = 64u * 1024 * 1024;
constexpr std::size_t kMaxLogLine = 2048;  // as in process: no megabyte lines in the journal

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

#if defined(__SANITIZE_ADDRESS__)
// In sanitizer builds a plugin's crash is reported as the signal it is, as in production,
// not turned into an AddressSanitizer report and exit code 1.
extern "C" __attribute__((visibility("default"))) const char* __asan_default_options() {
    return "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0";
}
#endif

struct HttpReply {
    int32_t outcome = TICKERD_E_TRANSIENT;
    int32_t status_code = 0;
    std::string body, headers, error;
};

// One fetch in flight: what the plugin's host_call points to.
struct Call {
    uint32_t id = 0;
    int64_t deadline_unix_ms = 0;
    std::atomic<bool> cancelled{false};
    std::string json;
    bool json_set = false;
    std::mutex mutex;
    std::condition_variable answered;
    std::optional<HttpReply> reply;
    std::deque<HttpReply> kept;  // the plugin reads the bodies until fetch returns
};

int64_t now_unix_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct Runner {
    std::unique_ptr<Channel> channel;
    const tickerd_plugin* plugin = nullptr;
    std::atomic<void*> instance{nullptr};  // set by create's thread, read by the I/O thread
    tickerd_host_api api{};
    std::mutex mutex;
    std::map<uint32_t, std::shared_ptr<Call>> calls;
    bool shutting_down = false;

    void log(int32_t level, std::string_view text) {
        if (text.size() > kMaxLogLine) text = text.substr(0, kMaxLogLine);
        channel->send(Writer().i32(level).str(text).frame(FrameType::log));
    }
};

Runner runner;

// ---- The host services, as the plugin calls them. Nothing throws out of these. ----------

void host_log(void*, int32_t level, tickerd_str message) noexcept {
    try {
        runner.log(level, {message.ptr ? message.ptr : "", message.ptr ? message.len : 0});
    } catch (...) {
    }
}

int64_t host_now_unix_ms(void*) noexcept {
    return now_unix_ms();
}

int32_t host_is_cancelled(void* host_call) noexcept {
    auto* call = static_cast<Call*>(host_call);
    return call->cancelled.load() || now_unix_ms() >= call->deadline_unix_ms;
}

void host_set_result_json(void* host_call, tickerd_str json) noexcept {
    try {
        auto* call = static_cast<Call*>(host_call);
        if (call->json_set) return;  // "at most once": the first answer stands
        call->json.assign(json.ptr ? json.ptr : "", json.ptr ? json.len : 0);
        call->json_set = true;
    } catch (...) {
    }
}

std::string_view text_of(tickerd_str s) {
    return {s.ptr ? s.ptr : "", s.ptr ? s.len : 0};
}

tickerd_status host_http(void* host_call, const tickerd_http_request* request,
                         tickerd_http_response* response) noexcept {
    if (response == nullptr || response->struct_size < sizeof(tickerd_http_response)) {
        return TICKERD_E_PERMANENT;
    }
    auto fail = [response](tickerd_status status, std::string_view why) {
        response->outcome = status;
        auto n = std::min(why.size(), sizeof response->error - 1);
        std::memcpy(response->error, why.data(), n);
        response->error[n] = '\0';
        return status;
    };
    if (request == nullptr || request->struct_size < sizeof(tickerd_http_request)) {
        return fail(TICKERD_E_PERMANENT, "http request struct too small for ABI 1.1");
    }
    try {
        auto* call = static_cast<Call*>(host_call);
        Writer ask;
        ask.u32(call->id).str(text_of(request->method)).str(text_of(request->url));
        uint32_t headers = request->headers ? request->header_count : 0;
        ask.u32(headers);
        for (uint32_t i = 0; i < headers; ++i)
            ask.str(text_of(request->headers[i].name)).str(text_of(request->headers[i].value));
        ask.str(text_of(request->body)).i32(request->timeout_ms).i32(request->connect_timeout_ms);
        {
            std::lock_guard lock(call->mutex);
            call->reply.reset();
        }
        if (!runner.channel->send(ask.frame(FrameType::http)))
            return fail(TICKERD_E_TRANSIENT, "the daemon is not listening");
        // The daemon answers by the deadline (it bounds the request by it); a second more
        // for the answer to travel, then the call is given up on.
        std::unique_lock lock(call->mutex);
        auto until = std::chrono::system_clock::time_point(
                         std::chrono::milliseconds(call->deadline_unix_ms)) +
                     std::chrono::seconds(1);
        if (!call->answered.wait_until(lock, until, [call] { return call->reply.has_value(); }))
            return fail(TICKERD_E_TRANSIENT, "no answer from the daemon by the deadline");
        auto& kept = call->kept.emplace_back(std::move(*call->reply));
        call->reply.reset();
        response->status_code = kept.status_code;
        response->body = {kept.body.data(), kept.body.size()};
        response->headers = {kept.headers.data(), kept.headers.size()};
        if (kept.outcome == TICKERD_OK) {
            response->outcome = TICKERD_OK;
            return TICKERD_OK;
        }
        return fail(kept.outcome, kept.error);
    } catch (...) {
        return fail(TICKERD_E_TRANSIENT, "the runner could not pass the request on");
    }
}

// ---- What the daemon asks ----------------------------------------------------------------

void create(std::string name, std::string settings) {
    char error[512] = {};
    void* instance = nullptr;
    tickerd_status status =
        runner.plugin->create(&runner.api, {name.data(), name.size()},
                              {settings.data(), settings.size()}, &instance, error, sizeof error);
    error[sizeof error - 1] = '\0';
    if (status == TICKERD_OK && instance == nullptr) status = TICKERD_E_PERMANENT;
    if (status == TICKERD_OK) runner.instance = instance;
    runner.channel->send(Writer().i32(status).str(error).frame(FrameType::created));
}

void fetch(std::shared_ptr<Call> call, std::string type, std::string symbol) {
    tickerd_request request{sizeof(tickerd_request),
                            {type.data(), type.size()},
                            {symbol.data(), symbol.size()},
                            call->deadline_unix_ms,
                            call.get()};
    tickerd_result result{};
    result.struct_size = sizeof(tickerd_result);
    tickerd_status status = runner.plugin->fetch(runner.instance, &request, &result);
    result.message[sizeof result.message - 1] = '\0';
    {
        std::lock_guard lock(runner.mutex);
        runner.calls.erase(call->id);
    }
    runner.channel->send(Writer()
                             .u32(call->id)
                             .i32(status)
                             .i64(result.retry_after_ms)
                             .i32(result.http_status)
                             .str(result.message)
                             .u8(call->json_set ? 1 : 0)
                             .str(call->json)
                             .frame(FrameType::result));
}

// Threads for the calls: an idle one takes the next call, or a new one starts, so every call
// has a thread at once (one that hangs never holds up another) and the daemon's
// max_concurrency bounds how many there are. One idle for a minute ends.
class Workers {
  public:
    bool run(std::function<void()> job) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
            if (jobs_.size() <= idle_) {
                ready_.notify_one();
                return true;
            }
        }
        try {
            std::thread([this] { work(); }).detach();
            return true;
        } catch (...) {
            return false;  // the job stays queued for the next idle thread
        }
    }

  private:
    void work() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(mutex_);
                ++idle_;
                bool got =
                    ready_.wait_for(lock, std::chrono::minutes(1), [&] { return !jobs_.empty(); });
                --idle_;
                if (!got) return;
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            job();
        }
    }

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> jobs_;
    std::size_t idle_ = 0;
};

Workers workers;

template <class Fn>
bool on_a_thread(Fn fn) {
    return workers.run(std::move(fn));
}

bool on_frame(Frame&& frame) {
    Reader in(frame.payload);
    switch (frame.type) {
        case FrameType::create: {
            auto name = in.str();
            auto settings = in.str();
            if (!in.done() || runner.instance != nullptr) return false;
            return on_a_thread([name, settings] { create(name, settings); });
        }
        case FrameType::fetch: {
            auto call = std::make_shared<Call>();
            call->id = in.u32();
            auto type = in.str();
            auto symbol = in.str();
            call->deadline_unix_ms = in.i64();
            if (!in.done() || runner.instance == nullptr) return false;
            {
                std::lock_guard lock(runner.mutex);
                runner.calls[call->id] = call;
            }
            return on_a_thread([call, type, symbol] { fetch(call, type, symbol); });
        }
        case FrameType::cancel: {
            auto id = in.u32();
            if (!in.done()) return false;
            std::lock_guard lock(runner.mutex);
            if (auto it = runner.calls.find(id); it != runner.calls.end())
                it->second->cancelled = true;
            return true;
        }
        case FrameType::http_reply: {
            auto id = in.u32();
            HttpReply reply;
            reply.outcome = in.i32();
            reply.status_code = in.i32();
            reply.body = in.str();
            reply.headers = in.str();
            reply.error = in.str();
            if (!in.done()) return false;
            std::shared_ptr<Call> call;
            {
                std::lock_guard lock(runner.mutex);
                if (auto it = runner.calls.find(id); it != runner.calls.end()) call = it->second;
            }
            if (call) {
                std::lock_guard lock(call->mutex);
                call->reply = std::move(reply);
                call->answered.notify_all();
            }
            return true;
        }
        case FrameType::shutdown:
            runner.shutting_down = true;
            runner.channel->stop(std::chrono::milliseconds(200));
            return true;
        default:
            return false;  // a frame only the runner sends
    }
}

// Dies with the daemon, gains no privileges, and stays within its limits.
std::string limit_self(int argc, char** argv) {
    long parent = 0, memory_mb = 0, cpu_seconds = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view flag(argv[i]);
        long value = std::strtol(argv[i + 1], nullptr, 10);
        if (flag == "--parent") parent = value;
        if (flag == "--memory-mb") memory_mb = value;
        if (flag == "--cpu-seconds") cpu_seconds = value;
    }
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (parent != 0 && ::getppid() != parent) std::_Exit(0);  // the daemon is gone already
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);  // a crashing plugin leaves no core files behind
    std::string notes;
    if (memory_mb > 0 && kAddressSanitizer) {
        notes = "memory_mb not applied: this build uses AddressSanitizer";
    } else if (memory_mb > 0) {
        // Each malloc arena reserves 64 MiB of address space up front, and glibc makes up
        // to 8 per core: under RLIMIT_AS two are plenty for a runner's few threads.
        ::mallopt(M_ARENA_MAX, 2);
        auto bytes = static_cast<rlim_t>(memory_mb) * 1024 * 1024;
        rlimit as{bytes, bytes};
        ::setrlimit(RLIMIT_AS, &as);
    }
    if (cpu_seconds > 0) {
        // SIGXCPU at the soft limit, SIGKILL a second later should it be caught.
        rlimit cpu{static_cast<rlim_t>(cpu_seconds), static_cast<rlim_t>(cpu_seconds + 1)};
        ::setrlimit(RLIMIT_CPU, &cpu);
    }
    return notes;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    auto notes = limit_self(argc, argv);
    runner.channel = std::make_unique<Channel>(kSocketFd, kMaxQueued);
    runner.api.struct_size = sizeof(tickerd_host_api);
    runner.api.abi_version = TICKERD_ABI_VERSION;
    runner.api.host = &runner;
    runner.api.log = &host_log;
    runner.api.now_unix_ms = &host_now_unix_ms;
    runner.api.is_cancelled = &host_is_cancelled;
    runner.api.set_result_json = &host_set_result_json;
    runner.api.http = &host_http;
    if (!notes.empty()) runner.log(TICKERD_LOG_WARNING, notes);

    // The daemon validated this very copy before starting us; what can still fail here is
    // the loader under our limits.
    std::string path = "/proc/self/fd/" + std::to_string(kPluginFd);
    void* library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    auto entry = library ? reinterpret_cast<tickerd_plugin_entry_fn>(
                               ::dlsym(library, TICKERD_PLUGIN_ENTRY_SYMBOL))
                         : nullptr;
    runner.plugin = entry ? entry(TICKERD_ABI_VERSION) : nullptr;
    if (runner.plugin == nullptr) {
        const char* why = ::dlerror();
        std::string text =
            std::string("the runner cannot load the plugin: ") + (why ? why : "no descriptor");
        runner.channel->send(Writer().i32(TICKERD_E_PERMANENT).str(text).frame(FrameType::created));
        runner.channel->stop(std::chrono::milliseconds(1000));
        runner.channel->run([](Frame&&) { return true; });
        return 3;
    }
    runner.channel->run(on_frame);
    bool idle = false;
    {
        std::lock_guard lock(runner.mutex);
        idle = runner.calls.empty();
    }
    // The daemon drains an instance before it stops its runner; calls still running here
    // were given up on, and destroy must not pull the instance from under them.
    if (runner.shutting_down && idle && runner.instance != nullptr)
        runner.plugin->destroy(runner.instance);
    // Leave without running destructors under threads that may still run.
    std::_Exit(0);
}
