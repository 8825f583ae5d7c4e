#include "gateway/ws_frame.hpp"

#include <boost/beast/websocket/detail/utf8_checker.hpp>

#include <openssl/evp.h>

namespace tickerd::gateway::ws {

FrameHeader encode_header(Opcode opcode, std::size_t payload_size) {
    FrameHeader header;
    header.bytes[0] = static_cast<uint8_t>(0x80 | opcode);
    if (payload_size < 126) {
        header.bytes[1] = static_cast<uint8_t>(payload_size);
        header.size = 2;
    } else if (payload_size <= 0xFFFF) {
        header.bytes[1] = 126;
        header.bytes[2] = static_cast<uint8_t>(payload_size >> 8);
        header.bytes[3] = static_cast<uint8_t>(payload_size);
        header.size = 4;
    } else {
        header.bytes[1] = 127;
        auto size = static_cast<uint64_t>(payload_size);
        for (int i = 0; i < 8; ++i)
            header.bytes[2 + i] = static_cast<uint8_t>(size >> (56 - 8 * i));
        header.size = 10;
    }
    return header;
}

std::string close_payload(uint16_t code, std::string_view reason) {
    constexpr std::size_t kMaxReason = 123;  // 125-byte control payload minus the code
    std::string payload;
    payload += static_cast<char>(code >> 8);
    payload += static_cast<char>(code & 0xFF);
    payload.append(reason.substr(0, kMaxReason));
    return payload;
}

bool is_valid_close_code(uint16_t code) {
    if (code >= 3000 && code <= 4999) return true;
    return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

ParseResult parse_client_frame(std::string_view input, std::size_t max_payload, bool deflate) {
    ParseResult result;
    auto fail = [&](uint16_t code, std::string why) {
        result.status = ParseResult::error;
        result.close_code = code;
        result.why = std::move(why);
        return result;
    };
    if (input.size() < 2) return result;
    auto byte0 = static_cast<uint8_t>(input[0]);
    auto byte1 = static_cast<uint8_t>(input[1]);
    bool fin = byte0 & 0x80;
    auto opcode = static_cast<Opcode>(byte0 & 0x0F);
    bool control = opcode & 0x8;
    // RSV1 marks a compressed message (permessage-deflate), on its first frame only.
    bool compressed = byte0 & 0x40;
    if ((byte0 & 0x30) || (compressed && (!deflate || control || opcode == kContinuation)))
        return fail(kCloseProtocolError, "reserved bits set (no extension agreed for them)");
    if (!(byte1 & 0x80)) return fail(kCloseProtocolError, "client frame not masked");
    if (opcode != kContinuation && opcode != kText && opcode != kBinary && opcode != kClose &&
        opcode != kPing && opcode != kPong) {
        return fail(kCloseProtocolError, "unknown opcode");
    }

    uint64_t length = byte1 & 0x7F;
    std::size_t offset = 2;
    if (length == 126) {
        if (input.size() < 4) return result;
        length = (static_cast<uint64_t>(static_cast<uint8_t>(input[2])) << 8) |
                 static_cast<uint8_t>(input[3]);
        offset = 4;
    } else if (length == 127) {
        if (input.size() < 10) return result;
        length = 0;
        for (int i = 0; i < 8; ++i)
            length = (length << 8) | static_cast<uint8_t>(input[2 + i]);
        if (length >> 63) return fail(kCloseProtocolError, "invalid payload length");
        offset = 10;
    }
    if (control && (!fin || length > 125)) {
        return fail(kCloseProtocolError, "fragmented or oversized control frame");
    }
    if (length > max_payload) return fail(kCloseTooBig, "message too big");

    if (input.size() < offset + 4 + length) return result;
    std::array<uint8_t, 4> mask{};
    for (int i = 0; i < 4; ++i)
        mask[i] = static_cast<uint8_t>(input[offset + i]);
    offset += 4;
    result.frame.payload.assign(input.substr(offset, length));
    for (std::size_t i = 0; i < result.frame.payload.size(); ++i) {
        result.frame.payload[i] = static_cast<char>(result.frame.payload[i] ^ mask[i % 4]);
    }
    result.frame.fin = fin;
    result.frame.compressed = compressed;
    result.frame.opcode = opcode;
    result.status = ParseResult::complete;
    result.consumed = offset + length;
    return result;
}

Result<std::string> accept_key(std::string_view client_key) {
    constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char decoded[32];
    bool sixteen_bytes =
        client_key.size() == 24 && client_key.ends_with("==") &&
        EVP_DecodeBlock(decoded, reinterpret_cast<const unsigned char*>(client_key.data()), 24) ==
            18;
    if (!sixteen_bytes) return Error::malformed("Sec-WebSocket-Key must be 16 bytes in base64");
    std::string text = std::string(client_key) + std::string(kGuid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha1(), nullptr);
    unsigned char encoded[64];
    int size = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
    return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(size));
}

// Beast's checker, which its own WebSocket stream uses: overlong forms, surrogates and
// code points past U+10FFFF are refused too.
bool is_utf8(std::string_view text) {
    return boost::beast::websocket::detail::check_utf8(text.data(), text.size());
}

}  // namespace tickerd::gateway::ws
