// tickerctl against the real daemon (CONTRACT.md §9): the built client runs as a child
// process, and what each command changes is checked through the API, not only its exit
// status. Also: --json that parses, the exit statuses (1 with the daemon's detail, 2 for
// usage, 3 when nothing answers), and the credential from the flag, the environment and
// cli.json against a daemon with auth on.
#define BOOST_TEST_MODULE tickerctl
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kAdminKey = "tickerctl-admin-key-0123456789";
const std::string kSignals = "stream:signals:AAPL";
const std::string kAaplQuotes = "stream:market_data:AAPL";

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

struct CtlResult {
    ExitStatus status;
    std::string out;
    std::string err;

    int code() const { return status.exited ? status.code : -1; }
    json::value json() const {
        try {
            return json::parse(out);
        } catch (const std::exception& e) {
            BOOST_FAIL("not JSON (" << e.what() << "): " << out << " / stderr: " << err);
            throw;
        }
    }
};

std::ostream& operator<<(std::ostream& os, const CtlResult& result) {
    return os << describe(result.status) << "\nstdout: " << result.out
              << "\nstderr: " << result.err;
}

// A run of the built tickerctl with a clean environment: only PATH, a private
// XDG_CONFIG_HOME (so no user's cli.json is read) and `env`.
class Ctl {
  public:
    std::filesystem::path config_home() const { return home_.path(); }

    pid_t start(const std::vector<std::string>& args, const EnvVars& env = {}) {
        ++runs_;
        out_file_ = home_ / ("out" + std::to_string(runs_));
        err_file_ = home_ / ("err" + std::to_string(runs_));
        std::vector<std::string> argv{TICKERCTL_BINARY};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<std::string> environment{"PATH=/usr/bin:/bin",
                                             "XDG_CONFIG_HOME=" + home_.path().string()};
        for (const auto& [name, value] : env)
            environment.push_back(name + "=" + value);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, out_file_.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&actions, 2, err_file_.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        auto argv_c = pointers(argv);
        auto env_c = pointers(environment);
        pid_t pid = -1;
        int rc =
            posix_spawn(&pid, argv.front().c_str(), &actions, nullptr, argv_c.data(), env_c.data());
        posix_spawn_file_actions_destroy(&actions);
        BOOST_REQUIRE_MESSAGE(rc == 0, "posix_spawn tickerctl: " << rc);
        return pid;
    }

    CtlResult finish(pid_t pid, std::chrono::milliseconds timeout = 15s) {
        auto status = reap_process(pid, timeout);
        if (!status) {
            ::kill(pid, SIGKILL);
            status = reap_process(pid, 5s);
            BOOST_ERROR("tickerctl did not finish in time");
        }
        return {status.value_or(ExitStatus{}), read_file(out_file_), read_file(err_file_)};
    }

    // The stdout of the last run started, as far as it has written it.
    std::string output_so_far() const { return read_file(out_file_); }

    CtlResult run(const std::vector<std::string>& args, const EnvVars& env = {}) {
        return finish(start(args, env));
    }

  private:
    static std::vector<char*> pointers(std::vector<std::string>& strings) {
        std::vector<char*> out;
        for (auto& s : strings)
            out.push_back(s.data());
        out.push_back(nullptr);
        return out;
    }

    TempDir home_{"tickerctl-home"};
    std::filesystem::path out_file_, err_file_;
    int runs_ = 0;
};

// A daemon without auth: the mock polls AAPL's market data every 0.2 s; `signals` is a
// published type.
struct OpenDaemon {
    TempDir files{"tickerctl-open"};
    std::unique_ptr<DaemonProcess> daemon;

