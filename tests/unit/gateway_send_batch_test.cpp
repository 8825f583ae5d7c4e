// Batched stream writes (gateway/send_batch.hpp) over real loopback TCP connections: nothing
// leaves before the batch ends, then every write does, in order, and each sender hears how
// much went; a socket that is full hears -EAGAIN and one that takes part hears that part; a
// batch holds 256 writes; nested batches send once, at the outermost end; with the setting
// off, or outside a batch, nothing is queued (the stream writes at once instead); a kernel
// that refuses the submission leaves each sender its bytes to write, and batching stops.
#define BOOST_TEST_MODULE gateway_send_batch
#include <boost/test/unit_test.hpp>

#include "gateway/send_batch.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

using namespace tickerd::gateway;
namespace asio = boost::asio;

namespace {

// A connected loopback TCP pair: `server` writes, `client` reads (non-blocking).
struct Connection {
    int server = -1;
    int client = -1;
    Connection() {
        int listener = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        BOOST_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), length) == 0);
        BOOST_REQUIRE(::listen(listener, 1) == 0);
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
        client = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ::connect(client, reinterpret_cast<sockaddr*>(&address), length);  // EINPROGRESS
        server = ::accept(listener, nullptr, nullptr);
        BOOST_REQUIRE(server >= 0);
        ::close(listener);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        ::close(server);
        ::close(client);
    }
    // What has arrived so far.
    std::string received() const {
        std::string all;
        char buffer[65536];
        for (;;) {
            auto got = ::read(client, buffer, sizeof buffer);
            if (got <= 0) return all;
            all.append(buffer, static_cast<std::size_t>(got));
        }
    }
};

struct Recorder : BatchedSender {
    std::vector<int> results;
    void sent(int result) override { results.push_back(result); }
};

// The bytes must outlive the batch: views of literals or of strings kept by the test.
std::vector<asio::const_buffer> buffers_of(std::initializer_list<std::string_view> parts) {
    std::vector<asio::const_buffer> buffers;
    for (const auto& part : parts)
        buffers.push_back(asio::buffer(part));
    return buffers;
}

