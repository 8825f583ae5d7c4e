// GET /metrics (CONTRACT.md §9): the Prometheus text format, accepted by Prometheus' own
// checker (promtool, Debian's `prometheus` package), with counters that move when deliveries,
// vendor calls and failures happen; open unless auth.protect_metrics; no per-symbol series
// unless metrics.symbol_labels.
#define BOOST_TEST_MODULE daemon_metrics
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kAapl = "stream:market_data:AAPL";

// AAPL's market data every 0.2 s from `vendors`.
json::object polling(json::array vendors) {
    return {{"vendors", std::move(vendors)},
            {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
            {"cadences",
             {{"market_data",
               {{"interval_seconds", 0.2}, {"retry_attempts", 1}, {"vendor_fallback", true}}}}}};
}

// Samples by their full name as written ("name{label=\"v\",…}"); HELP/TYPE lines left out.
std::map<std::string, double> samples_of(const std::string& text) {
    std::map<std::string, double> samples;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        auto space = line.rfind(' ');
        samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return samples;
}

double sample(const std::map<std::string, double>& samples, const std::string& name) {
    auto it = samples.find(name);
    BOOST_REQUIRE_MESSAGE(it != samples.end(), "no sample " + name);
    return it->second;
}

// promtool's verdict on `text`: its exit status and what it printed.
std::pair<int, std::string> promtool_check(const TempDir& files, const std::string& text) {
    auto input = files.write("metrics.txt", text);
    auto output = files.path() / "promtool.out";
    auto command =
        "promtool check metrics < '" + input.string() + "' > '" + output.string() + "' 2>&1";
    int status = std::system(command.c_str());
    std::ifstream in(output);
    std::string said((std::istreambuf_iterator<char>(in)), {});
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, said};
}

}  // namespace

BOOST_AUTO_TEST_CASE(promtool_accepts_it_and_the_counters_move_with_the_stream) {
    BOOST_REQUIRE_MESSAGE(std::system("command -v promtool > /dev/null") == 0,
                          "promtool is missing (Debian package prometheus; scripts/deps.sh)");
    TempDir files("tickerd-metrics");
    auto daemon = start_daemon_with_config(files, polling(mock_vendors()), kAutoStartWorkers);
    HttpClient http("127.0.0.1", daemon->port());

    SseClient sse("127.0.0.1", daemon->port());
    BOOST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kAapl).status == 200u);
    WsClient ws("127.0.0.1", daemon->port());
    ws.connect("/streaming/ws?channels=" + kAapl);
    int received = 0;
    while (received < 5 && sse.next_data_event(5s))
        ++received;
    BOOST_REQUIRE_EQUAL(received, 5);
    BOOST_REQUIRE(ws.next_of_type("data", 5s));

    // A delivery is counted once its write completes, a moment after the client may read it.
    HttpResponse scrape;
    BOOST_TEST(wait_until(
        [&] {
            scrape = http.get("/metrics");
            auto samples = samples_of(scrape.body);
            return sample(samples, "tickerd_deliveries_total{protocol=\"sse\"}") >= 5 &&
                   sample(samples, "tickerd_deliveries_total{protocol=\"websocket\"}") >= 1;
        },
        5s));
    BOOST_REQUIRE_EQUAL(scrape.status, 200u);
    BOOST_TEST(scrape.header("content-type").find("text/plain; version=0.0.4") == 0u);
    auto [status, said] = promtool_check(files, scrape.body);
    BOOST_TEST(status == 0, "promtool check metrics: " << said);
    BOOST_TEST(said.empty(), "promtool's lint findings: " << said);

    auto samples = samples_of(scrape.body);
    BOOST_TEST(sample(samples, "tickerd_build_info{version=\"" TICKERD_VERSION "\"}") == 1);
    BOOST_TEST(sample(samples, "tickerd_streams_open{protocol=\"sse\"}") == 1);
    BOOST_TEST(sample(samples, "tickerd_streams_open{protocol=\"websocket\"}") == 1);
    BOOST_TEST(sample(samples, "tickerd_connections_open") >= 3);  // SSE, WS, this scrape
    BOOST_TEST(sample(samples, "tickerd_deliveries_total{protocol=\"sse\"}") >= 5);
    BOOST_TEST(sample(samples, "tickerd_deliveries_total{protocol=\"websocket\"}") >= 1);
    BOOST_TEST(sample(samples, "tickerd_delivery_latency_seconds_count") >= 6);
    BOOST_TEST(sample(samples, "tickerd_messages_published_total{data_type=\"market_data\"}") >= 5);
    BOOST_TEST(sample(samples,
                      "tickerd_vendor_calls_total{vendor=\"mock\",data_type=\"market_"
                      "data\",result=\"success\"}") >= 5);
    BOOST_TEST(sample(samples,
                      "tickerd_vendor_call_duration_seconds_count{vendor=\"mock\","
                      "data_type=\"market_data\"}") >= 5);
    BOOST_TEST(sample(samples, "tickerd_worker_running{worker=\"worker_market_data\"}") == 1);
    BOOST_TEST(sample(samples, "tickerd_plugins{state=\"loaded\"}") >= 1);
    BOOST_TEST(scrape.body.find("symbol=") == std::string::npos);  // no per-symbol series

    // The counters only go up, and they go up as the stream flows.
    while (received < 10 && sse.next_data_event(5s))
        ++received;
    const std::string sse_deliveries = "tickerd_deliveries_total{protocol=\"sse\"}";
    BOOST_TEST(wait_until(
        [&] {
            auto later = samples_of(http.get("/metrics").body);
            return sample(later, sse_deliveries) >= sample(samples, sse_deliveries) + 5;
        },
        5s));
    sse.close();
    ws.close();
    BOOST_TEST(wait_until(
        [&] {
            auto now = samples_of(http.get("/metrics").body);
            return sample(now, "tickerd_streams_open{protocol=\"sse\"}") == 0 &&
                   sample(now, "tickerd_streams_open{protocol=\"websocket\"}") == 0;
        },
        5s));
}

