// The kernel's floor under any server's fan-out on this machine: the CPU one process spends
// to send a frame to each of N loopback TCP connections, one sendmsg() per delivery, and
// nothing else (no parsing, no queues, no event loop). A child process reads every socket.
// What a server spends per delivery above this is its own work; on loopback the figure
// includes the receiving side's TCP processing, which the kernel charges to the sender.
//
//   sendmsg_floor [--connections 1000] [--rate 40] [--duration 15] [--bytes 600] [--groups 1]
//                 [--io-uring 1 [--ring-flags 1] [--fixed-files 1]] [--iovs 1] [--op sendmsg|send]
//
// --rate is how often every connection gets a frame (a round of N sends), so that each send
// meets an idle connection, as in fanout_bench's rows. --groups G splits the connections into
// G groups that take turns, G rounds a second per --rate: like channels of N/G subscribers
// each, so `--connections 10000 --groups 100 --rate 0.1` is the idle row's pattern (ten
// messages a second, each to 100 connections that have been quiet for ten seconds).
//
// --io-uring 1 makes the same sendmsg() calls through io_uring, 256 to a submission, as
// tickerd's batched writes do (host/src/gateway/send_batch.cpp): what is left is the TCP work,
// without a system call's entry and exit per send. With it, --ring-flags 1 opens the ring with
// IORING_SETUP_SINGLE_ISSUER | COOP_TASKRUN | DEFER_TASKRUN, --fixed-files 1 registers the
// sockets with the ring (no file lookup per send), and --op send uses IORING_OP_SEND instead
// of IORING_OP_SENDMSG (one buffer: no msghdr or iovec to import). --iovs N splits each frame
// into N buffers of one sendmsg() (a WebSocket frame's header and payload are two).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <liburing.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct Options {
    int connections = 1000;
    double rate = 40;
    double duration = 15;
    std::size_t bytes = 600;
    int groups = 1;
    bool io_uring = false;
    bool ring_flags = false;
    bool fixed_files = false;
    bool op_send = false;
    int iovs = 1;
};

[[noreturn]] void fail(const char* what) {
    std::perror(what);
    std::exit(1);
}

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        if (flag == "--op") {
            std::string op = argv[i + 1];
            if (op != "send" && op != "sendmsg") {
                std::fprintf(stderr, "--op: expected send or sendmsg, not %s\n", op.c_str());
                std::exit(2);
            }
            options.op_send = op == "send";
            continue;
        }
        double value = std::atof(argv[i + 1]);
        if (flag == "--connections") {
            options.connections = static_cast<int>(value);
        } else if (flag == "--rate") {
            options.rate = value;
        } else if (flag == "--duration") {
            options.duration = value;
        } else if (flag == "--io-uring") {
            options.io_uring = value != 0;
        } else if (flag == "--ring-flags") {
            options.ring_flags = value != 0;
        } else if (flag == "--fixed-files") {
            options.fixed_files = value != 0;
        } else if (flag == "--iovs") {
            options.iovs = std::clamp(static_cast<int>(value), 1, 16);
        } else if (flag == "--groups") {
            options.groups = std::max(1, static_cast<int>(value));
        } else if (flag == "--bytes") {
            options.bytes = static_cast<std::size_t>(value);
        } else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            std::exit(2);
        }
    }
    return options;
}

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// The child: reads whatever arrives on any socket until every peer has closed.
[[noreturn]] void drain(const std::vector<int>& sockets) {
    int epoll = epoll_create1(0);
    for (int fd : sockets) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = fd;
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    }
    std::size_t open = sockets.size();
    std::vector<epoll_event> events(256);
    char buffer[65536];
    while (open > 0) {
        int ready = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 1000);
        for (int i = 0; i < ready; ++i) {
            auto got = read(events[static_cast<std::size_t>(i)].data.fd, buffer, sizeof buffer);
            if (got <= 0) {
                close(events[static_cast<std::size_t>(i)].data.fd);
                --open;
            }
        }
    }
    std::_Exit(0);
}

// One round's sends, `frame` to each of `sockets`: one sendmsg() each, or io_uring
// submissions of 256.
class Sender {
  public:
    Sender(const Options& options, const std::string& frame, const std::vector<int>& sockets)
        : options_(options), frame_(frame) {
        // The frame in --iovs pieces of about equal size, as one message.
        std::size_t piece = (frame.size() + options.iovs - 1) / options.iovs;
        for (std::size_t at = 0; at < frame.size(); at += piece)
            io_.push_back(
                {const_cast<char*>(frame.data()) + at, std::min(piece, frame.size() - at)});
        message_.msg_iov = io_.data();
        message_.msg_iovlen = io_.size();
        if (!options.io_uring) return;
        unsigned flags = options.ring_flags
                             ? IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
                                   IORING_SETUP_DEFER_TASKRUN
                             : 0;
        if (io_uring_queue_init(kBatch, &ring_, flags) != 0) fail("io_uring_queue_init");
        if (!options.fixed_files) return;
        if (io_uring_register_files(&ring_, sockets.data(),
                                    static_cast<unsigned>(sockets.size())) != 0)
            fail("io_uring_register_files");
        for (std::size_t i = 0; i < sockets.size(); ++i)
            index_of_[sockets[i]] = static_cast<int>(i);
    }