// Where the kernel refuses io_uring nothing can be batched, and a batch queues nothing.
bool io_uring_here() {
    if (SendBatch::ring_open_on_this_thread()) return true;
    BOOST_TEST_MESSAGE("io_uring is refused on this machine: only the fallback is checked");
    SendBatch batch;
    Connection connection;
    BOOST_TEST(
        !SendBatch::queue(connection.server, buffers_of({"x"}), std::make_shared<Recorder>()));
    return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(outside_a_batch_nothing_is_queued) {
    Connection connection;
    auto sender = std::make_shared<Recorder>();
    BOOST_TEST(!SendBatch::queue(connection.server, buffers_of({"x"}), sender));
    BOOST_TEST(sender->results.empty());
}

BOOST_AUTO_TEST_CASE(every_write_leaves_at_the_end_of_the_batch) {
    if (!io_uring_here()) return;
    std::vector<Connection> connections(20);
    std::vector<std::shared_ptr<Recorder>> senders;
    const std::initializer_list<std::string_view> parts{"\x81\x05", "hello", " and more"};
    {
        SendBatch batch;
        for (auto& connection : connections) {
            senders.push_back(std::make_shared<Recorder>());
            BOOST_TEST(SendBatch::queue(connection.server, buffers_of(parts), senders.back()));
        }
        for (auto& connection : connections)
            BOOST_TEST(connection.received().empty());  // not before the end
        for (auto& sender : senders)
            BOOST_TEST(sender->results.empty());
    }
    for (std::size_t i = 0; i < connections.size(); ++i) {
        BOOST_TEST(senders[i]->results == std::vector<int>{16});
        BOOST_TEST(connections[i].received() == "\x81\x05hello and more");
    }
}

BOOST_AUTO_TEST_CASE(a_batch_holds_256_writes_sent_in_order) {
    if (!io_uring_here()) return;
    Connection connection;
    std::vector<std::string> texts;
    for (int i = 0; i < 257; ++i)
        texts.push_back(std::to_string(i) + ",");
    auto sender = std::make_shared<Recorder>();
    std::string expected;
    {
        SendBatch batch;
        for (int i = 0; i < 256; ++i) {
            BOOST_TEST(SendBatch::queue(connection.server, buffers_of({texts[i]}), sender));
            expected += texts[i];
        }
        BOOST_TEST(!SendBatch::queue(connection.server, buffers_of({texts[256]}), sender));
    }
    BOOST_TEST(sender->results.size() == 256u);
    BOOST_TEST(connection.received() == expected);
}

BOOST_AUTO_TEST_CASE(a_full_socket_hears_eagain_and_a_partial_write_its_bytes) {
    if (!io_uring_here()) return;
    Connection connection;
    int small = 4096;
    ::setsockopt(connection.server, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(connection.client, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    const std::string big(8 << 20, 'x');  // far more than both buffers hold
    auto sender = std::make_shared<Recorder>();
    // The first write fills the buffers and sends part; the kernel may still move some to the
    // reader's side, so a few more may take a little before one finds no room at all.
    for (int i = 0; i < 100 && (sender->results.empty() || sender->results.back() > 0); ++i) {
        SendBatch batch;
        BOOST_TEST(SendBatch::queue(connection.server, buffers_of({big}), sender));
    }
    BOOST_REQUIRE(sender->results.size() >= 2u);
    BOOST_TEST(sender->results.front() > 0);
    BOOST_TEST(sender->results.front() < static_cast<int>(big.size()));
    BOOST_TEST(sender->results.back() == -EAGAIN);
}

BOOST_AUTO_TEST_CASE(a_closed_descriptor_hears_its_error) {
    if (!io_uring_here()) return;
    int gone = ::socket(AF_INET, SOCK_STREAM, 0);
    ::close(gone);
    auto sender = std::make_shared<Recorder>();
    {
        SendBatch batch;
        BOOST_TEST(SendBatch::queue(gone, buffers_of({"x"}), sender));
    }
    BOOST_TEST(sender->results == std::vector<int>{-EBADF});
}

BOOST_AUTO_TEST_CASE(nested_batches_send_at_the_outermost_end) {
    if (!io_uring_here()) return;
    Connection connection;
    auto sender = std::make_shared<Recorder>();
    {
        SendBatch outer;
        {
            SendBatch inner;
            BOOST_TEST(SendBatch::queue(connection.server, buffers_of({"abc"}), sender));
        }
        BOOST_TEST(sender->results.empty());
        BOOST_TEST(connection.received().empty());
    }
    BOOST_TEST(sender->results == std::vector<int>{3});
    BOOST_TEST(connection.received() == "abc");
}

// A sender that writes again from sent() finds the batch closed, so it writes at once.
BOOST_AUTO_TEST_CASE(a_sender_writing_again_from_sent_finds_no_batch) {
    if (!io_uring_here()) return;
    struct Again : BatchedSender {
        int socket = -1;
        bool queued_again = true;
        void sent(int) override {
            queued_again =
                SendBatch::queue(socket, buffers_of({"y"}), std::make_shared<Recorder>());
        }
    };
    Connection connection;
    auto sender = std::make_shared<Again>();
    sender->socket = connection.server;
    {
        SendBatch batch;
        BOOST_TEST(SendBatch::queue(connection.server, buffers_of({"x"}), sender));
    }
    BOOST_TEST(!sender->queued_again);
}

BOOST_AUTO_TEST_CASE(with_the_setting_off_no_batch_opens) {
    Connection connection;
    SendBatch::enable(false);
    {
        SendBatch batch;
        BOOST_TEST(
            !SendBatch::queue(connection.server, buffers_of({"x"}), std::make_shared<Recorder>()));
    }
    SendBatch::enable(true);
    BOOST_TEST(SendBatch::enabled());
}

namespace {

// From now on this process's io_uring_enter() fails with EPERM (a seccomp filter, as a
// container runtime's may be); the ring was opened before.
bool refuse_io_uring_enter() {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
           ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

constexpr int kNoSeccomp = 100;  // the kernel lets no filter be installed here

// In a child (the filter and a given-up ring are for good): 0 when a refused submission
// reported -EAGAIN, sent nothing, and no batch opened afterwards; otherwise which step failed.
int refused_submission_in_a_child() {
    if (!refuse_io_uring_enter()) return kNoSeccomp;
    Connection connection;
    auto sender = std::make_shared<Recorder>();
    {
        SendBatch batch;
        if (!SendBatch::queue(connection.server, buffers_of({"hello"}), sender)) return 2;
    }
    if (sender->results != std::vector<int>{-EAGAIN}) return 3;
    if (!connection.received().empty()) return 4;
    SendBatch batch;
    if (SendBatch::queue(connection.server, buffers_of({"again"}), sender)) return 5;
    return 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_refused_submission_leaves_the_bytes_to_the_stream_and_batching_stops) {
    if (!io_uring_here()) return;
    pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) ::_exit(refused_submission_in_a_child());
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    BOOST_REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == kNoSeccomp) {
        BOOST_TEST_MESSAGE("no seccomp filter can be installed here: not checked");
        return;
    }
    BOOST_TEST(WEXITSTATUS(status) == 0, "failed at step " << WEXITSTATUS(status));
}
