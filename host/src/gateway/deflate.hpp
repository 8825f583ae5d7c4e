// Compression on the wire (CONTRACT.md §7): WebSocket permessage-deflate (RFC 7692) and gzip
// for SSE streams and REST answers. Every compressed message is compressed on its own (no
// context taken over from the one before), so its compressed bytes are the same for every
// client and are made once, like its frames — and no connection keeps a compressor (about
// 256 kB each with zlib's defaults). The price is a lower ratio than a shared context would
// give; the bench (bench/compression_bench) measures both.
#pragma once

#include "bus/bus.hpp"
#include "core/result.hpp"

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tickerd::gateway::deflate {

// `text` compressed on its own as raw deflate blocks ending in a sync flush (an empty stored
// block, 00 00 ff ff): a run that may follow any other such run in one deflate stream.
std::string compress_alone(std::string_view text);

// `text` as a gzip run (compress_alone, with its CRC for the stream's trailer).
bus::GzipRun gzip_run(std::string_view text);
// A stored_block() as a gzip run.
bus::GzipRun stored_run(std::string_view text);
// Appends `run`'s CRC to a stream's.
inline uint32_t combine(uint32_t crc, const bus::GzipRun& run) {
    return crc32_combine_op(crc, run.crc, run.combine_op);
}

// The same run as a stored (uncompressed) block: for a few bytes of one connection's own
// (an SSE id line), where calling the compressor would cost more than it saves.
std::string stored_block(std::string_view text);

// gzip's framing around such runs (RFC 1952): the 10-byte header, and the end of the stream
// (a final empty block, then the CRC-32 and length of everything the runs held).
std::string_view gzip_header();
std::string gzip_trailer(uint32_t crc, uint64_t length);

// A whole body gzipped (a REST answer).
std::string gzip(std::string_view text);

// Whether an Accept-Encoding header accepts gzip (a `gzip` coding with q > 0, or `*`).
bool accepts_gzip(std::string_view accept_encoding);

// What a WebSocket client offered in Sec-WebSocket-Extensions, as far as permessage-deflate is
// concerned: the response header's value when an offer can be accepted (always with
// server_no_context_takeover; with client_no_context_takeover when offered), else nullopt.
struct Agreement {
    std::string response;             // "permessage-deflate; server_no_context_takeover…"
    bool client_no_context_takeover;  // the client resets its compressor for each message
};
std::optional<Agreement> negotiate(std::string_view offers);

// Inflates a client's compressed messages: the RFC 7692 tail (00 00 ff ff) appended, at most
// `max_bytes` out (a refusal, not an allocation, for a bomb); an error's status is the close
// code to answer with (1009 too big, 1007 not inflatable). Holds zlib's state (about 40 kB)
// from the first compressed message on; `reset_each` when the client takes no context over.
class Inflater {
  public:
    explicit Inflater(bool reset_each);
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    Result<std::string> inflate(std::string_view compressed, std::size_t max_bytes);

  private:
    bool reset_each_;
    std::unique_ptr<z_stream> stream_;
};

}  // namespace tickerd::gateway::deflate
