// libFuzzer target for what a stream's client chooses (scripts/fuzz.sh): the input split in
// parts → a Last-Event-ID for one and for three channels (parse_last_event_id), a message id
// (seq_of_id), a view's mode / fields / where (parse_view), a Sec-WebSocket-Extensions offer
// (deflate::negotiate), an Accept-Encoding (accepts_gzip), a permessage-deflate message
// (Inflater, within a limit), and two JSON objects (merge_patch).
// Never a crash; a refusal is a 4xx naming something; positions name exactly the stream's
// channels; equal views give equal keys; an agreement always keeps server_no_context_takeover;
// nothing inflates past its limit; a patch, when there is one, turns the first object into the
// second.
#include "gateway/deflate.hpp"
#include "gateway/streams.hpp"
#include "gateway/views.hpp"

#include "fuzz_support.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

using namespace tickerd;
using namespace tickerd::gateway;
namespace json = boost::json;

namespace {

// The input cut at NUL bytes into at most `count` parts (missing ones empty).
std::vector<std::string_view> parts_of(std::string_view input, std::size_t count) {
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < count) {
        auto end = input.find('\0');
        if (end == std::string_view::npos) break;
        parts.push_back(input.substr(0, end));
        input.remove_prefix(end + 1);
    }
    parts.push_back(input);
    parts.resize(count);
    return parts;
}

void check_error(const Error& error) {
    FUZZ_REQUIRE(error.status >= 400 && error.status < 500);
    FUZZ_REQUIRE(!error.detail.empty());
}

void check_resume(std::string_view id) {
    const ChannelSet one{"stream:market_data:AAPL"};
    const ChannelSet three{"stream:market_data:AAPL", "stream:news:AAPL", "stream:signals:X"};
    for (const auto* channels : {&one, &three}) {
        auto positions = parse_last_event_id(id, *channels);
        if (!positions) {
            check_error(positions.error());
            continue;
        }
        FUZZ_REQUIRE(positions->size() == channels->size());
        for (const auto& channel : *channels)
            FUZZ_REQUIRE(positions->contains(channel));
    }
    if (auto seq = bus::seq_of_id(id)) FUZZ_REQUIRE(id.find('-') != std::string_view::npos);
}

void check_view(std::string_view mode, std::string_view fields, std::string_view where) {
    auto view = parse_view(mode, fields, where);
    if (!view) return check_error(view.error());
    auto again = parse_view(mode, fields, where);
    FUZZ_REQUIRE(again && again->key() == view->key());
    FUZZ_REQUIRE(view->fields.size() <= 100 && view->where.size() <= 20);
}

void check_compression(std::string_view offer, std::string_view accept, std::string_view bytes) {
    if (auto agreed = deflate::negotiate(offer)) {
        FUZZ_REQUIRE(
            agreed->response.starts_with("permessage-deflate; server_no_context_takeover"));
    }
    (void)deflate::accepts_gzip(accept);
    deflate::Inflater inflater(false);
    for (int round = 0; round < 2; ++round) {
        auto plain = inflater.inflate(bytes, 4096);
        if (plain) {
            FUZZ_REQUIRE(plain->size() <= 4096);
        } else {
            FUZZ_REQUIRE(plain.error().status == 1007 || plain.error().status == 1009);
        }
    }
}

void check_patch(std::string_view before_text, std::string_view after_text) {
    boost::system::error_code ec1, ec2;
    auto before = json::parse(before_text, ec1);
    auto after = json::parse(after_text, ec2);
    if (ec1 || ec2 || !before.is_object() || !after.is_object()) return;
    auto patch = merge_patch(before.get_object(), after.get_object());
    if (!patch) return;
    auto applied = before.get_object();
    apply_merge_patch(applied, *patch);
    FUZZ_REQUIRE(applied == after.get_object());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    auto parts = parts_of(input, 8);
    check_resume(parts[0]);
    check_view(parts[1], parts[2], parts[3]);
    check_compression(parts[4], parts[5], parts[6]);
    auto split = parts[7].find('|');
    if (split != std::string_view::npos)
        check_patch(parts[7].substr(0, split), parts[7].substr(split + 1));
    return 0;
}