    OpenDaemon() {
        json::object config{
            {"vendors", mock_vendors()},
            {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
            {"cadences", {{"market_data", {{"interval_seconds", 0.2}}}}},
            {"published_types", {"signals"}}};
        DaemonOptions options;
        options.config_file = write_config(files, config);
        options.env = {{"AUTO_START_WORKERS", "true"}};
        daemon = std::make_unique<DaemonProcess>(options);
        daemon->wait_ready();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(daemon->port()); }
    HttpClient http() const { return HttpClient("127.0.0.1", daemon->port()); }
};

OpenDaemon& open_daemon() {
    static OpenDaemon instance;
    return instance;
}

// tickerctl --url <the open daemon> args…
CtlResult ctl(const std::vector<std::string>& args, const EnvVars& env = {}) {
    std::vector<std::string> all{"--url", open_daemon().url()};
    all.insert(all.end(), args.begin(), args.end());
    return Ctl().run(all, env);
}

std::string worker_status(const std::string& id) {
    auto response = open_daemon().http().get("/streaming/config/workers/" + id);
    BOOST_REQUIRE_EQUAL(response.status, 200u);
    return text_at(response.json(), "/status");
}

// A port nothing listens on: bound, then closed.
unsigned short unused_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

}  // namespace

BOOST_AUTO_TEST_CASE(status_and_the_listings_print_tables_and_json) {
    auto status = ctl({"status"});
    BOOST_TEST(status.code() == 0, status);
    BOOST_TEST(contains(status.out, "tickerd " TICKERD_VERSION), status);
    BOOST_TEST(contains(status.out, " of 5 running"), status);

    auto json_status = ctl({"status", "--json"});
    BOOST_TEST_REQUIRE(json_status.code() == 0, json_status);
    BOOST_TEST(text_at(json_status.json(), "/version") == TICKERD_VERSION);
    BOOST_TEST(number_at(json_status.json(), "/workers/total") == 5);

    auto workers = ctl({"workers", "ls", "--json"});
    BOOST_TEST_REQUIRE(workers.code() == 0, workers);
    BOOST_TEST(workers.json().as_array().size() == 5u);
    BOOST_TEST(text_at(workers.json(), "/0/worker_id") == "worker_market_data");
    auto table = ctl({"workers", "ls"});
    BOOST_TEST(table.out.starts_with("WORKER"), table);
    BOOST_TEST(contains(table.out, "worker_market_data"), table);

    auto instruments = ctl({"--json", "instruments", "ls"});
    BOOST_TEST_REQUIRE(instruments.code() == 0, instruments);
    BOOST_TEST(text_at(instruments.json(), "/0/symbol") == "AAPL");

    auto cadences = ctl({"cadences", "ls", "--json"});
    BOOST_TEST_REQUIRE(cadences.code() == 0, cadences);
    BOOST_TEST(cadences.json().as_array().size() == 5u);

    auto vendors = ctl({"vendors", "ls", "--json"});
    BOOST_TEST_REQUIRE(vendors.code() == 0, vendors);
    BOOST_TEST(text_at(vendors.json(), "/plugins/0/name") == "mock");
    BOOST_TEST(text_at(vendors.json(), "/instances/0/plugin") == "mock");
    auto vendor_table = ctl({"vendors", "ls"});
    BOOST_TEST(contains(vendor_table.out, "PLUGIN"), vendor_table);
    BOOST_TEST(contains(vendor_table.out, "mock"), vendor_table);
}

BOOST_AUTO_TEST_CASE(workers_start_and_stop_change_the_workers) {
    auto stopped = ctl({"workers", "stop", "news", "--json"});
    BOOST_TEST_REQUIRE(stopped.code() == 0, stopped);
    BOOST_TEST(worker_status("worker_news") == "stopped");

    auto started = ctl({"workers", "start", "worker_news", "--json"});
    BOOST_TEST_REQUIRE(started.code() == 0, started);
    BOOST_TEST(text_at(started.json(), "/worker_id") == "worker_news");
    BOOST_TEST(worker_status("worker_news") != "stopped");

    auto all_stopped = ctl({"workers", "stop-all"});
    BOOST_TEST_REQUIRE(all_stopped.code() == 0, all_stopped);
    for (auto id : {"worker_market_data", "worker_news", "worker_analytics"})
        BOOST_TEST(worker_status(id) == "stopped", id);

    auto all_started = ctl({"workers", "start-all"});
    BOOST_TEST_REQUIRE(all_started.code() == 0, all_started);
    BOOST_TEST(worker_status("worker_fundamentals") != "stopped");
    // The other cases need only the market data worker: less work for a shared daemon.
    for (auto type : {"news", "fundamentals", "analytics", "insider_data"})
        BOOST_TEST(ctl({"workers", "stop", type}).code() == 0);

    auto unknown = ctl({"workers", "start", "nonsense"});
    BOOST_TEST(unknown.code() == 1, unknown);
    BOOST_TEST(contains(unknown.err, "Worker worker_nonsense not found"), unknown);
}

