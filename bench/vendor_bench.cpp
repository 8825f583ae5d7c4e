// Vendor-side costs: how fast the yfinance parsers read Yahoo answers (MB/s) — chart,
// quoteSummary, and a year of daily bars turned into analytics — and what one request through
// the host HTTP service costs against a local server (µs per request, wall and CPU), with
// connection reuse. A tool, not a test.
//
//   vendor_bench [--file answer.json]... [--parse-seconds 3] [--requests 2000]
//
// The parser follows the file name: "quoteSummary-…insider…" → insider data, "quoteSummary-…"
// → fundamentals, anything else → chart. Without --file it reads the repo's own fixtures.
#include "chart.hpp"
#include "quote_summary.hpp"
#include "support/daemon.hpp"
#include "support/fixture_server.hpp"
#include "support/reference_bars.hpp"
#include "webclient/webclient.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

std::string read(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

using Parser = vendorkit::Answer (*)(std::string_view body, std::string_view symbol);

vendorkit::Answer parse_insider(std::string_view body, std::string_view symbol) {
    return yfinance::parse_insider(body, symbol);
}

Parser parser_for(const std::string& name) {
    if (name.find("quoteSummary") != std::string::npos) {
        return name.find("insider") != std::string::npos ? &parse_insider
                                                         : &yfinance::parse_fundamentals;
    }
    return &yfinance::parse_chart;
}

void bench_parser(const std::string& label, const std::string& body, Parser parse, double seconds) {
    auto first = parse(body, "X");
    uint64_t parses = 0;
    auto start = Clock::now();
    auto until = start + std::chrono::duration<double>(seconds);
    while (Clock::now() < until) {
        for (int i = 0; i < 100; ++i) {
            auto answer = parse(body, "X");
            if (answer.status != first.status) throw std::logic_error("parser not deterministic");
        }
        parses += 100;
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    double mb = static_cast<double>(body.size()) * static_cast<double>(parses) / 1e6;
    std::printf("  %-52s %8zu bytes  %8.1f MB/s  %8.1f us/answer  (status %d)\n", label.c_str(),
                body.size(), mb / elapsed, elapsed / static_cast<double>(parses) * 1e6,
                first.status);
}

void bench_http(int requests) {
    tickerd::testing::FixtureServer server;
    tickerd::testing::FixtureRoute route;
    route.body = std::string(1200, 'x');  // about one chart answer
    server.route("/chart", route);
    tickerd::webclient::Client client;
    tickerd::webclient::Request request;
    request.url = server.url("/chart");
    client.perform(request);  // connect once
    double cpu_before = tickerd::testing::own_cpu_seconds();
    auto start = Clock::now();
    for (int i = 0; i < requests; ++i) {
        if (client.perform(request).status != 200) throw std::runtime_error("request failed");
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu =
        tickerd::testing::own_cpu_seconds() - cpu_before;  // client and fixture server together
    std::printf(
        "  %d requests over %d connection(s): %.1f us wall, %.1f us CPU per request "
        "(CPU includes the fixture server)\n",
        requests, server.connections_accepted(), elapsed / requests * 1e6, cpu / requests * 1e6);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::filesystem::path> files;
    double parse_seconds = 3;
    int requests = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        if (flag == "--file")
            files.emplace_back(argv[i + 1]);
        else if (flag == "--parse-seconds")
            parse_seconds = std::stod(argv[i + 1]);
        else if (flag == "--requests")
            requests = std::stoi(argv[i + 1]);
        else {
            std::cerr << "usage: vendor_bench [--file F]... [--parse-seconds S] [--requests N]\n";
            return 2;
        }
    }
    if (files.empty()) {
        auto own = std::filesystem::path(TICKERD_SOURCE_DIR) / "tests/fixtures/yfinance";
        files = {own / "chart-MSFT-1d.json", own / "quoteSummary-MSFT-fundamentals.json",
                 own / "quoteSummary-MSFT-insider.json"};
    }
    std::printf("yfinance parsers\n");
    for (const auto& file : files) {
        auto name = file.filename().string();
        bench_parser(name, read(file), parser_for(name), parse_seconds);
    }
    bench_parser("analytics: 1y daily chart (260 bars) + indicators",
                 tickerd::testing::as_yahoo_chart(tickerd::testing::reference_bars(), "X"),
                 &yfinance::parse_analytics, parse_seconds);
    std::printf("host HTTP service against a local server\n");
    bench_http(requests);
}
