// The daemon's side of an isolated vendor instance: one runner process at a time (a
// Process), its I/O thread, the calls waiting on it, and the supervision around it (why it
// died, when it starts again, when it is benched).
#include "isolation/isolation.hpp"
#include "isolation/protocol.hpp"
#include "isolation/spawner.hpp"

#include "core/enum_names.hpp"
#include "core/log.hpp"
#include "core/model.hpp"

#include <tickerd/abi.h>

#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

namespace tickerd::isolation {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxQueued = 64u * 1024 * 1024;  // frames waiting for the socket
constexpr auto kDeathWindow = std::chrono::minutes(1);
constexpr auto kStopWait = std::chrono::seconds(1);
constexpr auto kStartWait = std::chrono::seconds(2);  // for a restart under way, when stopping
constexpr auto kExitGrace = std::chrono::milliseconds(200);  // from its socket closing to its exit
constexpr auto kWaitSlice = std::chrono::milliseconds(50);   // how often a call looks at cancel

constexpr std::array<std::string_view, 2> kIsolationNames = {"in_process", "process"};
constexpr std::array<std::string_view, 5> kRunnerStateNames = {"starting", "running", "restarting",
                                                               "benched", "stopped"};

CallAnswer transient(std::string message) {
    CallAnswer answer;
    answer.status = TICKERD_E_TRANSIENT;
    answer.message = std::move(message);
    return answer;
}

boost::log::trivial::severity_level severity(int32_t level) {
    switch (level) {
        case TICKERD_LOG_DEBUG:
            return boost::log::trivial::debug;
        case TICKERD_LOG_INFO:
            return boost::log::trivial::info;
        case TICKERD_LOG_WARNING:
            return boost::log::trivial::warning;
        default:
            return boost::log::trivial::error;
    }
}

// What a runner asked the daemon to fetch over HTTP, as the web client takes it.
webclient::Request read_http_ask(Reader& in, uint32_t& call,
                                 std::chrono::system_clock::time_point deadline) {
    webclient::Request out;
    call = in.u32();
    out.method = in.str();
    if (out.method.empty()) out.method = "GET";
    out.url = in.str();
    auto headers = in.u32();
    for (uint32_t i = 0; in.ok() && i < headers; ++i) {
        auto name = in.str();
        out.headers.emplace_back(std::move(name), in.str());
    }
    out.body = in.str();
    auto timeout_ms = in.i32();
    auto connect_ms = in.i32();
    // Never past the fetch's deadline, whatever the plugin asks for.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::system_clock::now());
    out.timeout = timeout_ms > 0 ? std::min(left, std::chrono::milliseconds(timeout_ms)) : left;
    out.connect_timeout = std::chrono::milliseconds(std::max(connect_ms, 0));
    return out;
}

Frame http_reply(uint32_t call, const webclient::Response& response) {
    int32_t outcome = response.outcome == webclient::Outcome::ok          ? TICKERD_OK
                      : response.outcome == webclient::Outcome::transient ? TICKERD_E_TRANSIENT
                                                                          : TICKERD_E_PERMANENT;
    return Writer()
        .u32(call)
        .i32(outcome)
        .i32(response.status)
        .str(response.body)
        .str(response.headers)
        .str(response.error)
        .frame(FrameType::http_reply);
}

// One call waiting on a runner: its answer, or an HTTP request to make for it.
struct Slot {
    std::optional<CallAnswer> answer;
    std::optional<std::string> http_ask;  // the payload of an http frame
};

// "VmRSS" and "Pss" of a process, in kB (0 when unknown).
std::pair<long, long> memory_of(pid_t pid) {
    long rss = 0, pss = 0;
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    std::string line;
    while (std::getline(in, line)) {
        auto value = [&line] {
            return std::strtol(line.c_str() + line.find(':') + 1, nullptr, 10);
        };
        if (line.starts_with("Rss:")) rss = value();
        if (line.starts_with("Pss:")) pss = value();
    }
    return {rss, pss};
}

}  // namespace

std::string_view to_string(Isolation isolation) {
    return name_of(kIsolationNames, isolation);
}

std::optional<Isolation> parse_isolation(std::string_view text) {
    return parse_name<Isolation>(kIsolationNames, text);
}

