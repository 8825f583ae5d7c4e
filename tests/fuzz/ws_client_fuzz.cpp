// libFuzzer target for what a WebSocket client sends (scripts/fuzz.sh): bytes →
// ws::parse_client_frame again and again, as the session reads them, the data frames'
// messages put together and read as actions; and the same bytes read as one action's payload
// (read_channel_request + resolve_channels, as a subscribe does).
// Never a crash; a frame is consumed whole and within the input, a control frame is short
// and final, one byte less of a complete frame is "need more", an error names 1002 or 1009;
// an action's channels are valid, distinct and within the limit, its error a 4xx.
#include "gateway/streams.hpp"
#include "gateway/ws_frame.hpp"

#include "core/model.hpp"

#include "fuzz_support.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <set>

using namespace tickerd;
using namespace tickerd::gateway;
namespace json = boost::json;

namespace {

const std::size_t kMaxMessage = Limits{}.max_ws_message_bytes;  // the daemon's default
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

// What a subscribe or unsubscribe action reads.
void read_action(std::string_view text) {
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    if (ec || !value.is_object()) return;
    auto request = read_channel_request(value.get_object(), {"action", "id"});
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    read_frames(input);
    read_action(input);
    return 0;
}