BOOST_AUTO_TEST_CASE(instruments_add_and_rm_change_the_configuration) {
    auto added = ctl({"instruments", "add", "msft", "--data-types", "market_data,news", "--json"});
    BOOST_TEST_REQUIRE(added.code() == 0, added);
    BOOST_TEST(text_at(added.json(), "/symbol") == "MSFT");
    auto stored = open_daemon().http().get("/streaming/config/instruments/MSFT");
    BOOST_TEST_REQUIRE(stored.status == 200u, stored.body);
    BOOST_TEST(text_at(stored.json(), "/data_types/1") == "news");

    auto table = ctl({"instruments", "add", "BRK-B", "--disabled"});
    BOOST_TEST(table.code() == 0, table);
    BOOST_TEST(contains(table.out, "BRK-B"), table);
    auto disabled = open_daemon().http().get("/streaming/config/instruments/BRK-B");
    BOOST_TEST(find_path(disabled.json(), "/enabled")->as_bool() == false);

    for (auto symbol : {"MSFT", "BRK-B"}) {
        auto removed = ctl({"instruments", "rm", symbol});
        BOOST_TEST(removed.code() == 0, removed);
        BOOST_TEST(open_daemon()
                       .http()
                       .get(std::string("/streaming/config/instruments/") + symbol)
                       .status == 404u);
    }

    // Exit 1 with the daemon's detail.
    auto again = ctl({"instruments", "rm", "MSFT"});
    BOOST_TEST(again.code() == 1, again);
    BOOST_TEST(contains(again.err, "404"), again);
    BOOST_TEST(contains(again.err, "Instrument MSFT not found"), again);
    auto invalid = ctl({"instruments", "add", "AAPL", "--data-types", "weather"});
    BOOST_TEST(invalid.code() == 1, invalid);
    BOOST_TEST(contains(invalid.err, "data_types"), invalid);
}

BOOST_AUTO_TEST_CASE(cadences_set_changes_only_the_interval) {
    auto before = open_daemon().http().get("/streaming/config/cadences/news").json();
    auto set = ctl({"cadences", "set", "news", "120", "--json"});
    BOOST_TEST_REQUIRE(set.code() == 0, set);
    BOOST_TEST(number_at(set.json(), "/interval_seconds") == 120);
    auto after = open_daemon().http().get("/streaming/config/cadences/news").json();
    BOOST_TEST(number_at(after, "/interval_seconds") == 120);
    BOOST_TEST(number_at(after, "/retry_attempts") == number_at(before, "/retry_attempts"));

    auto table = ctl({"cadences", "ls"});
    BOOST_TEST(contains(table.out, "INTERVAL"), table);
    auto unknown = ctl({"cadences", "set", "weather", "5"});
    BOOST_TEST(unknown.code() == 1, unknown);
    BOOST_TEST(contains(unknown.err, "unknown data type 'weather'"), unknown);
}

BOOST_AUTO_TEST_CASE(vendors_reload_rescans_the_plugin_folders) {
    auto reload = ctl({"vendors", "reload", "--json"});
    BOOST_TEST_REQUIRE(reload.code() == 0, reload);
    BOOST_TEST(find_path(reload.json(), "/rescan/took_ms") != nullptr, reload);
    auto table = ctl({"vendors", "reload"});
    BOOST_TEST(table.code() == 0, table);
    BOOST_TEST(contains(table.out, "reloaded"), table);
}

BOOST_AUTO_TEST_CASE(tail_prints_a_line_per_message_and_stops_after_count) {
    auto tail = ctl({"tail", kAaplQuotes, "--count", "3"});
    BOOST_TEST_REQUIRE(tail.code() == 0, tail);
    std::istringstream lines(tail.out);
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) {
        ++count;
        auto id = line.substr(0, line.find(' '));
        BOOST_TEST(parse_message_id(id).has_value(), line);
        BOOST_TEST(contains(line, kAaplQuotes), line);
        BOOST_TEST(contains(line, " symbol=AAPL price="), line);
    }
    BOOST_TEST(count == 3, tail);
}

