// The third-party plugin path: the SDK is installed on its own (as the tickerd-dev package
// installs it), the plugin template is copied out of the tree and built against it with
// find_package(tickerd-sdk), and the .so dropped into a running daemon's plugin folder
// starts serving without a restart.
#define BOOST_TEST_MODULE daemon_sdk
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;
using namespace tickerd::testing;
using namespace std::chrono_literals;

namespace {

// Runs a command to completion (output in <dir>/<name>.log); fails the test when it fails.
void run(const TempDir& dir, const std::string& name, std::vector<std::string> argv) {
    auto log = dir.path() / (name + ".log");
    auto pid = spawn_process(std::move(argv), {}, log);
    auto status = reap_process(pid, 120s);
    BOOST_TEST_REQUIRE((status && status->success()), name << " failed:\n" << read_file(log));
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_plugin_built_against_the_installed_sdk_serves_when_dropped_in) {
    TempDir work("tickerd-sdk");
    auto prefix = work.path() / "prefix";
    run(work, "install",
        {TICKERD_CMAKE_COMMAND, "--install", TICKERD_BUILD_DIR, "--component", "sdk", "--prefix",
         prefix.string()});
    BOOST_TEST(fs::exists(prefix / "include/tickerd/abi.h"));
    BOOST_TEST(fs::exists(prefix / "lib/cmake/tickerd-sdk/tickerd-sdkConfig.cmake"));

    // The template, copied where nothing of the source tree is in reach.
    auto source = work.path() / "hello";
    fs::copy(prefix / "share/tickerd/plugin-template", source, fs::copy_options::recursive);
    auto build = work.path() / "hello-build";
    run(work, "configure",
        {TICKERD_CMAKE_COMMAND, "-S", source.string(), "-B", build.string(), "-G",
         TICKERD_CMAKE_GENERATOR, "-DCMAKE_PREFIX_PATH=" + prefix.string()});
    run(work, "build", {TICKERD_CMAKE_COMMAND, "--build", build.string()});
    BOOST_TEST_REQUIRE(fs::exists(build / "hello.so"));
    // As `install -m 755` would leave it: the daemon refuses a plugin that group or others
    // can write, which the linker's output is under a umask of 002.
    auto built = work.path() / "hello.so";
    fs::copy_file(build / "hello.so", built);
    fs::permissions(built, fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove);

    // A daemon with an empty drop-in folder, then the plugin copied in.
    auto drop_in = work.folder("vendors");
    DaemonOptions options;
    options.config_file = write_config(
        work, {{"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
               {"cadences", {{"market_data", {{"interval_seconds", 0.2}}}}}});
    options.env = {{"AUTO_START_WORKERS", "true"}};
    options.plugin_dirs = std::vector<fs::path>{drop_in};
    DaemonProcess daemon(options);
    daemon.wait_ready();
    HttpClient http("127.0.0.1", daemon.port());

    auto dropped_at = std::chrono::steady_clock::now();
    fs::copy_file(built, drop_in / "hello.so");
    std::optional<boost::json::value> message;
    wait_until(
        [&] {
            auto latest = http.get("/streaming/latest/stream:market_data:AAPL").json();
            if (!latest.at("message").is_object()) return false;
            message = latest.at("message");
            return true;
        },
        5s, 10ms);
    BOOST_TEST_REQUIRE(message.has_value(), daemon.log_tail());
    BOOST_TEST_MESSAGE(
        "drop-in to first message: "
        << std::chrono::duration<double>(std::chrono::steady_clock::now() - dropped_at).count()
        << " s");
    BOOST_TEST(message->at("vendor").as_string() == "hello");
    BOOST_TEST(message->at("data").at("price").to_number<double>() == 42.0);
    BOOST_TEST(daemon.log().find("hello vendor ready as hello") != std::string::npos);
}
