// The wire compression's parts on their own: what permessage-deflate offers are accepted and
// how, what Accept-Encoding means gzip, and that runs compressed alone (and stored blocks)
// concatenate into one stream that zlib itself inflates, CRC and length checked.
#define BOOST_TEST_MODULE gateway_deflate
#include <boost/test/unit_test.hpp>

#include "gateway/deflate.hpp"

using namespace tickerd::gateway;

namespace {

// zlib's own gzip decoder (RFC 1952, trailer checked).
std::optional<std::string> gunzip(const std::string& data) {
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 16) != Z_OK) return std::nullopt;
    std::string out(1 << 20, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    int status = inflate(&stream, Z_FINISH);
    out.resize(out.size() - stream.avail_out);
    inflateEnd(&stream);
    if (status != Z_STREAM_END) return std::nullopt;
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(offers_are_accepted_without_context_takeover_on_our_side) {
    auto browser = deflate::negotiate("permessage-deflate; client_max_window_bits");
    BOOST_REQUIRE(browser);
    BOOST_TEST(browser->response == "permessage-deflate; server_no_context_takeover");
    BOOST_TEST(!browser->client_no_context_takeover);
    auto stateless = deflate::negotiate(
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover");
    BOOST_REQUIRE(stateless);
    BOOST_TEST(stateless->response ==
               "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    BOOST_TEST(stateless->client_no_context_takeover);
    // A smaller server window than ours, an unknown parameter, a repeated one: that offer
    // is declined, and the next one taken.
    BOOST_TEST(!deflate::negotiate("permessage-deflate; server_max_window_bits=10"));
    BOOST_TEST(!deflate::negotiate("permessage-deflate; colour=blue"));
    BOOST_TEST(
        !deflate::negotiate("permessage-deflate; client_no_context_takeover; "
                            "client_no_context_takeover"));
    BOOST_TEST(!deflate::negotiate("permessage-deflate; client_max_window_bits=20"));
    BOOST_TEST(!deflate::negotiate("x-webkit-deflate-frame"));
    BOOST_TEST(!deflate::negotiate(""));
    BOOST_TEST(deflate::negotiate("permessage-deflate; server_max_window_bits=9, "
                                  "permessage-deflate")
                   .has_value());
}

BOOST_AUTO_TEST_CASE(accept_encoding_is_read_with_its_weights) {
    BOOST_TEST(deflate::accepts_gzip("gzip, deflate, br"));
    BOOST_TEST(deflate::accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    BOOST_TEST(deflate::accepts_gzip("*"));
    BOOST_TEST(!deflate::accepts_gzip("gzip;q=0"));
    BOOST_TEST(!deflate::accepts_gzip("identity"));
    BOOST_TEST(!deflate::accepts_gzip(""));
}

BOOST_AUTO_TEST_CASE(runs_compressed_alone_make_one_gzip_stream) {
    std::string stream(deflate::gzip_header());
    std::string plain;
    uint32_t crc = 0;
    auto add = [&](const tickerd::bus::GzipRun& run, std::string_view text) {
        stream += run.bytes;
        plain += text;
        crc = deflate::combine(crc, run);
    };
    add(deflate::gzip_run("retry: 3000\n\n"), "retry: 3000\n\n");
    for (int i = 0; i < 50; ++i) {
        std::string id = "id: " + std::to_string(i) + ".7\n";
        add(deflate::stored_run(id), id);
        std::string data = "data: {\"price\": " + std::to_string(100 + i) + "}\n\n";
        add(deflate::gzip_run(data), data);
    }
    stream += deflate::gzip_trailer(crc, plain.size());
    auto inflated = gunzip(stream);
    BOOST_REQUIRE(inflated);
    BOOST_TEST(*inflated == plain);
    // A wrong CRC is caught: the trailer is really checked.
    auto broken = stream;
    broken[broken.size() - 8] ^= 1;
    BOOST_TEST(!gunzip(broken));
    BOOST_TEST(*gunzip(deflate::gzip(plain)) == plain);
}

BOOST_AUTO_TEST_CASE(the_inflater_takes_a_message_and_refuses_a_bomb) {
    auto message = std::string(5000, 'a');
    auto compressed = deflate::compress_alone(message);
    compressed.resize(compressed.size() - 4);  // as permessage-deflate sends it
    deflate::Inflater inflater(true);
    auto plain = inflater.inflate(compressed, 65536);
    BOOST_REQUIRE(plain);
    BOOST_TEST(*plain == message);
    auto again = inflater.inflate(compressed, 65536);  // reset between messages
    BOOST_REQUIRE(again);
    BOOST_TEST(*again == message);
    auto bomb = deflate::compress_alone(std::string(10 << 20, '\0'));
    bomb.resize(bomb.size() - 4);
    BOOST_TEST(bomb.size() < 20000u);
    auto refused = inflater.inflate(bomb, 65536);
    BOOST_REQUIRE(!refused);
    BOOST_TEST(refused.error().status == 1009u);
    auto garbage = inflater.inflate("\xff\xff\xff\xff", 65536);
    BOOST_TEST(!garbage);
}
