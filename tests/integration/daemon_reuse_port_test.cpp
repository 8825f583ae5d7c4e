// reuse_port (SO_REUSEPORT): two daemons listen on one port and the kernel spreads new
// connections between them (GET / names the process that answered); without it the second
// daemon cannot start, and says why.
#define BOOST_TEST_MODULE daemon_reuse_port
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <set>

using namespace tickerd::testing;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(two_daemons_share_a_port_with_reuse_port) {
    auto port = free_port();
    auto listen = "127.0.0.1:" + std::to_string(port);
    DaemonOptions options;
    options.listen = listen;
    options.env = {{"TICKERD_REUSE_PORT", "true"}};
    DaemonProcess first(options);
    first.wait_ready();
    DaemonProcess second(options);
    second.wait_ready();

    std::set<int64_t> answered_by;
    for (int i = 0; i < 40 && answered_by.size() < 2; ++i) {
        HttpClient http("127.0.0.1", port);  // a new connection each time
        auto status = http.get("/");
        BOOST_TEST_REQUIRE(status.status == 200u);
        answered_by.insert(status.json().at("pid").as_int64());
    }
    BOOST_TEST(answered_by == (std::set<int64_t>{first.pid(), second.pid()}));

    // Without it, the port is taken.
    auto refused = run_daemon_command({"--listen", listen}, {}, 20s);
    BOOST_TEST(!refused.status.success());
    BOOST_TEST(refused.output.find("in use") != std::string::npos, refused.output);
}