BOOST_AUTO_TEST_CASE(tail_ends_with_0_on_ctrl_c) {
    Ctl tailer;
    auto pid = tailer.start({"--url", open_daemon().url(), "tail", kAaplQuotes});
    BOOST_TEST_REQUIRE(
        wait_until([&] { return count_occurrences(tailer.output_so_far(), "\n") >= 1; }, 10s),
        tailer.output_so_far());
    ::kill(pid, SIGINT);
    auto tail = tailer.finish(pid, 5s);
    BOOST_TEST(tail.code() == 0, tail);
}

BOOST_AUTO_TEST_CASE(publish_is_seen_by_tail_and_latest) {
    auto first = ctl({"publish", kSignals, R"({"score": 1})", "--json"});
    BOOST_TEST_REQUIRE(first.code() == 0, first);
    auto first_id = text_at(first.json(), "/id");
    auto latest = open_daemon().http().get("/streaming/latest/" + kSignals).json();
    BOOST_TEST(text_at(latest, "/message/id") == first_id);
    BOOST_TEST(number_at(latest, "/message/data/score") == 1);

    // The stream opens with the latest message, then what is published after it.
    Ctl tailer;
    auto pid =
        tailer.start({"--url", open_daemon().url(), "--json", "tail", kSignals, "--count", "2"});
    // Its first line is the latest message; publish the next one once it is there.
    BOOST_TEST_REQUIRE(
        wait_until([&] { return count_occurrences(tailer.output_so_far(), "\n") >= 1; }, 10s),
        tailer.output_so_far());
    auto second = ctl({"publish", kSignals, R"({"score": 2})"});
    BOOST_TEST(second.code() == 0, second);
    BOOST_TEST(contains(second.out, "published "), second);
    auto tail = tailer.finish(pid);
    BOOST_TEST_REQUIRE(tail.code() == 0, tail);
    std::istringstream lines(tail.out);
    std::string line;
    std::vector<json::value> messages;
    while (std::getline(lines, line))
        messages.push_back(json::parse(line));
    BOOST_TEST_REQUIRE(messages.size() == 2u, tail);
    BOOST_TEST(text_at(messages[0], "/id") == first_id);
    BOOST_TEST(text_at(messages[1], "/channel") == kSignals);
    BOOST_TEST(number_at(messages[1], "/data/score") == 2);
    BOOST_TEST(text_at(messages[1], "/vendor") == "api");

    auto refused = ctl({"publish", "stream:weather:AAPL", R"({"x": 1})"});
    BOOST_TEST(refused.code() == 1, refused);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2_with_the_usage) {
    const std::vector<std::vector<std::string>> cases = {
        {},
        {"frobnicate"},
        {"workers"},
        {"status", "--frobnicate"},
        {"status", "extra"},
        {"instruments", "rm"},
        {"workers", "start"},
        {"cadences", "set", "news"},
        {"cadences", "set", "news", "soon"},
        {"status", "--count", "3"},
        {"tail"},
        {"tail", kAaplQuotes, "--count", "zero"},
        {"publish", kSignals, "{not json"},
        {"status", "--timeout", "-1"},
        {"status", "--url", "ftp://example.com"},
        {"status", "--token", "a", "--api-key", "b"},
    };
    for (const auto& args : cases) {
        BOOST_TEST_CONTEXT("tickerctl " << json::serialize(json::value_from(args))) {
            auto result = Ctl().run(args);
            BOOST_TEST(result.code() == 2, result);
            BOOST_TEST(contains(result.err, "usage: tickerctl"), result);
            BOOST_TEST(result.out.empty(), result);
        }
    }
}