std::string isolation_choices() {
    return choices(kIsolationNames);
}

std::string_view to_string(RunnerState state) {
    return name_of(kRunnerStateNames, state);
}

boost::json::object to_json(const Limits& limits) {
    return {{"memory_mb", limits.memory_mb}, {"cpu_seconds", limits.cpu_seconds}};
}

boost::json::object to_json(const RestartPolicy& policy) {
    return {{"backoff_ms", policy.backoff_ms},
            {"max_backoff_ms", policy.max_backoff_ms},
            {"bench_after", policy.bench_after},
            {"bench_seconds", policy.bench_seconds}};
}

void log_plugin_line(const std::string& instance, int32_t level, std::string_view text) {
    constexpr std::size_t kMaxLogLine = 2048;
    if (text.size() > kMaxLogLine) text = text.substr(0, kMaxLogLine);
    BOOST_LOG_STREAM_WITH_PARAMS(boost::log::trivial::logger::get(),
                                 (boost::log::keywords::severity = severity(level)))
        << "vendor " << instance << ": " << text;
}

// One runner process, from its start to its reaping.
class Process : public std::enable_shared_from_this<Process> {
  public:
    using OnDeath = std::function<void(const std::shared_ptr<Process>&, const std::string&)>;

    Process(detail::Spawned spawned, std::string instance)
        : pid_(spawned.pid),
          pidfd_(spawned.pidfd),
          channel_(std::make_unique<Channel>(spawned.socket, kMaxQueued)),
          instance_(std::move(instance)),
          started_at_(std::chrono::system_clock::now()) {}
    ~Process() { ::close(pidfd_); }

    pid_t pid() const { return pid_; }
    std::chrono::system_clock::time_point started_at() const { return started_at_; }

    // Serves the socket on a thread of its own until the runner is gone, then reaps it and
    // tells `on_death` why it ended (unless it was asked to stop).
    void serve(OnDeath on_death) {
        std::thread([self = shared_from_this(), on_death = std::move(on_death)] {
            auto why = self->channel_->run(
                [&self](Frame&& frame) { return self->on_frame(std::move(frame)); });
            self->finish(why, on_death);
        }).detach();
    }

