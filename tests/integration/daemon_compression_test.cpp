// Compression on the wire (CONTRACT.md §7), decoded by standard clients: the `ws` npm client
// negotiating permessage-deflate (and sending a compressed request), curl reading a gzip SSE
// stream of one and of several channels to its clean end, and curl reading gzipped REST
// answers. Needs node and tests/browser/node_modules (scripts/deps.sh), and curl.
#define BOOST_TEST_MODULE daemon_compression
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <thread>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

const fs::path kBrowserDir = fs::path(TICKERD_SOURCE_DIR) / "tests/browser";
const std::string kAapl = "stream:signals:AAPL";
const std::string kMsft = "stream:signals:MSFT";

std::unique_ptr<DaemonProcess> start(const TempDir& files) {
    return start_daemon_with_config(files, json::object{{"published_types", {"signals"}}});
}

void publish(HttpClient& http, const std::string& channel, int n) {
    json::object body{{"data", {{"n", n}, {"note", "the same words again and again and again"}}}};
    auto reply = http.request("POST", "/streaming/publish/" + channel, json::serialize(body),
                              "application/json");
    BOOST_REQUIRE_MESSAGE(reply.status == 202u, reply.status << " " << reply.body);
}

// The data: lines of an SSE text, parsed.
std::vector<json::value> data_of(const std::string& text) {
    std::vector<json::value> messages;
    std::size_t at = 0;
    while ((at = text.find("data: ", at)) != std::string::npos) {
        auto end = text.find('\n', at);
        if (end == std::string::npos) break;
        messages.push_back(json::parse(text.substr(at + 6, end - at - 6)));
        at = end;
    }
    return messages;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_ws_client_negotiates_permessage_deflate_and_decodes_every_message) {
    BOOST_TEST_REQUIRE(fs::exists(kBrowserDir / "node_modules/ws"),
                       "tests/browser/node_modules is missing: run scripts/deps.sh");
    TempDir files("tickerd-compression");
    auto daemon = start(files);
    HttpClient http("127.0.0.1", daemon->port());
    auto log = files.path() / "ws.log";
    ChildProcess client(
        {"/usr/bin/env", "node", (kBrowserDir / "ws_deflate_client.mjs").string(),
         "ws://127.0.0.1:" + std::to_string(daemon->port()) + "/streaming/ws", kAapl, "20"},
        log);
    BOOST_REQUIRE_MESSAGE(
        wait_until([&] { return read_file(log).find("ready") != std::string::npos; }, 15s),
        read_file(log));
    for (int n = 1; n <= 20; ++n)
        publish(http, kAapl, n);
    auto exit = client.wait(20s);
    BOOST_REQUIRE_MESSAGE(exit.has_value(), "the client did not finish:\n" << read_file(log));
    BOOST_TEST(exit->success(), read_file(log));
    auto output = read_file(log);
    auto result = json::parse(output.substr(output.rfind('{')));
    BOOST_TEST(text_at(result, "/extensions").find("permessage-deflate") != std::string::npos,
               output);
    BOOST_TEST(result.at("pong").as_bool(), "the compressed request was not understood");
    std::vector<int64_t> seqs;
    for (const auto& seq : result.at("seqs").as_array())
        seqs.push_back(seq.to_number<int64_t>());
    std::vector<int64_t> expected;
    for (int64_t i = 1; i <= 20; ++i)
        expected.push_back(i);
    BOOST_TEST(seqs == expected, boost::test_tools::per_element());
}