BOOST_AUTO_TEST_CASE(failed_vendor_calls_are_counted_by_error_class) {
    TempDir files("tickerd-metrics");
    auto daemon = start_daemon_with_config(
        files,
        polling({{{"name", "broken"},
                  {"plugin", "mock"},
                  {"priority", 10},
                  {"settings", {{"fail_rate", 1.0}}}},
                 {{"name", "mock"}, {"plugin", "mock"}, {"priority", 20}}}),
        kAutoStartWorkers);
    HttpClient http("127.0.0.1", daemon->port());
    const std::string failures =
        "tickerd_vendor_calls_total{vendor=\"broken\",data_type=\"market_data\",result="
        "\"failure\"}";
    const std::string fallbacks =
        "tickerd_vendor_fallback_answers_total{vendor=\"mock\",data_type=\"market_data\"}";
    BOOST_REQUIRE(wait_until(
        [&] {
            auto samples = samples_of(http.get("/metrics").body);
            return samples.count(failures) && samples.at(failures) >= 3 &&
                   samples.count(fallbacks) && samples.at(fallbacks) >= 3;
        },
        10s));
    auto samples = samples_of(http.get("/metrics").body);
    double by_class = 0;
    for (const auto& [name, value] : samples) {
        if (name.starts_with("tickerd_vendor_call_errors_total{vendor=\"broken\"")) {
            BOOST_TEST(name.find("error_class=\"") != std::string::npos, name);
            by_class += value;
        }
    }
    BOOST_TEST(by_class >= 3);
    BOOST_TEST(sample(samples,
                      "tickerd_vendor_calls_total{vendor=\"broken\",data_type=\"market_"
                      "data\",result=\"success\"}") == 0);
}

BOOST_AUTO_TEST_CASE(open_by_default_and_behind_read_with_protect_metrics) {
    const std::string read_key = "metrics-read-key-0123456789";
    auto config = [&](bool protect) {
        auto config = polling(mock_vendors());
        config["auth"] = {
            {"enabled", true},
            {"protect_metrics", protect},
            {"keys",
             {{{"name", "scraper"}, {"sha256", sha256_hex(read_key)}, {"scopes", {"read"}}}}}};
        return config;
    };
    TempDir files("tickerd-metrics");
    {
        auto daemon = start_daemon_with_config(files, config(false), kAutoStartWorkers);
        HttpClient http("127.0.0.1", daemon->port());
        BOOST_TEST(http.get("/metrics").status == 200u);
        BOOST_TEST(http.get("/streaming/channels").status == 401u);  // auth is on all the same
    }
    auto daemon = start_daemon_with_config(files, config(true), kAutoStartWorkers);
    HttpClient http("127.0.0.1", daemon->port());
    BOOST_TEST(http.get("/metrics").status == 401u);
    auto scraped =
        http.request("GET", "/metrics", {}, {}, {{"Authorization", "Bearer " + read_key}});
    BOOST_TEST(scraped.status == 200u, scraped.body);
}

BOOST_AUTO_TEST_CASE(symbol_labels_on_request) {
    TempDir files("tickerd-metrics");
    auto config = polling(mock_vendors());
    config["metrics"] = {{"symbol_labels", true}};
    auto daemon = start_daemon_with_config(files, config, kAutoStartWorkers);
    HttpClient http("127.0.0.1", daemon->port());
    const std::string published =
        "tickerd_messages_published_total{data_type=\"market_data\",symbol=\"AAPL\"}";
    BOOST_TEST(wait_until(
        [&] {
            auto samples = samples_of(http.get("/metrics").body);
            return samples.count(published) && samples.at(published) >= 2;
        },
        10s));
}

// The README's scrape job and alerting rules are the files in etc/prometheus: Prometheus'
// checker accepts them, and the rules name metrics the daemon exposes.
BOOST_AUTO_TEST_CASE(the_example_scrape_config_and_rules_check_out) {
    const std::filesystem::path dir = TICKERD_SOURCE_DIR "/etc/prometheus";
    for (auto check : {"promtool check config '" + (dir / "prometheus.yml").string() + "'",
                       "promtool check rules '" + (dir / "tickerd.rules.yml").string() + "'"}) {
        BOOST_TEST(std::system((check + " > /dev/null 2>&1").c_str()) == 0, check);
    }
    TempDir files("tickerd-metrics");
    auto daemon = start_daemon_with_config(files, polling(mock_vendors()), kAutoStartWorkers);
    auto exposed = HttpClient("127.0.0.1", daemon->port()).get("/metrics").body;
    std::ifstream rules(dir / "tickerd.rules.yml");
    std::string text((std::istreambuf_iterator<char>(rules)), {});
    for (auto name : {"tickerd_worker_stalled", "tickerd_slow_consumer_closes_total"}) {
        BOOST_TEST(text.find(name) != std::string::npos, name);
        BOOST_TEST(exposed.find(std::string("# TYPE ") + name + " ") != std::string::npos, name);
    }
}
