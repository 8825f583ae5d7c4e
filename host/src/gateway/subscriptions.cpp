// Which channels a stream asks for: the explicit channels plus data_types × symbols, from a
// query string, a JSON body or a WebSocket action, validated the same way everywhere.
#include "gateway/streams.hpp"

#include <boost/json.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <unordered_set>

namespace tickerd::gateway {

namespace json = boost::json;

std::optional<ChannelKey> normalize_channel(std::string_view text, const ChannelTypes& types) {
    if (auto system = parse_channel(text); system && system->symbol == kSystemAlerts) {
        if (!types.serves(system->type)) return std::nullopt;
        return system;
    }
    // Channels are accepted with a lower-case symbol too, like bare symbols are.
    auto last_colon = text.rfind(':');
    if (last_colon == std::string_view::npos) return std::nullopt;
    auto symbol = normalize_symbol(text.substr(last_colon + 1));
    if (!symbol) return std::nullopt;
    auto key = parse_channel(std::string(text.substr(0, last_colon + 1)) + *symbol);
    if (!key || !types.serves(key->type)) return std::nullopt;
    return key;
}

namespace {

std::string trim(std::string_view text) {
    auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

void append_comma_separated(std::string_view value, std::vector<std::string>& into) {
    while (true) {
        auto comma = value.find(',');
        auto item = trim(value.substr(0, comma));
        if (!item.empty()) into.push_back(std::move(item));
        if (comma == std::string_view::npos) return;
        value.remove_prefix(comma + 1);
    }
}

// Reads one optional array-of-strings field.
Result<void> read_string_array(const json::value& value, std::string_view field,
                               std::vector<std::string>& into) {
    auto wrong_type = Error::invalid(std::string(field), "expected an array of strings");
    if (value.is_null()) return {};
    if (!value.is_array()) return wrong_type;
    for (const auto& item : value.get_array()) {
        if (!item.is_string()) return wrong_type;
        into.emplace_back(item.get_string());
    }
    return {};
}

}  // namespace

// RFC 3986 percent-decoding (declared in streams.hpp); `+` is left alone (it is a valid symbol
// character nowhere, and form encoding is not what EventSource URLs use).
std::optional<std::string> percent_decode(std::string_view text) {
    auto checked = boost::urls::make_pct_string_view(text);
    if (!checked) return std::nullopt;  // a % not followed by two hex digits
    return checked->decode();
}

Result<ChannelSet> resolve_channels(const std::vector<std::string>& channels,
                                    const std::vector<std::string>& data_types,
                                    const std::vector<std::string>& symbols,
                                    std::size_t max_channels, EmptyChannels empty,
                                    const ChannelTypes& types) {
    ChannelSet result;
    std::unordered_set<std::string> seen;
    auto add = [&](std::string name) {
        if (seen.insert(name).second) result.push_back(std::move(name));
    };

    for (const auto& channel : channels) {
        auto key = normalize_channel(channel, types);
        if (!key) {
            return Error::invalid("channels", "'" + channel +
                                                  "' is not a valid channel (expected "
                                                  "stream:<data_type>:<SYMBOL>, the data type one "
                                                  "of " +
                                                  types.describe() + ")");
        }
        add(key->name());
    }
    for (const auto& text : data_types) {
        if (!types.serves(text)) {
            return Error::invalid("data_types", "'" + text +
                                                    "' is not a known data type (expected one of " +
                                                    types.describe() + ")");
        }
    }
    std::vector<std::string> normalized_symbols;
    for (const auto& text : symbols) {
        auto symbol = normalize_symbol(text);
        if (!symbol) {
            return Error::invalid(
                "symbols",
                "'" + text +
                    "' is not a valid symbol (expected 1-20 characters of A-Z 0-9 . ^ = -)");
        }
        normalized_symbols.push_back(std::move(*symbol));
    }
    for (const auto& type : data_types) {
        for (const auto& symbol : normalized_symbols)
            add(channel_name(std::string_view(type), symbol));
    }

    if (result.empty() && empty == EmptyChannels::refuse) {
        return Error::malformed("At least one channel must be specified");
    }
    if (result.size() > max_channels) {
        return Error::invalid("channels", std::to_string(result.size()) +
                                              " channels requested, at most " +
                                              std::to_string(max_channels) + " allowed per stream");
    }
    return result;
}

Result<ChannelSet> resolve_channels_from_query(std::string_view query, std::size_t max_channels,
                                               EmptyChannels empty, const ChannelTypes& types) {
    ChannelRequest request;
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        auto equals = pair.find('=');
        auto key = percent_decode(pair.substr(0, equals));
        auto value = percent_decode(equals == std::string_view::npos ? std::string_view{}
                                                                     : pair.substr(equals + 1));
        if (!key || !value) {
            return Error::malformed("malformed query string: bad percent-encoding in '" +
                                    std::string(pair) + "'");
        }
        if (*key == "channels") append_comma_separated(*value, request.channels);
        if (*key == "data_types") append_comma_separated(*value, request.data_types);
        if (*key == "symbols") append_comma_separated(*value, request.symbols);
    }
    return resolve_channels(request.channels, request.data_types, request.symbols, max_channels,
                            empty, types);
}

Result<ChannelRequest> read_channel_request(const json::object& object,
                                            std::initializer_list<std::string_view> other_keys) {
    ChannelRequest request;
    for (const auto& [key, value] : object) {
        Result<void> read;
        if (key == "channels") {
            read = read_string_array(value, key, request.channels);
        } else if (key == "data_types") {
            read = read_string_array(value, key, request.data_types);
        } else if (key == "symbols") {
            read = read_string_array(value, key, request.symbols);
        } else if (std::find(other_keys.begin(), other_keys.end(), key) == other_keys.end()) {
            read = Error::invalid(std::string(key),
                                  "unknown field (expected channels, data_types, symbols)");
        }
        if (!read) return read.error();
    }
    return request;
}

Result<ChannelSet> resolve_channels_from_body(const json::value& body, std::size_t max_channels,
                                              EmptyChannels empty, const ChannelTypes& types) {
    if (!body.is_object()) {
        return Error::invalid("body",
                              "expected a JSON object with channels, data_types and/or symbols");
    }
    auto request = read_channel_request(body.get_object());
    if (!request) return request.error();
    return resolve_channels(request->channels, request->data_types, request->symbols, max_channels,
                            empty, types);
}

Result<void> authorize_channels(const access::Principal& principal, const ChannelSet& channels) {
    for (const auto& channel : channels) {
        if (!principal.may_read(channel)) {
            return Error(403, "channels: this credential may not read '" + channel + "'");
        }
    }
    return {};
}

Result<ResumePositions> parse_last_event_id(std::string_view id, const ChannelSet& channels) {
    auto refuse = [&](const std::string& why) {
        return Error(400, "Last-Event-ID '" + std::string(id.substr(0, 64)) + "': " + why);
    };
    ResumePositions positions;
    if (channels.size() == 1) {
        auto seq = bus::seq_of_id(id);
        if (!seq) return refuse("expected a message id such as 1764504000123-42");
        positions.emplace(channels.front(), *seq);
        return positions;
    }
    std::size_t start = 0;
    for (const auto& channel : channels) {
        if (start > id.size()) {
            return refuse("fewer positions than the stream's " + std::to_string(channels.size()) +
                          " channels");
        }
        auto end = std::min(id.find('.', start), id.size());
        auto field = id.substr(start, end - start);
        if (field.empty() || field.size() > 19 ||
            field.find_first_not_of("0123456789") != std::string_view::npos) {
            return refuse("expected one number per channel, joined by '.'");
        }
        positions.emplace(channel, std::stoull(std::string(field)));
        start = end + 1;
    }
    if (start <= id.size()) {
        return refuse("more positions than the stream's " + std::to_string(channels.size()) +
                      " channels");
    }
    return positions;
}

}  // namespace tickerd::gateway