// curl --compressed: gzip accepted, the stream decoded as it comes, and at the daemon's
// shutdown a complete gzip stream (curl checks its CRC and length) — for one channel, and
// for several (whose ids are the stream's own, stored uncompressed in the same stream).
BOOST_AUTO_TEST_CASE(curl_reads_a_gzip_sse_stream_to_its_clean_end) {
    TempDir files("tickerd-compression");
    auto daemon = start(files);
    HttpClient http("127.0.0.1", daemon->port());
    publish(http, kAapl, 1);  // each stream starts with it: then it is subscribed
    auto base =
        "http://127.0.0.1:" + std::to_string(daemon->port()) + "/streaming/subscribe/sse?channels=";
    auto one = files.path() / "one.txt", several = files.path() / "several.txt";
    auto one_headers = files.path() / "one.headers";
    ChildProcess curl_one({"/usr/bin/curl", "-sS", "-N", "--compressed", "-D", one_headers.string(),
                           "-o", one.string(), base + kAapl},
                          files.path() / "curl-one.log");
    ChildProcess curl_several({"/usr/bin/curl", "-sS", "-N", "--compressed", "-o", several.string(),
                               base + kAapl + "," + kMsft},
                              files.path() / "curl-several.log");
    BOOST_REQUIRE(wait_until([&] { return data_of(read_file(one)).size() == 1; }, 10s));
    BOOST_REQUIRE(wait_until([&] { return data_of(read_file(several)).size() == 1; }, 10s));
    for (int n = 1; n <= 10; ++n) {
        if (n > 1) publish(http, kAapl, n);
        publish(http, kMsft, n);
    }
    BOOST_REQUIRE(wait_until([&] { return data_of(read_file(one)).size() == 10; }, 10s));
    BOOST_REQUIRE(wait_until([&] { return data_of(read_file(several)).size() == 20; }, 10s));
    auto status = daemon->terminate(10s);
    BOOST_REQUIRE(status);
    for (auto* curl : {&curl_one, &curl_several}) {
        auto exit = curl->wait(10s);
        BOOST_REQUIRE(exit.has_value());
        BOOST_TEST(exit->success(), describe(*exit)
                                        << ": " << read_file(files.path() / "curl-one.log")
                                        << read_file(files.path() / "curl-several.log"));
    }
    auto headers = read_file(one_headers);
    BOOST_TEST(headers.find("Content-Encoding: gzip") != std::string::npos, headers);
    auto text = read_file(one);
    BOOST_TEST(text.starts_with("retry: 3000\n\n"), text.substr(0, 40));
    auto messages = data_of(text);
    for (int n = 0; n < 10; ++n)
        BOOST_TEST(seq_of(messages[n]) == n + 1);
    // Several channels: the ids are the stream's positions, as without gzip.
    auto several_text = read_file(several);
    BOOST_TEST(several_text.find("id: 10.10\n") != std::string::npos, several_text);
}

BOOST_AUTO_TEST_CASE(rest_answers_are_gzipped_for_a_client_that_asks) {
    TempDir files("tickerd-compression");
    auto daemon = start(files);
    auto url = "http://127.0.0.1:" + std::to_string(daemon->port());
    auto body = files.path() / "openapi.json", headers = files.path() / "openapi.headers";
    ChildProcess curl({"/usr/bin/curl", "-sS", "--compressed", "-D", headers.string(), "-o",
                       body.string(), url + "/openapi.json"},
                      files.path() / "curl.log");
    auto exit = curl.wait(10s);
    BOOST_REQUIRE(exit.has_value());
    BOOST_TEST(exit->success(), read_file(files.path() / "curl.log"));
    BOOST_TEST(read_file(headers).find("Content-Encoding: gzip") != std::string::npos);
    BOOST_TEST(json::parse(read_file(body)).at("openapi").as_string().starts_with("3.1"));
    // Without Accept-Encoding, or for a small answer: as it was.
    HttpClient http("127.0.0.1", daemon->port());
    auto plain = http.get("/openapi.json");
    BOOST_TEST(plain.header("content-encoding").empty());
    auto small = http.request("GET", "/livez", {}, {}, {{"Accept-Encoding", "gzip"}});
    BOOST_TEST(small.header("content-encoding").empty());
    BOOST_TEST(small.status == 200u);
}
