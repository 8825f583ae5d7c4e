// Operating the daemon with signals: SIGHUP reloads the config file (a good one takes
// effect, a bad one is refused and the running one kept) and rescans the plugin folders;
// SIGUSR1 logs a status dump.
#define BOOST_TEST_MODULE daemon_signals
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

namespace json = boost::json;
using namespace tickerd::testing;
using namespace std::chrono_literals;

namespace {

json::value config_with_vendors(std::initializer_list<const char*> names) {
    json::array vendors;
    for (const char* name : names)
        vendors.push_back({{"name", name}, {"plugin", "mock"}});
    return {{"vendors", std::move(vendors)}};
}

std::set<std::string> instance_names(HttpClient& http) {
    std::set<std::string> names;
    auto vendors = http.get("/streaming/config/vendors").json();
    for (const auto& instance : vendors.at("instances").as_array())
        names.insert(std::string(instance.at("name").as_string()));
    return names;
}

// What systemd listens on for sd_notify: a unix datagram socket named by NOTIFY_SOCKET.
class NotifySocket {
  public:
    explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw std::runtime_error("cannot bind the notify socket");
        timeval step{0, 100'000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &step, sizeof step);
    }
    ~NotifySocket() { ::close(fd_); }

    // Datagrams until one contains `what` (kept in `seen`), or `timeout`.
    bool wait_for(const std::string& what, std::chrono::milliseconds timeout) {
        auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            char buffer[4096];
            auto n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) continue;
            seen.emplace_back(buffer, static_cast<std::size_t>(n));
            if (seen.back().find(what) != std::string::npos) return true;
        }
        return false;
    }
    std::string path() const { return path_.string(); }
    std::vector<std::string> seen;

  private:
    std::filesystem::path path_;
    int fd_ = -1;
};

}  // namespace

BOOST_AUTO_TEST_CASE(systemd_hears_ready_watchdog_reloading_and_stopping) {
    TempDir files("tickerd-notify");
    NotifySocket systemd(files.path() / "notify");
    DaemonOptions options;
    options.env = {{"NOTIFY_SOCKET", systemd.path()}, {"WATCHDOG_USEC", "200000"}};
    DaemonProcess daemon(options);
    daemon.wait_ready();
    BOOST_TEST_REQUIRE(systemd.wait_for("READY=1", 5s));
    BOOST_TEST(systemd.seen.back().find("STATUS=listening on port") != std::string::npos);
    // WatchdogSec=0.2 s: a ping every 0.1 s.
    BOOST_TEST(systemd.wait_for("WATCHDOG=1", 1s));
    BOOST_TEST(systemd.wait_for("WATCHDOG=1", 1s));

    ::kill(daemon.pid(), SIGHUP);
    BOOST_TEST(systemd.wait_for("RELOADING=1", 5s));
    BOOST_TEST(systemd.wait_for("READY=1", 5s));

    auto exit = daemon.terminate();
    BOOST_TEST(systemd.wait_for("STOPPING=1", 2s));
    BOOST_TEST_REQUIRE(exit.has_value());
    BOOST_TEST(exit->success(), describe(*exit));
}

BOOST_AUTO_TEST_CASE(sighup_reloads_a_good_config_and_keeps_the_running_one_for_a_bad_one) {
    TempDir files("tickerd-signals");
    DaemonOptions options;
    options.config_file = write_config(files, config_with_vendors({"mock_a"}), "tickerd.json");
    DaemonProcess daemon(options);
    daemon.wait_ready();
    HttpClient http("127.0.0.1", daemon.port());
    BOOST_TEST((instance_names(http) == std::set<std::string>{"mock_a"}));

    // A good new config: a second vendor instance appears, the first one is kept.
    write_config(files, config_with_vendors({"mock_a", "mock_b"}), "tickerd.json");
    ::kill(daemon.pid(), SIGHUP);
    BOOST_TEST(wait_until(
        [&] {
            return instance_names(http) == std::set<std::string>{"mock_a", "mock_b"};
        },
        5s));
    BOOST_TEST(wait_until(
        [&] { return count_occurrences(daemon.log(), "SIGHUP: config reloaded") == 1; }, 5s));

    // A broken one: refused with one clear line, the running config stays.
    std::ofstream(*options.config_file, std::ios::trunc) << R"({"vendors": [{"name": )";
    ::kill(daemon.pid(), SIGHUP);
    BOOST_TEST(wait_until(
        [&] { return count_occurrences(daemon.log(), "SIGHUP: the new config is refused") == 1; },
        5s));
    BOOST_TEST((instance_names(http) == std::set<std::string>{"mock_a", "mock_b"}));
    // Unknown keys are refused the same way, naming the key.
    write_config(files, {{"vendors", json::array{}}, {"colour", "blue"}}, "tickerd.json");
    ::kill(daemon.pid(), SIGHUP);
    BOOST_TEST(wait_until(
        [&] { return count_occurrences(daemon.log(), "colour: unknown key") == 1; }, 5s));
    BOOST_TEST((instance_names(http) == std::set<std::string>{"mock_a", "mock_b"}));
    BOOST_TEST(daemon.running());
    BOOST_TEST(http.get("/").status == 200);
}

BOOST_AUTO_TEST_CASE(sigusr1_logs_a_status_dump) {
    DaemonProcess daemon;
    daemon.wait_ready();
    ::kill(daemon.pid(), SIGUSR1);
    std::string line;
    BOOST_TEST_REQUIRE(wait_until(
        [&] {
            auto log = daemon.log();
            auto at = log.find("SIGUSR1: status ");
            if (at == std::string::npos) return false;
            line = log.substr(at + 16, log.find('\n', at) - at - 16);
            return true;
        },
        5s));
    auto status = json::parse(line);
    BOOST_TEST(status.at("name").as_string() == "tickerd");
    BOOST_TEST(status.at("plugins").at("loaded").to_number<int>() >= 1);
    BOOST_TEST(daemon.running());
}
