// libFuzzer target for what a WebSocket client sends (scripts/fuzz.sh): bytes →
// ws::parse_client_frame again and again, as the session reads them, the data frames'
// messages put together and read as the session reads them (UTF-8, JSON within the depth
// limit, an action's channels: read_channel_request + resolve_channels); the same bytes as
// one message; the start of them as a Sec-WebSocket-Key (ws::accept_key).
// Never a crash; a frame is consumed whole and within the input, a control frame is short
// and final, one byte less of a complete frame is "need more", an error names 1002 or 1009;
// an action's channels are valid, distinct and within the limit, its error a 4xx; is_utf8
// agrees with Boost.JSON's UTF-8 check; an accept key is 28 characters or a 400.
#include "gateway/rest.hpp"
#include "gateway/streams.hpp"
#include "gateway/ws_frame.hpp"

#include "core/model.hpp"

#include "fuzz_support.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdint>
#include <set>

using namespace tickerd;
using namespace tickerd::gateway;
namespace json = boost::json;

namespace {

const Limits kLimits;  // the daemon's defaults
const std::size_t kMaxMessage = kLimits.max_ws_message_bytes;
constexpr std::size_t kMaxChannels = 50;

void check_channels(const Result<ChannelSet>& channels) {
    if (!channels) {
        FUZZ_REQUIRE(channels.error().status >= 400 && channels.error().status < 500);
        FUZZ_REQUIRE(!channels.error().detail.empty());
        return;
    }
    FUZZ_REQUIRE(channels->size() <= kMaxChannels);
    std::set<std::string> distinct(channels->begin(), channels->end());
    FUZZ_REQUIRE(distinct.size() == channels->size());
    for (const auto& channel : *channels) {
        auto key = parse_channel(channel);
        FUZZ_REQUIRE(key && key->name() == channel);
    }
}

// RFC 6455 wants text in UTF-8: what is_utf8 takes, Boost.JSON's own check takes too (as a
// JSON string, where it has no quote, backslash or control character to escape).
void check_utf8(std::string_view text) {
    bool plain = std::none_of(text.begin(), text.end(), [](char c) {
        return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
    });
    if (!plain) return;
    boost::system::error_code ec;
    json::parse("\"" + std::string(text) + "\"", ec);
    FUZZ_REQUIRE(ws::is_utf8(text) == !ec);
}

// What the session does with a text message: not UTF-8, it closes 1007; else it reads JSON
// no deeper than the limit, and a subscribe or unsubscribe action's channels.
void read_action(std::string_view text) {
    check_utf8(text);
    if (!ws::is_utf8(text)) return;
    auto value = parse_json(text, kLimits.max_json_depth);
    if (!value) {
        FUZZ_REQUIRE(value.error().status == 400 && !value.error().detail.empty());
        return;
    }
    if (!value->is_object()) return;
    auto request = read_channel_request(value->get_object(), {"action", "id"});
    if (!request) {
        FUZZ_REQUIRE(request.error().status == 422);
        return;
    }
    check_channels(
        resolve_channels(request->channels, request->data_types, request->symbols, kMaxChannels));
    check_channels(resolve_channels(request->channels, request->data_types, request->symbols,
                                    kMaxChannels, EmptyChannels::allow));
}

void read_frames(std::string_view input) {
    std::string message;
    bool fragmented = false;
    while (true) {
        auto parsed = ws::parse_client_frame(input, kMaxMessage);
        if (parsed.status == ws::ParseResult::need_more) return;
        if (parsed.status == ws::ParseResult::error) {
            FUZZ_REQUIRE(parsed.close_code == ws::kCloseProtocolError ||
                         parsed.close_code == ws::kCloseTooBig);
            FUZZ_REQUIRE(!parsed.why.empty());
            return;
        }
        const auto& frame = parsed.frame;
        FUZZ_REQUIRE(parsed.consumed >= 6 && parsed.consumed <= input.size());
        FUZZ_REQUIRE(frame.payload.size() <= kMaxMessage);
        FUZZ_REQUIRE(parsed.consumed >= frame.payload.size() + 6);
        if (frame.opcode & 0x8) FUZZ_REQUIRE(frame.fin && frame.payload.size() <= 125);
        auto shorter = ws::parse_client_frame(input.substr(0, parsed.consumed - 1), kMaxMessage);
        FUZZ_REQUIRE(shorter.status == ws::ParseResult::need_more);
        input.remove_prefix(parsed.consumed);

        // The session's reassembly, simplified: a message ends with a final data frame.
        if (frame.opcode == ws::kText || frame.opcode == ws::kBinary) {
            message = frame.payload;
            fragmented = !frame.fin;
        } else if (frame.opcode == ws::kContinuation && fragmented) {
            if (message.size() + frame.payload.size() > kMaxMessage) return;
            message += frame.payload;
            fragmented = !frame.fin;
        } else {
            continue;
        }
        if (!fragmented) read_action(message);
    }
}

// Sec-WebSocket-Accept for a client's key: 28 characters of base64, or a 400.
void check_accept_key(std::string_view key) {
    auto accept = ws::accept_key(key);
    if (!accept) {
        FUZZ_REQUIRE(accept.error().status == 400);
        return;
    }
    FUZZ_REQUIRE(accept->size() == 28 && accept->find_first_of("\r\n") == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    read_frames(input);
    read_action(input);
    check_accept_key(input.substr(0, 64));
    return 0;
}