    // Asks for the instance; waits for the answer (at most `limit`). An error says why not.
    Result<void> create(const std::string& settings, std::chrono::milliseconds limit) {
        channel_->send(Writer().str(instance_).str(settings).frame(FrameType::create));
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, limit, [&] { return created_.has_value() || dead_; })) {
            lock.unlock();
            kill("no answer to create within " + std::to_string(limit.count()) + " ms");
            lock.lock();
            changed_.wait_for(lock, kStopWait, [&] { return dead_; });
            return Error::unavailable("the runner did not create the instance within " +
                                      std::to_string(limit.count()) + " ms");
        }
        if (dead_) return Error::unavailable("the runner " + death_);
        if (created_->first != TICKERD_OK) {
            auto why = created_->second.empty() ? "the plugin refused to create the instance"
                                                : created_->second;
            lock.unlock();
            stop();
            return Error::unavailable(why);
        }
        return {};
    }

    CallAnswer call(std::string_view data_type, const std::string& symbol,
                    std::chrono::system_clock::time_point deadline,
                    const std::atomic<bool>& cancelled, std::chrono::milliseconds kill_grace,
                    webclient::Client& http) {
        auto slot = std::make_shared<Slot>();
        uint32_t id = 0;
        {
            std::lock_guard lock(mutex_);
            if (dead_) return transient("runner " + death_);
            id = ++last_call_;
            calls_[id] = slot;
        }
        auto forget = [&] {
            std::lock_guard lock(mutex_);
            calls_.erase(id);
        };
        using namespace std::chrono;
        auto deadline_ms = duration_cast<milliseconds>(deadline.time_since_epoch()).count();
        if (!channel_->send(Writer()
                                .u32(id)
                                .str(data_type)
                                .str(symbol)
                                .i64(deadline_ms)
                                .frame(FrameType::fetch))) {
            forget();
            return transient("runner busy: its socket queue is full");
        }
        auto kill_at = deadline + kill_grace;
        bool cancel_sent = false;
        for (;;) {
            std::optional<std::string> ask;
            {
                std::unique_lock lock(mutex_);
                changed_.wait_until(lock, std::min(kill_at, system_clock::now() + kWaitSlice), [&] {
                    return slot->answer.has_value() || slot->http_ask.has_value() || dead_;
                });
                if (slot->answer) {
                    calls_.erase(id);
                    return std::move(*slot->answer);
                }
                if (dead_) {
                    calls_.erase(id);
                    return transient("runner " + death_);
                }
                ask.swap(slot->http_ask);
            }
            if (ask) {
                Reader in(*ask);
                uint32_t call_id = 0;
                auto request = read_http_ask(in, call_id, deadline);
                webclient::Response response;
                if (!in.done()) {
                    response.outcome = webclient::Outcome::permanent;
                    response.error = "malformed http request from the runner";
                } else if (request.timeout.count() <= 0) {
                    response.outcome = webclient::Outcome::transient;
                    response.error = "deadline passed";
                } else {
                    response = http.perform(request, [&] {
                        return cancelled.load(std::memory_order_relaxed) ||
                               system_clock::now() >= deadline;
                    });
                }
                channel_->send(http_reply(id, response));
                continue;
            }
            if (!cancel_sent && cancelled.load(std::memory_order_relaxed)) {
                cancel_sent = channel_->send(Writer().u32(id).frame(FrameType::cancel));
            }
            if (system_clock::now() >= kill_at) {
                forget();
                auto why = "no answer by the call's deadline (plus " +
                           std::to_string(kill_grace.count()) + " ms)";
                kill(why);
                return transient("runner killed by the daemon (SIGKILL): " + why);
            }
        }
    }

    // Ends the runner now: it is killed, and `why` is what its death is reported as.
    void kill(const std::string& why) {
        {
            std::lock_guard lock(mutex_);
            if (dead_ || !kill_reason_.empty()) return;
            kill_reason_ = why;
        }
        detail::kill_process(pidfd_);
    }

    // Asks the runner to destroy the instance and exit; kills it when it has not within 1 s.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        channel_->send(Frame{FrameType::shutdown, {}});
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, kStopWait, [&] { return dead_; })) {
            lock.unlock();
            kill("did not stop within 1 s of being asked");
        }
    }

  private:
    bool on_frame(Frame&& frame) {
        Reader in(frame.payload);
        switch (frame.type) {
            case FrameType::created: {
                auto status = in.i32();
                auto error = in.str();
                if (!in.done()) return false;
                std::lock_guard lock(mutex_);
                if (created_) return false;
                created_.emplace(status, std::move(error));
                changed_.notify_all();
                return true;
            }
            case FrameType::result: {
                CallAnswer answer;
                auto id = in.u32();
                answer.status = in.i32();
                answer.retry_after_ms = in.i64();
                answer.http_status = in.i32();
                answer.message = in.str();
                answer.json_set = in.u8() != 0;
                answer.json = in.str();
                if (!in.done()) return false;
                std::lock_guard lock(mutex_);
                // A call the daemon stopped waiting for answers late: nothing to do.
                if (auto it = calls_.find(id); it != calls_.end()) {
                    it->second->answer = std::move(answer);
                    changed_.notify_all();
                }
                return true;
            }
            case FrameType::http: {
                Reader peek(frame.payload);
                auto id = peek.u32();
                if (!peek.ok()) return false;
                std::lock_guard lock(mutex_);
                if (auto it = calls_.find(id); it != calls_.end()) {
                    it->second->http_ask = std::move(frame.payload);
                    changed_.notify_all();
                }
                return true;  // (for a call given up on, the runner's own deadline ends it)
            }
            case FrameType::log: {
                auto level = in.i32();
                auto text = in.str();
                if (!in.done()) return false;
                log_plugin_line(instance_, level, text);
                return true;
            }
            default:
                return false;  // a frame only the daemon sends
        }
    }

    void finish(const std::string& channel_end, const OnDeath& on_death) {
        std::string kill_reason;
        bool stopping = false;
        {
            std::lock_guard lock(mutex_);
            kill_reason = kill_reason_;
            stopping = stopping_;
        }
        // Whatever ended the conversation, the process goes: a runner that closed its socket
        // but lives on, or spoke garbage, is of no use. One that is exiting (its socket closes
        // as it dies) is given a moment, so that it is reported by its own signal or code.
        bool peer_closed = channel_end == "closed by peer";
        if (kill_reason.empty() && !(stopping && peer_closed)) {
            if (channel_end.starts_with("protocol error")) {
                kill_reason = channel_end;
            } else if (!exits_within(kExitGrace)) {
                kill_reason = peer_closed ? "closed its socket" : channel_end;
            }
            if (!kill_reason.empty()) detail::kill_process(pidfd_);
        }
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        auto how = describe_wait_status(status);
        // Killed by the daemon, it says why; dead of its own accord before that, how.
        std::string death = !kill_reason.empty() && how.starts_with("killed by SIGKILL")
                                ? "killed by the daemon (SIGKILL): " + kill_reason
                                : how;
        // Logged before anyone waiting hears of the death: stop()'s caller may be the daemon
        // on its way out, after which this thread must not touch the log.
        if (stopping && kill_reason.empty()) {
            BOOST_LOG_TRIVIAL(info)
                << "vendor " << instance_ << ": runner (pid " << pid_ << ") stopped: " << how;
        } else {
            std::size_t in_flight = 0;
            {
                std::lock_guard lock(mutex_);
                in_flight = calls_.size();
            }
            BOOST_LOG_TRIVIAL(warning)
                << "vendor " << instance_ << ": runner (pid " << pid_ << ") " << death << "; "
                << in_flight << " call(s) in flight fail as transient";
        }
        {
            std::lock_guard lock(mutex_);
            dead_ = true;
            death_ = death;
            changed_.notify_all();
        }
        if (on_death && !(stopping && kill_reason.empty())) on_death(shared_from_this(), death);
    }

    // Whether the process has exited (not yet reaped) within `limit`.
    bool exits_within(std::chrono::milliseconds limit) const {
        auto until = Clock::now() + limit;
        for (;;) {
            siginfo_t info{};
            if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                info.si_pid == pid_)
                return true;
            if (Clock::now() >= until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }

    const pid_t pid_;
    const int pidfd_;
    std::unique_ptr<Channel> channel_;
    const std::string instance_;
    const std::chrono::system_clock::time_point started_at_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::optional<std::pair<int32_t, std::string>> created_;
    std::map<uint32_t, std::shared_ptr<Slot>> calls_;
    uint32_t last_call_ = 0;
    bool dead_ = false;
    bool stopping_ = false;
    std::string death_;        // how it ended, for the calls and the log
    std::string kill_reason_;  // why the daemon killed it, when it did
};

