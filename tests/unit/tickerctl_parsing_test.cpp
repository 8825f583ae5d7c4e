// tickerctl's readers without a daemon: URLs, the command line against the command table,
// comma lists, Server-Sent Events split anywhere, and aligned tables.
#define BOOST_TEST_MODULE tickerctl_parsing
#include <boost/test/unit_test.hpp>

#include "arguments.hpp"
#include "connection.hpp"
#include "sse.hpp"
#include "table.hpp"

#include <boost/json/parse.hpp>

#include <sstream>

using namespace tickerctl;

namespace {

Outcome<Invocation> parse(std::vector<const char*> arguments) {
    return parse_arguments(arguments);
}

const std::vector<CommandSpec> kCommands = {
    {"status", "", 0, 0, {}, ""},
    {"workers ls", "", 0, 0, {}, ""},
    {"workers start", "ID", 1, 1, {}, ""},
    {"tail", "CHANNEL...", 1, static_cast<std::size_t>(-1), {"count"}, ""},
};

}  // namespace

BOOST_AUTO_TEST_CASE(urls_name_scheme_host_port_and_base_path) {
    auto plain = parse_url("http://127.0.0.1:8000");
    BOOST_TEST_REQUIRE(plain.has_value());
    BOOST_TEST(!plain->tls);
    BOOST_TEST(plain->host == "127.0.0.1");
    BOOST_TEST(plain->port == "8000");
    BOOST_TEST(plain->base_path == "");
    BOOST_TEST(plain->host_header() == "127.0.0.1:8000");

    auto proxied = parse_url("https://md.example.com/tickerd/");
    BOOST_TEST_REQUIRE(proxied.has_value());
    BOOST_TEST(proxied->tls);
    BOOST_TEST(proxied->port == "443");
    BOOST_TEST(proxied->base_path == "/tickerd");
    BOOST_TEST(proxied->host_header() == "md.example.com");

    auto v6 = parse_url("http://[::1]:9000");
    BOOST_TEST_REQUIRE(v6.has_value());
    BOOST_TEST(v6->host == "::1");
    BOOST_TEST(v6->host_header() == "[::1]:9000");

    for (auto bad : {"ftp://host", "127.0.0.1:8000", "http://", "http://host:80x", "http://[::1"}) {
        auto url = parse_url(bad);
        BOOST_TEST(!url.has_value(), bad);
        if (!url) BOOST_TEST((url.error().code == ExitCode::usage));
    }
}

BOOST_AUTO_TEST_CASE(options_go_anywhere_in_both_spellings) {
    auto invocation = parse({"--json", "tail", "--count=3", "stream:news:AAPL", "--url", "u"});
    BOOST_TEST_REQUIRE(invocation.has_value());
    BOOST_TEST(invocation->words == (std::vector<std::string>{"tail", "stream:news:AAPL"}));
    BOOST_TEST(invocation->has("json"));
    BOOST_TEST(invocation->option("count").value() == "3");
    BOOST_TEST(invocation->option("url").value() == "u");

    auto ended = parse({"publish", "--", "--not-an-option"});
    BOOST_TEST_REQUIRE(ended.has_value());
    BOOST_TEST(ended->words.back() == "--not-an-option");
    BOOST_TEST(parse({"-h"})->has("help"));
}

BOOST_AUTO_TEST_CASE(bad_options_are_usage_errors) {
    for (auto arguments : std::vector<std::vector<const char*>>{
             {"--frobnicate"}, {"-x"}, {"--json=yes"}, {"--url"}}) {
        auto invocation = parse(arguments);
        BOOST_TEST(!invocation.has_value(), arguments.front());
        if (!invocation) BOOST_TEST((invocation.error().code == ExitCode::usage));
    }
}

BOOST_AUTO_TEST_CASE(commands_match_their_words_operands_and_options) {
    auto matched = match_command(kCommands, *parse({"workers", "start", "news"}));
    BOOST_TEST_REQUIRE(matched.has_value());
    BOOST_TEST(matched->spec->name == "workers start");
    BOOST_TEST(matched->operands == std::vector<std::string>{"news"});

    auto tail = match_command(kCommands, *parse({"tail", "a", "b", "--count", "2"}));
    BOOST_TEST_REQUIRE(tail.has_value());
    BOOST_TEST(tail->operands.size() == 2u);

    auto refusal = [&](std::vector<const char*> arguments) {
        auto result = match_command(kCommands, *parse(arguments));
        return result ? std::string("matched") : result.error().message;
    };
    BOOST_TEST(refusal({}) == "no command given");
    BOOST_TEST(refusal({"workers"}) == "unknown command 'workers'");
    BOOST_TEST(refusal({"workers", "start"}) == "'workers start' needs ID");
    BOOST_TEST(refusal({"status", "now"}) == "'status' does not take 'now'");
    BOOST_TEST(refusal({"status", "--count", "1"}) == "'status' does not take --count");
}

BOOST_AUTO_TEST_CASE(numbers_and_lists) {
    BOOST_TEST(parse_seconds("--timeout", "0.5").value() == 0.5);
    BOOST_TEST(!parse_seconds("--timeout", "0").has_value());
    BOOST_TEST(!parse_seconds("--timeout", "nan").has_value());
    BOOST_TEST(!parse_seconds("--timeout", "5s").has_value());
    BOOST_TEST(parse_count("--count", "12").value() == 12);
    BOOST_TEST(!parse_count("--count", "-1").has_value());
    BOOST_TEST(split_list(" read, publish ,,admin") ==
               (std::vector<std::string>{"read", "publish", "admin"}));
}

BOOST_AUTO_TEST_CASE(sse_events_split_anywhere_come_out_whole) {
    const std::string stream =
        "retry: 2000\r\n\r\n: keepalive\n\nid: 1-1\ndata: {\"a\":1}\n\n"
        "id: 1-2\ndata: line one\ndata: line two\n\ndata: no id\n\n";
    for (std::size_t split = 0; split <= stream.size(); ++split) {
        SseReader reader;
        auto events = reader.feed(stream.substr(0, split));
        auto rest = reader.feed(stream.substr(split));
        events.insert(events.end(), rest.begin(), rest.end());
        BOOST_TEST_REQUIRE(events.size() == 3u, "split at " << split);
        BOOST_TEST(events[0].id == "1-1");
        BOOST_TEST(events[0].data == "{\"a\":1}");
        BOOST_TEST(events[1].data == "line one\nline two");
        BOOST_TEST(events[2].id == "1-2", "the last id carries over");
    }
}

BOOST_AUTO_TEST_CASE(tables_align_their_columns) {
    Table table({"SYMBOL", "ENABLED"});
    table.add_row({"AAPL", "yes"});
    table.add_row({"BRK-B.XX", cell(boost::json::value(false))});
    std::ostringstream out;
    table.print(out);
    BOOST_TEST(out.str() == "SYMBOL    ENABLED\nAAPL      yes\nBRK-B.XX  no\n");
    BOOST_TEST(cell(boost::json::value(nullptr)) == "-");
    BOOST_TEST(cell(boost::json::value(261.41)) == "261.41");
    BOOST_TEST(cell(boost::json::parse(R"(["a","b"])")) == "a,b");
}
