// Vendor-side costs: how fast the yfinance chart parser reads Yahoo answers (MB/s), and what
// one request through the host HTTP service costs against a local server (µs per request,
// wall and CPU), with connection reuse. A tool, not a test.
//
//   vendor_bench [--file chart.json] [--parse-seconds 3] [--requests 2000]
//
// Without --file it parses the repo's own chart fixture.
#include "chart.hpp"
#include "support/fixture_server.hpp"
#include "webclient/webclient.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](timeval t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string read(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void bench_parser(const std::filesystem::path& file, double seconds) {
    auto body = read(file);
    auto first = yfinance::parse_chart(body, "X");
    uint64_t parses = 0;
    auto start = Clock::now();
    auto until = start + std::chrono::duration<double>(seconds);
    while (Clock::now() < until) {
        for (int i = 0; i < 100; ++i) {
            auto answer = yfinance::parse_chart(body, "X");
            if (answer.status != first.status) throw std::logic_error("parser not deterministic");
        }
        parses += 100;
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    double mb = static_cast<double>(body.size()) * static_cast<double>(parses) / 1e6;
    std::printf("  %-40s %8zu bytes  %10.1f MB/s  %8.1f us/answer  (status %d)\n",
                file.filename().c_str(), body.size(), mb / elapsed, elapsed / parses * 1e6,
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
    double cpu_before = cpu_seconds();
    auto start = Clock::now();
    for (int i = 0; i < requests; ++i) {
        if (client.perform(request).status != 200) throw std::runtime_error("request failed");
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu = cpu_seconds() - cpu_before;  // client and fixture server together
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
        files.push_back(std::filesystem::path(TICKERD_SOURCE_DIR) /
                        "tests/fixtures/yfinance/chart-MSFT-1d.json");
    }
    std::printf("yfinance chart parser\n");
    for (const auto& file : files)
        bench_parser(file, parse_seconds);
    std::printf("host HTTP service against a local server\n");
    bench_http(requests);
}
