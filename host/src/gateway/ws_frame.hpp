// The RFC 6455 framing the WebSocket session needs after Beast's handshake: server frames
// (unmasked, never fragmented) and client frames (always masked).
#pragma once

#include "core/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tickerd::gateway::ws {

enum Opcode : uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
    // A text message compressed with permessage-deflate: text with RSV1 set on the wire.
    kCompressedText = 0x41,
    kRaw = 0xFF,  // not a frame: bytes sent as they are (the handshake's 101)
};

// Close codes (RFC 6455 §7.4 and ours).
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseInvalidData = 1007;  // a text message that is not UTF-8
inline constexpr uint16_t kClosePolicy = 1008;       // too many requests
inline constexpr uint16_t kCloseTooBig = 1009;
// The client did not read fast enough and its send queue filled up. 4000–4499: the client
// may reconnect (Centrifugo's convention for its "slow" 3008, moved to the private range).
inline constexpr uint16_t kCloseSlowConsumer = 4008;
// The token the connection was opened with has expired: get a new one, then reconnect.
inline constexpr uint16_t kCloseTokenExpired = 4001;

// A server frame's header: FIN set, no mask, 2–10 bytes. The same for every subscriber of
// a message, and it never touches the payload.
struct FrameHeader {
    std::array<uint8_t, 10> bytes{};
    std::size_t size = 0;
};
FrameHeader encode_header(Opcode opcode, std::size_t payload_size);

// A close frame's payload: the code, then the reason cut to fit the 125-byte limit.
std::string close_payload(uint16_t code, std::string_view reason);

// One frame read from a client, unmasked.
struct ClientFrame {
    bool fin = false;
    bool compressed = false;  // RSV1: the message this frame starts is deflated
    Opcode opcode = kText;
    std::string payload;
};

struct ParseResult {
    enum Status { need_more, complete, error } status = need_more;
    std::size_t consumed = 0;  // bytes of the input this frame used
    ClientFrame frame;         // when status == complete
    uint16_t close_code = 0;   // when status == error: 1002 or 1009
    std::string why;           // when status == error
};
// Parses the first frame in `input`. Payloads above `max_payload` are an error (1009)
// as soon as the header announces them, before they are buffered. RSV1 (a compressed
// message) is allowed only when permessage-deflate was agreed (`deflate`).
ParseResult parse_client_frame(std::string_view input, std::size_t max_payload,
                               bool deflate = false);

// Whether a close code from a client may be sent on the wire (RFC 6455 §7.4.1/7.4.2).
bool is_valid_close_code(uint16_t code);
// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2): the base64 of
// the SHA-1 of the key and the protocol's GUID. 400 when the key is not 16 bytes in base64.
Result<std::string> accept_key(std::string_view client_key);

// RFC 6455 §8.1: text messages (and close reasons) are UTF-8.
bool is_utf8(std::string_view text);

}  // namespace tickerd::gateway::ws