struct Runner::Impl : std::enable_shared_from_this<Impl> {
    RunnerOptions options;
    std::shared_ptr<webclient::Client> http;

    mutable std::mutex mutex;
    std::shared_ptr<Process> current;  // null while dead, benched or stopped
    bool starting = false;
    bool stopped = false;
    int restarts = 0;
    int deaths = 0;
    int deaths_in_a_row = 0;  // since a call last got an answer
    std::deque<Clock::time_point> recent_deaths;
    std::optional<std::pair<std::string, std::chrono::system_clock::time_point>> last_death;
    Clock::time_point next_start{};
    std::optional<Clock::time_point> benched_until;
    std::chrono::system_clock::time_point benched_until_wall{};
    std::string bench_detail;
    std::condition_variable woken;  // stop() wakes the restart waiting for its time

    // Starts a runner process and has it create the instance.
    Result<std::shared_ptr<Process>> launch() {
        std::vector<std::string> argv = {options.executable.string(),
                                         "--parent",
                                         std::to_string(::getpid()),
                                         "--memory-mb",
                                         std::to_string(options.limits.memory_mb),
                                         "--cpu-seconds",
                                         std::to_string(options.limits.cpu_seconds)};
        auto spawned = detail::spawn(argv, options.plugin_fd);
        if (!spawned) return spawned.error();
        auto process = std::make_shared<Process>(*spawned, options.instance_name);
        std::weak_ptr<Impl> weak = weak_from_this();
        process->serve([weak](const std::shared_ptr<Process>& process, const std::string& why) {
            if (auto self = weak.lock()) self->on_death(process, why);
        });
        if (auto created = process->create(options.settings_json, options.start_timeout);
            !created) {
            return created.error();
        }
        BOOST_LOG_TRIVIAL(info) << "vendor " << options.instance_name << ": runner started (pid "
                                << process->pid() << ")";
        return process;
    }

