// posix_spawn from one long-lived thread (see spawner.hpp for why).
#include "isolation/spawner.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

extern char** environ;

namespace tickerd::isolation::detail {

namespace {

// Descriptors the daemon may have open are moved above this before the child's are set up,
// so fds 3 and 4 of the child never clash with the parent's numbering.
constexpr int kHighFd = 100;

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

Result<Spawned> spawn_now(const std::vector<std::string>& argv, int plugin_fd) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return Error::unavailable(errno_text("socketpair"));
    int child_socket = ::fcntl(pair[1], F_DUPFD_CLOEXEC, kHighFd);
    int child_plugin = ::fcntl(plugin_fd, F_DUPFD_CLOEXEC, kHighFd);
    ::close(pair[1]);
    auto close_all = [&] {
        ::close(pair[0]);
        if (child_socket >= 0) ::close(child_socket);
        if (child_plugin >= 0) ::close(child_plugin);
    };
    if (child_socket < 0 || child_plugin < 0) {
        auto error = errno_text("fcntl");
        close_all();
        return Error::unavailable(error);
    }
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, 2, 1);
    ::posix_spawn_file_actions_adddup2(&actions, child_socket, 3);
    ::posix_spawn_file_actions_adddup2(&actions, child_plugin, 4);
    ::posix_spawn_file_actions_addclosefrom_np(&actions, 5);
    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int failed = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(child_socket);
    ::close(child_plugin);
    child_socket = child_plugin = -1;
    if (failed != 0) {
        ::close(pair[0]);
        return Error::unavailable("cannot start " + argv[0] + ": " + std::strerror(failed));
    }
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        auto error = errno_text("pidfd_open");
        ::kill(pid, SIGKILL);
        ::close(pair[0]);
        return Error::unavailable(error);
    }
    return Spawned{pid, pidfd, pair[0]};
}

// The thread that starts every runner, and its queue.
class Spawner {
  public:
    static Spawner& instance() {
        // Never destroyed: runners started from it must not see it end before the daemon.
        static auto* spawner = new Spawner();
        return *spawner;
    }

    Result<Spawned> spawn(const std::vector<std::string>& argv, int plugin_fd) {
        auto job = std::make_shared<Job>();
        job->argv = argv;
        job->plugin_fd = plugin_fd;
        {
            std::lock_guard lock(mutex_);
            if (queue_.size() >= kMaxQueued) return Error::unavailable("too many runners starting");
            queue_.push_back(job);
        }
        wake_.notify_one();
        std::unique_lock lock(mutex_);
        if (!done_.wait_for(lock, std::chrono::seconds(10),
                            [&] { return job->result.has_value(); }))
            return Error::unavailable("the runner did not start within 10 s");
        return *job->result;
    }

  private:
    static constexpr std::size_t kMaxQueued = 64;
    struct Job {
        std::vector<std::string> argv;
        int plugin_fd = -1;
        std::optional<Result<Spawned>> result;
    };

    Spawner() {
        std::thread([this] { serve(); }).detach();
    }

    void serve() {
        for (;;) {
            std::shared_ptr<Job> job;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return !queue_.empty(); });
                job = queue_.front();
                queue_.pop_front();
            }
            auto result = spawn_now(job->argv, job->plugin_fd);
            {
                std::lock_guard lock(mutex_);
                job->result = std::move(result);
            }
            done_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::deque<std::shared_ptr<Job>> queue_;
};

}  // namespace

void kill_process(int pidfd) {
    ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
}

Result<Spawned> spawn(const std::vector<std::string>& argv, int plugin_fd) {
    return Spawner::instance().spawn(argv, plugin_fd);
}

}  // namespace tickerd::isolation::detail