BOOST_AUTO_TEST_CASE(help_names_each_command_and_exits_0) {
    auto general = Ctl().run({"--help"});
    BOOST_TEST(general.code() == 0, general);
    for (auto command : {"status", "workers start ID", "instruments add SYMBOL", "cadences set",
                         "vendors reload", "tail CHANNEL...", "publish CHANNEL JSON", "token"})
        BOOST_TEST(contains(general.out, command), command);
    auto one = Ctl().run({"instruments", "add", "--help"});
    BOOST_TEST(one.code() == 0, one);
    BOOST_TEST(contains(one.out, "usage: tickerctl instruments add SYMBOL"), one);
    BOOST_TEST(contains(one.out, "--data-types"), one);
    auto version = Ctl().run({"--version"});
    BOOST_TEST(contains(version.out, TICKERD_VERSION), version);
}

BOOST_AUTO_TEST_CASE(no_daemon_exits_3) {
    auto url = "http://127.0.0.1:" + std::to_string(unused_port());
    for (const auto& command : std::vector<std::vector<std::string>>{
             {"status"}, {"tail", kAaplQuotes}, {"publish", kSignals, "{}"}}) {
        std::vector<std::string> args{"--url", url};
        args.insert(args.end(), command.begin(), command.end());
        auto result = Ctl().run(args);
        BOOST_TEST(result.code() == 3, result);
        BOOST_TEST(contains(result.err, "cannot reach " + url), result);
    }
    // A name that does not resolve (.invalid never does; without DNS the timeout ends it).
    auto unresolved = Ctl().run({"--url", "http://tickerd.invalid", "--timeout", "2", "status"});
    BOOST_TEST(unresolved.code() == 3, unresolved);
    BOOST_TEST(contains(unresolved.err, "resolving tickerd.invalid"), unresolved);
    // A socket that accepts but never answers: the timeout ends the wait.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    auto silent_url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
    auto timed_out = Ctl().run({"--url", silent_url, "--timeout", "0.5", "status"});
    BOOST_TEST(timed_out.code() == 3, timed_out);
    BOOST_TEST(contains(timed_out.err, "timed out after 0.5 s"), timed_out);
}

// With auth on: no credential is a 401 (exit 1 with the detail); a key from the flag, from
// TICKERD_API_KEY or TICKERD_TOKEN, or from cli.json works, and a token it mints carries
// only the scopes asked for.
BOOST_AUTO_TEST_CASE(credentials_from_the_flag_the_environment_and_cli_json) {
    TempDir files("tickerctl-auth");
    json::object config{
        {"vendors", mock_vendors()},
        {"auth",
         {{"enabled", true},
          {"keys", {{{"name", "ops"}, {"sha256", sha256_hex(kAdminKey)}, {"scopes", {"admin"}}}}},
          {"jwt",
           {{"hs256_secret_file",
             files.write("jwt.secret", "a secret long enough for HS256 here\n").string()}}}}}};
    DaemonOptions options;
    options.config_file = write_config(files, config);
    DaemonProcess daemon(options);
    daemon.wait_ready();
    auto url = "http://127.0.0.1:" + std::to_string(daemon.port());

    Ctl ctl;
    auto anonymous = ctl.run({"--url", url, "instruments", "ls"});
    BOOST_TEST(anonymous.code() == 1, anonymous);
    BOOST_TEST(contains(anonymous.err, "401"), anonymous);

    BOOST_TEST(ctl.run({"--url", url, "--api-key", kAdminKey, "instruments", "ls"}).code() == 0);
    BOOST_TEST(
        ctl.run({"instruments", "ls"}, {{"TICKERD_URL", url}, {"TICKERD_API_KEY", kAdminKey}})
            .code() == 0);
    auto wrong = ctl.run({"--url", url, "--token", "not-the-key", "status"});
    BOOST_TEST(wrong.code() == 1, wrong);

    // The URL and the key from the file.
    auto file = ctl.config_home() / "tickerd" / "cli.json";
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << json::serialize(json::object{{"url", url}, {"token", kAdminKey}});
    auto from_file = ctl.run({"instruments", "add", "NVDA"});
    BOOST_TEST(from_file.code() == 0, from_file);
    HttpClient http("127.0.0.1", daemon.port());
    auto stored = http.request("GET", "/streaming/config/instruments/NVDA", {}, "application/json",
                               {{"Authorization", "Bearer " + kAdminKey}});
    BOOST_TEST(stored.status == 200u, stored.body);

    // A read-only token: reads, but may not change anything.
    auto minted = ctl.run({"token", "--scopes", "read", "--ttl", "60", "--json"});
    BOOST_TEST_REQUIRE(minted.code() == 0, minted);
    auto token = text_at(minted.json(), "/token");
    BOOST_TEST(!text_at(minted.json(), "/expires_at").empty());
    auto reads = ctl.run({"instruments", "ls"}, {{"TICKERD_TOKEN", token}});
    BOOST_TEST(reads.code() == 0, reads);
    auto refused = ctl.run({"instruments", "rm", "NVDA"}, {{"TICKERD_TOKEN", token}});
    BOOST_TEST(refused.code() == 1, refused);
    BOOST_TEST(contains(refused.err, "403"), refused);

    std::ofstream(file) << "{\"url\": 8000}";
    auto broken = ctl.run({"status"});
    BOOST_TEST(broken.code() == 2, broken);
    BOOST_TEST(contains(broken.err, "cli.json"), broken);
}