    // The current runner died (or could not be started): when does it start again?
    void on_death(const std::shared_ptr<Process>& process, const std::string& why) {
        Clock::time_point restart_at;
        {
            std::lock_guard lock(mutex);
            if (process && process != current) return;  // a runner retired meanwhile
            if (stopped) return;
            current.reset();
            auto now = Clock::now();
            ++deaths;
            ++deaths_in_a_row;
            last_death.emplace(why, std::chrono::system_clock::now());
            recent_deaths.push_back(now);
            while (!recent_deaths.empty() && now - recent_deaths.front() > kDeathWindow)
                recent_deaths.pop_front();
            const auto& policy = options.restart;
            if (policy.bench_after > 0 &&
                static_cast<int>(recent_deaths.size()) >= policy.bench_after) {
                auto length = std::chrono::seconds(policy.bench_seconds);
                benched_until = now + length;
                benched_until_wall = std::chrono::system_clock::now() + length;
                bench_detail = std::to_string(recent_deaths.size()) +
                               " deaths within a minute, the last: " + why;
                restart_at = *benched_until;
                BOOST_LOG_TRIVIAL(error)
                    << "vendor " << options.instance_name << ": runner benched for "
                    << policy.bench_seconds << " s: " << bench_detail;
            } else {
                auto backoff = std::chrono::milliseconds(policy.backoff_ms);
                for (int i = 1; i < deaths_in_a_row && backoff.count() < policy.max_backoff_ms; ++i)
                    backoff *= 2;
                backoff = std::min(backoff, std::chrono::milliseconds(policy.max_backoff_ms));
                next_start = now + backoff;
                restart_at = next_start;
                BOOST_LOG_TRIVIAL(warning) << "vendor " << options.instance_name
                                           << ": runner restarts in " << backoff.count() << " ms";
            }
        }
        restart_later(restart_at);
    }

    // Starts the runner again at `at` (unless a call did first, or it was stopped), on a
    // thread of its own: the runner comes back whether or not calls come.
    void restart_later(Clock::time_point at) {
        std::weak_ptr<Impl> weak = weak_from_this();
        try {
            std::thread([weak, at] {
                auto self = weak.lock();
                if (!self) return;
                {
                    std::unique_lock lock(self->mutex);
                    if (self->woken.wait_until(lock, at, [&] { return self->stopped; })) return;
                }
                (void)self->start_if_due();
            }).detach();
        } catch (const std::system_error& e) {
            // Then the next call starts it.
            BOOST_LOG_TRIVIAL(error) << "vendor " << options.instance_name
                                     << ": no thread to restart its runner: " << e.what();
        }
    }

    // The runner to call now, starting one if it is due; or why there is none.
    Result<std::shared_ptr<Process>> start_if_due() {
        std::unique_lock lock(mutex);
        if (stopped) return Error::unavailable("runner stopped");
        auto now = Clock::now();
        if (benched_until) {
            if (now < *benched_until) return Error::unavailable("runner benched: " + bench_detail);
            benched_until.reset();
            recent_deaths.clear();
            deaths_in_a_row = 0;
            next_start = now;
        }
        if (current) return current;
        if (starting) return Error::unavailable("runner starting");
        if (now < next_start) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_start - now);
            return Error::unavailable(
                "runner restarts in " + std::to_string(left.count()) +
                " ms (last death: " + (last_death ? last_death->first : "unknown") + ")");
        }
        starting = true;
        lock.unlock();
        auto started = launch();
        // `starting` ends only once this start is settled, logging included (see ~Runner).
        auto settled = [this] {
            std::lock_guard lock(mutex);
            starting = false;
            woken.notify_all();
        };
        if (!started) {
            on_death(nullptr, "could not start again: " + started.error().detail);
            settled();
            return Error::unavailable("runner could not start: " + started.error().detail);
        }
        lock.lock();
        if (stopped) {
            lock.unlock();
            (*started)->stop();
            settled();
            return Error::unavailable("runner stopped");
        }
        starting = false;
        woken.notify_all();
        ++restarts;
        current = *started;
        return current;
    }
};

