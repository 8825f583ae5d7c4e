// Operating the daemon with signals: SIGHUP reloads the config file (a good one takes
// effect, a bad one is refused and the running one kept) and rescans the plugin folders;
// SIGUSR1 logs a status dump.
#define BOOST_TEST_MODULE daemon_signals
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <signal.h>

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

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

}  // namespace

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
    BOOST_TEST(wait_until([&] { return count(daemon.log(), "SIGHUP: config reloaded") == 1; }, 5s));

    // A broken one: refused with one clear line, the running config stays.
    std::ofstream(*options.config_file, std::ios::trunc) << R"({"vendors": [{"name": )";
    ::kill(daemon.pid(), SIGHUP);
    BOOST_TEST(wait_until(
        [&] { return count(daemon.log(), "SIGHUP: the new config is refused") == 1; }, 5s));
    BOOST_TEST((instance_names(http) == std::set<std::string>{"mock_a", "mock_b"}));
    // Unknown keys are refused the same way, naming the key.
    write_config(files, {{"vendors", json::array{}}, {"colour", "blue"}}, "tickerd.json");
    ::kill(daemon.pid(), SIGHUP);
    BOOST_TEST(wait_until([&] { return count(daemon.log(), "colour: unknown key") == 1; }, 5s));
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
