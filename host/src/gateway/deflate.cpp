#include "gateway/deflate.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

namespace tickerd::gateway::deflate {

namespace {

constexpr int kWindowBits = 15;
constexpr int kMemLevel = 8;
constexpr std::string_view kSyncTail("\x00\x00\xff\xff", 4);

// One compressor per thread, reset for every message: nothing is carried from one to the
// next, which is what makes each message's bytes the same for every client.
class Compressor {
  public:
    Compressor() {
        if (deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -kWindowBits, kMemLevel,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            throw std::bad_alloc();
    }
    ~Compressor() { deflateEnd(&stream_); }

    std::string run(std::string_view text) {
        deflateReset(&stream_);
        std::string out(deflateBound(&stream_, text.size()) + 16, '\0');
        stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
        stream_.avail_in = static_cast<uInt>(text.size());
        stream_.next_out = reinterpret_cast<Bytef*>(out.data());
        stream_.avail_out = static_cast<uInt>(out.size());
        ::deflate(&stream_, Z_SYNC_FLUSH);  // the bound leaves room for all of it
        out.resize(out.size() - stream_.avail_out);
        return out;
    }

  private:
    z_stream stream_{};
};

void put_le(std::string& out, uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i)
        out += static_cast<char>((value >> (8 * i)) & 0xff);
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    return text;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
        auto end = text.find(separator, start);
        parts.push_back(trim(text.substr(start, end - start)));
        if (end == std::string_view::npos) return parts;
        start = end + 1;
    }
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// One permessage-deflate offer's parameters, when we can take it.
std::optional<Agreement> accept_offer(const std::vector<std::string_view>& parts) {
    bool client_no_context = false, server_no_context = false, client_bits = false;
    for (std::size_t i = 1; i < parts.size(); ++i) {
        auto equals = parts[i].find('=');
        auto name = trim(parts[i].substr(0, equals));
        std::string_view value =
            equals == std::string_view::npos ? "" : trim(parts[i].substr(equals + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        bool* seen = name == "client_no_context_takeover"   ? &client_no_context
                     : name == "server_no_context_takeover" ? &server_no_context
                     : name == "client_max_window_bits"     ? &client_bits
                                                            : nullptr;
        if (name == "server_max_window_bits") {
            if (value != "15") return std::nullopt;  // our shared bytes use a 32 kB window
            continue;
        }
        if (!seen || *seen) return std::nullopt;  // unknown, or given twice
        *seen = true;
        if (seen == &client_bits) {
            int bits = value.empty() ? 15 : std::atoi(std::string(value).c_str());
            if (bits < 8 || bits > 15) return std::nullopt;
        } else if (!value.empty()) {
            return std::nullopt;
        }
    }
    Agreement agreement{"permessage-deflate; server_no_context_takeover", client_no_context};
    if (client_no_context) agreement.response += "; client_no_context_takeover";
    return agreement;
}

}  // namespace

std::string compress_alone(std::string_view text) {
    thread_local Compressor compressor;
    return compressor.run(text);
}

namespace {
bus::GzipRun run_of(std::string bytes, std::string_view text) {
    bus::GzipRun run;
    run.bytes = std::move(bytes);
    run.crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
    run.combine_op = static_cast<uint32_t>(crc32_combine_gen(static_cast<z_off_t>(text.size())));
    run.length = text.size();
    return run;
}
}  // namespace

bus::GzipRun gzip_run(std::string_view text) {
    return run_of(compress_alone(text), text);
}

bus::GzipRun stored_run(std::string_view text) {
    return run_of(stored_block(text), text);
}

std::string stored_block(std::string_view text) {
    std::string out;
    do {
        auto part = text.substr(0, 65535);
        text.remove_prefix(part.size());
        out += '\0';  // not final, stored; we are byte-aligned after a sync flush
        put_le(out, part.size(), 2);
        put_le(out, ~part.size() & 0xffff, 2);
        out.append(part);
    } while (!text.empty());
    return out;
}

std::string_view gzip_header() {
    static constexpr char kHeader[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff";
    return {kHeader, 10};
}

std::string gzip_trailer(uint32_t crc, uint64_t length) {
    std::string out("\x01\x00\x00\xff\xff", 5);  // the final block, stored and empty
    put_le(out, crc, 4);
    put_le(out, length & 0xffffffffu, 4);
    return out;
}

std::string gzip(std::string_view text) {
    z_stream stream{};
    if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kWindowBits + 16, kMemLevel,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::bad_alloc();
    std::string out(deflateBound(&stream, text.size()) + 32, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = static_cast<uInt>(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    ::deflate(&stream, Z_FINISH);
    out.resize(out.size() - stream.avail_out);
    deflateEnd(&stream);
    return out;
}

bool accepts_gzip(std::string_view accept_encoding) {
    for (auto coding : split(accept_encoding, ',')) {
        auto parts = split(coding, ';');
        if (!iequals(parts[0], "gzip") && !iequals(parts[0], "x-gzip") && parts[0] != "*") continue;
        bool refused = false;
        for (std::size_t i = 1; i < parts.size(); ++i) {
            if (parts[i].size() > 2 && (parts[i][0] == 'q' || parts[i][0] == 'Q') &&
                parts[i][1] == '=')
                refused = std::atof(std::string(parts[i].substr(2)).c_str()) <= 0.0;
        }
        return !refused;
    }
    return false;
}

std::optional<Agreement> negotiate(std::string_view offers) {
    if (trim(offers).empty()) return std::nullopt;
    for (auto offer : split(offers, ',')) {
        auto parts = split(offer, ';');
        if (!iequals(parts[0], "permessage-deflate")) continue;
        if (auto agreement = accept_offer(parts)) return agreement;
    }
    return std::nullopt;
}

Inflater::Inflater(bool reset_each) : reset_each_(reset_each) {}

Inflater::~Inflater() {
    if (stream_) inflateEnd(stream_.get());
}

Result<std::string> Inflater::inflate(std::string_view compressed, std::size_t max_bytes) {
    if (!stream_) {
        stream_ = std::make_unique<z_stream>();
        if (inflateInit2(stream_.get(), -kWindowBits) != Z_OK) {
            stream_.reset();
            return Error(500, "cannot inflate: out of memory");
        }
    }
    std::string input(compressed);
    input.append(kSyncTail);
    std::string out;
    char chunk[16 * 1024];
    stream_->next_in = reinterpret_cast<Bytef*>(input.data());
    stream_->avail_in = static_cast<uInt>(input.size());
    for (;;) {
        stream_->next_out = reinterpret_cast<Bytef*>(chunk);
        stream_->avail_out = sizeof chunk;
        int status = ::inflate(stream_.get(), Z_SYNC_FLUSH);
        out.append(chunk, sizeof chunk - stream_->avail_out);
        if (out.size() > max_bytes) {
            inflateReset(stream_.get());
            return Error(1009, "message too big once inflated");
        }
        bool done = stream_->avail_in == 0 && stream_->avail_out != 0;
        if (status == Z_STREAM_END || (status == Z_BUF_ERROR && done)) break;
        if (status != Z_OK) {
            inflateReset(stream_.get());
            return Error(1007, "a compressed message that does not inflate");
        }
        if (done) break;
    }
    if (reset_each_) inflateReset(stream_.get());
    return out;
}

}  // namespace tickerd::gateway::deflate