    ~Sender() {
        // Registered files hold their sockets open: closing the descriptors would not end them.
        if (options_.io_uring) io_uring_queue_exit(&ring_);
    }
    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;

    uint64_t send(const int* sockets, std::size_t count) {
        uint64_t sent = 0;
        if (!options_.io_uring) {
            for (std::size_t i = 0; i < count; ++i)
                if (sendmsg(sockets[i], &message_, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) ++sent;
            return sent;
        }
        for (std::size_t first = 0; first < count; first += kBatch) {
            auto last = std::min(count, first + kBatch);
            for (auto i = first; i < last; ++i)
                prepare(io_uring_get_sqe(&ring_), sockets[i]);
            io_uring_submit_and_get_events(&ring_);
            io_uring_cqe* cqe = nullptr;
            unsigned head = 0;
            unsigned seen = 0;
            io_uring_for_each_cqe(&ring_, head, cqe) {
                if (cqe->res > 0) ++sent;
                ++seen;
            }
            io_uring_cq_advance(&ring_, seen);
        }
        return sent;
    }

  private:
    static constexpr unsigned kBatch = 256;

    void prepare(io_uring_sqe* sqe, int socket) {
        int target = options_.fixed_files ? index_of_.at(socket) : socket;
        if (options_.op_send)
            io_uring_prep_send(sqe, target, frame_.data(), frame_.size(),
                               MSG_DONTWAIT | MSG_NOSIGNAL);
        else
            io_uring_prep_sendmsg(sqe, target, &message_, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (options_.fixed_files) sqe->flags |= IOSQE_FIXED_FILE;
    }

    const Options& options_;
    const std::string& frame_;
    std::vector<iovec> io_;
    msghdr message_{};
    io_uring ring_{};
    std::unordered_map<int, int> index_of_;  // socket -> its slot among the registered files
};

}  // namespace

int main(int argc, char** argv) {
    auto options = parse(argc, argv);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail("bind");
    if (listen(listener, 4096) != 0) fail("listen");
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);

    std::vector<int> clients, servers;
    for (int i = 0; i < options.connections; ++i) {
        int client = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            fail("connect");
        int server = accept(listener, nullptr, nullptr);
        if (server < 0) fail("accept");
        int on = 1;
        setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        clients.push_back(client);
        servers.push_back(server);
    }
    pid_t reader = fork();
    if (reader == 0) {
        for (int fd : servers)
            close(fd);
        drain(clients);
    }
    for (int fd : clients)
        close(fd);

    std::string frame(options.bytes, 'x');
    auto sender = std::make_unique<Sender>(options, frame, servers);
    auto interval = std::chrono::duration<double>(1.0 / (options.rate * options.groups));
    auto group_size = (servers.size() + static_cast<std::size_t>(options.groups) - 1) /
                      static_cast<std::size_t>(options.groups);
    auto start = std::chrono::steady_clock::now();
    auto cpu_start = cpu_seconds();
    uint64_t sent = 0;
    for (long round = 0;; ++round) {
        auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               interval * static_cast<double>(round));
        if (due - start > std::chrono::duration<double>(options.duration)) break;
        std::this_thread::sleep_until(due);
        auto group = static_cast<std::size_t>(round % options.groups);
        auto first = std::min(servers.size(), group * group_size);
        auto last = std::min(servers.size(), first + group_size);
        sent += sender->send(servers.data() + first, last - first);
    }
    auto cpu = cpu_seconds() - cpu_start;
    auto wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    sender.reset();
    for (int fd : servers)
        close(fd);
    waitpid(reader, nullptr, 0);
    std::printf("sendmsg floor%s: %d connections (%d groups) x %g frames/s of %zu bytes, %.0f s\n",
                options.io_uring ? " (io_uring)" : "", options.connections, options.groups,
                options.rate, options.bytes, wall);
    std::printf("  sends           %llu (%.0f /s)\n", static_cast<unsigned long long>(sent),
                sent / wall);
    std::printf("  sender CPU      %.2f us per send, %.1f %% of a core\n", cpu * 1e6 / sent,
                cpu * 100 / wall);
    std::printf("SUMMARY target=floor sends=%llu cpu_us=%.2f cpu_pct=%.1f\n",
                static_cast<unsigned long long>(sent), cpu * 1e6 / sent, cpu * 100 / wall);
}