// https: the server's certificate is verified against --cacert (a test CA, for 127.0.0.1),
// refused without it (exit 3), and not checked with --insecure.
BOOST_AUTO_TEST_CASE(https_verifies_the_certificate) {
    TempDir files("tickerctl-tls");
    auto ca = files / "ca.pem";
    auto shell = [](const std::string& command) {
        BOOST_REQUIRE_MESSAGE(std::system((command + " >/dev/null 2>&1").c_str()) == 0, command);
    };
    auto in = [&](const char* name) { return (files / name).string(); };
    shell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tickerctl-test-ca -keyout " +
          in("ca.key") + " -out " + ca.string());
    files.write("server.ext", "subjectAltName=IP:127.0.0.1\n");
    shell("openssl req -newkey rsa:2048 -nodes -subj /CN=server -keyout " + in("server.key") +
          " -out " + in("server.csr"));
    shell("openssl x509 -req -in " + in("server.csr") + " -CA " + ca.string() + " -CAkey " +
          in("ca.key") + " -set_serial 7 -days 2 -extfile " + in("server.ext") + " -out " +
          in("server.pem"));
    json::object config{{"vendors", mock_vendors()},
                        {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
                        {"cadences", {{"market_data", {{"interval_seconds", 0.2}}}}},
                        {"tls", {{"cert_file", in("server.pem")}, {"key_file", in("server.key")}}}};
    DaemonOptions options;
    options.config_file = write_config(files, config);
    options.env = {{"AUTO_START_WORKERS", "true"}};
    DaemonProcess daemon(options);
    // wait_ready() speaks plain HTTP: the log says when the TLS listener is up.
    std::string port;
    static const std::regex listening("listening on port ([0-9]+)");
    BOOST_REQUIRE_MESSAGE(wait_until(
                              [&] {
                                  auto log = daemon.log();
                                  std::smatch match;  // points into `log`
                                  if (!std::regex_search(log, match, listening)) return false;
                                  port = match[1].str();
                                  return true;
                              },
                              20s),
                          daemon.log_tail());
    auto url = "https://127.0.0.1:" + port;

    Ctl ctl;
    auto verified = ctl.run({"--url", url, "--cacert", ca.string(), "status", "--json"});
    BOOST_TEST(verified.code() == 0, verified);
    BOOST_TEST(text_at(verified.json(), "/name") == "tickerd");
    auto tail =
        ctl.run({"--url", url, "--cacert", ca.string(), "tail", kAaplQuotes, "--count", "1"});
    BOOST_TEST(tail.code() == 0, tail);
    BOOST_TEST(contains(tail.out, "symbol=AAPL"), tail);

    auto unverified = ctl.run({"--url", url, "status"});
    BOOST_TEST(unverified.code() == 3, unverified);
    BOOST_TEST(contains(unverified.err, "certificate verify failed"), unverified);
    auto insecure = ctl.run({"--url", url, "--insecure", "status"});
    BOOST_TEST(insecure.code() == 0, insecure);
}
