// The runner protocol's codec and socket loop, over a real socketpair: fields come back as
// written, a short payload is caught, frames cross both ways, and garbage or an oversized
// frame ends the conversation as a protocol error.
#define BOOST_TEST_MODULE isolation_protocol
#include <boost/test/unit_test.hpp>

#include "isolation/protocol.hpp"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <future>
#include <thread>

using namespace tickerd::isolation;
using namespace std::chrono_literals;

namespace {

struct Pair {
    int fds[2];
    Pair() { BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(fields_read_back_as_written) {
    auto frame = Writer()
                     .u8(7)
                     .u32(0xdeadbeef)
                     .i32(-5)
                     .i64(-1234567890123)
                     .str("héllo")
                     .str("")
                     .frame(FrameType::result);
    BOOST_TEST((frame.type == FrameType::result));
    Reader in(frame.payload);
    BOOST_TEST(in.u8() == 7);
    BOOST_TEST(in.u32() == 0xdeadbeefu);
    BOOST_TEST(in.i32() == -5);
    BOOST_TEST(in.i64() == -1234567890123);
    BOOST_TEST(in.str() == "héllo");
    BOOST_TEST(in.str() == "");
    BOOST_TEST(in.done());
}

BOOST_AUTO_TEST_CASE(a_short_payload_is_caught) {
    auto frame = Writer().u32(10).str("abc").frame(FrameType::log);
    Reader in(std::string_view(frame.payload).substr(0, frame.payload.size() - 1));
    in.u32();
    BOOST_TEST(in.str() == "");  // the string claims more than is left
    BOOST_TEST(!in.ok());
    BOOST_TEST(!in.done());
    Reader extra(frame.payload);
    extra.u32();
    BOOST_TEST(!extra.done());  // a field left unread
}

BOOST_AUTO_TEST_CASE(frames_cross_both_ways_and_a_close_ends_the_loop) {
    Pair pair;
    Channel a(pair.fds[0], 1 << 20), b(pair.fds[1], 1 << 20);
    std::promise<std::string> got;
    auto b_done = std::async(std::launch::async, [&] {
        return b.run([&](Frame&& frame) {
            Reader in(frame.payload);
            got.set_value(in.str());
            b.send(Writer().str("pong").frame(FrameType::created));
            return true;
        });
    });
    std::string answer;
    auto a_done = std::async(std::launch::async, [&] {
        return a.run([&](Frame&& frame) {
            answer = Reader(frame.payload).str();
            a.stop();
            return true;
        });
    });
    BOOST_TEST(a.send(Writer().str(std::string(200000, 'x')).frame(FrameType::fetch)));
    auto future = got.get_future();
    BOOST_REQUIRE((future.wait_for(5s) == std::future_status::ready));
    BOOST_TEST(future.get().size() == 200000u);
    BOOST_REQUIRE((a_done.wait_for(5s) == std::future_status::ready));
    BOOST_TEST(a_done.get() == "stopped");
    BOOST_TEST(answer == "pong");
    BOOST_TEST(!a.send(Writer().frame(FrameType::cancel)));  // closed: nothing more is queued
    b.stop();
    BOOST_REQUIRE((b_done.wait_for(5s) == std::future_status::ready));
}

BOOST_AUTO_TEST_CASE(garbage_is_a_protocol_error) {
    for (std::string garbage :
         {std::string("\x05\x00\x00\x00\x4dhello", 10), std::string("\xff\xff\xff\xff\x03", 5)}) {
        Pair pair;
        Channel reader(pair.fds[0], 1 << 20);
        BOOST_REQUIRE(::write(pair.fds[1], garbage.data(), garbage.size()) ==
                      static_cast<ssize_t>(garbage.size()));
        auto why = reader.run([](Frame&&) { return true; });
        BOOST_TEST(why.starts_with("protocol error"), why);
        ::close(pair.fds[1]);
    }
}

BOOST_AUTO_TEST_CASE(the_queue_is_bounded) {
    Pair pair;
    Channel channel(pair.fds[0], 1000);
    BOOST_TEST(channel.send(Writer().str(std::string(900, 'x')).frame(FrameType::log)));
    BOOST_TEST(!channel.send(Writer().str(std::string(900, 'x')).frame(FrameType::log)));
    ::close(pair.fds[1]);
}

BOOST_AUTO_TEST_CASE(wait_statuses_are_named) {
    auto status_of = [](auto child) {
        pid_t pid = ::fork();
        if (pid == 0) child();
        int status = 0;
        ::waitpid(pid, &status, 0);
        return describe_wait_status(status);
    };
    BOOST_TEST(status_of([] { std::_Exit(3); }) == "exited with code 3");
    BOOST_TEST(status_of([] {
                   ::signal(SIGSEGV, SIG_DFL);
                   ::raise(SIGSEGV);
                   std::_Exit(0);
               }).starts_with("killed by SIGSEGV"));
    BOOST_TEST(status_of([] {
                   ::raise(SIGKILL);
                   std::_Exit(0);
               }) == "killed by SIGKILL");
}