Runner::Runner(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Runner>> Runner::start(RunnerOptions options,
                                              std::shared_ptr<webclient::Client> http) {
    auto impl = std::make_shared<Impl>();
    impl->options = std::move(options);
    impl->http = std::move(http);
    auto process = impl->launch();
    if (!process) return process.error();
    impl->current = *process;
    return std::unique_ptr<Runner>(new Runner(std::move(impl)));
}

Runner::~Runner() {
    std::shared_ptr<Process> process;
    {
        std::unique_lock lock(impl_->mutex);
        impl_->stopped = true;
        impl_->woken.notify_all();
        // A restart under way finishes first (it stops what it started): the daemon may be
        // on its way out, and no thread of ours may log after that.
        impl_->woken.wait_for(lock, kStartWait, [&] { return !impl_->starting; });
        process.swap(impl_->current);
    }
    if (process) process->stop();
}

CallAnswer Runner::call(std::string_view data_type, const std::string& symbol,
                        std::chrono::system_clock::time_point deadline,
                        const std::atomic<bool>& cancelled) {
    auto process = impl_->start_if_due();
    if (!process) return transient(process.error().detail);
    auto answer = (*process)->call(data_type, symbol, deadline, cancelled,
                                   impl_->options.kill_grace, *impl_->http);
    if (answer.status != TICKERD_E_TRANSIENT || !answer.message.starts_with("runner ")) {
        std::lock_guard lock(impl_->mutex);
        impl_->deaths_in_a_row = 0;  // it answered: the next death starts the backoff over
    }
    return answer;
}

boost::json::object Runner::status_json() const {
    auto& self = *impl_;
    boost::json::object out;
    {
        std::lock_guard lock(self.mutex);
        auto now = Clock::now();
        bool benched = self.benched_until && now < *self.benched_until;
        RunnerState state = self.stopped    ? RunnerState::stopped
                            : benched       ? RunnerState::benched
                            : self.current  ? RunnerState::running
                            : self.starting ? RunnerState::starting
                                            : RunnerState::restarting;
        out["state"] = to_string(state);
        if (self.current) {
            out["pid"] = self.current->pid();
            out["started_at"] = iso8601_utc(self.current->started_at());
        } else {
            out["pid"] = nullptr;
        }
        out["restarts"] = self.restarts;
        out["deaths"] = self.deaths;
        if (self.last_death) {
            out["last_death"] = {{"reason", self.last_death->first},
                                 {"at", iso8601_utc(self.last_death->second)}};
        } else {
            out["last_death"] = nullptr;
        }
        if (benched) {
            out["benched"] = {{"reason", "crashing"},
                              {"detail", self.bench_detail},
                              {"until", iso8601_utc(self.benched_until_wall)}};
        } else {
            out["benched"] = nullptr;
        }
        if (state == RunnerState::restarting) {
            out["restart_in_ms"] = std::max<int64_t>(
                0, std::chrono::duration_cast<std::chrono::milliseconds>(self.next_start - now)
                       .count());
        }
        out["limits"] = to_json(self.options.limits);
        out["restart"] = to_json(self.options.restart);
    }
    return out;
}

void add_memory(boost::json::object& status) {
    const auto* pid = status.if_contains("pid");
    if (pid == nullptr || !pid->is_int64()) return;
    auto [rss, pss] = memory_of(static_cast<pid_t>(pid->as_int64()));
    status["memory_kb"] = {{"rss", rss}, {"pss", pss}};
}

std::filesystem::path default_runner_executable() {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    fs::path installed = exe.parent_path().parent_path() / TICKERD_INSTALL_RUNNER;
    if (!ec && fs::exists(installed, ec)) return installed;
    return TICKERD_BUILD_RUNNER;
}

}  // namespace tickerd::isolation
