#include "bus/redis_cluster.hpp"

#include <algorithm>
#include <charconv>

namespace tickerd::bus::cluster {

namespace {

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as the Redis Cluster
// specification gives it.
uint16_t crc16(std::string_view bytes) {
    uint16_t crc = 0;
    for (unsigned char byte : bytes) {
        crc ^= static_cast<uint16_t>(byte << 8);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                 : static_cast<uint16_t>(crc << 1);
    }
    return crc;
}

std::string_view text_of(const redisReply* reply) {
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS))
        return {};
    return {reply->str, reply->len};
}

// A RESP2 map: an array of name, value, name, value …
const redisReply* field(const redisReply* map, std::string_view name) {
    if (!map || map->type != REDIS_REPLY_ARRAY) return nullptr;
    for (std::size_t i = 0; i + 1 < map->elements; i += 2) {
        if (text_of(map->element[i]) == name) return map->element[i + 1];
    }
    return nullptr;
}

std::optional<long long> number_of(const redisReply* reply) {
    if (!reply) return std::nullopt;
    if (reply->type == REDIS_REPLY_INTEGER) return reply->integer;
    auto text = text_of(reply);
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// A node entry: {"id", "port", "ip", "endpoint", "hostname", "role", "health", …}.
std::optional<HostPort> address_of(const redisReply* node) {
    auto host = text_of(field(node, "ip"));
    if (host.empty()) host = text_of(field(node, "endpoint"));
    auto port = number_of(field(node, "port"));
    if (host.empty() || !port || *port <= 0 || *port > 65535) return std::nullopt;
    return HostPort{std::string(host), static_cast<int>(*port)};
}

Result<std::vector<SlotRange>> slots_of(const redisReply* slots) {
    if (!slots || slots->type != REDIS_REPLY_ARRAY || slots->elements % 2 != 0)
        return Error::malformed("CLUSTER SHARDS: a shard's slots are not pairs of numbers");
    std::vector<SlotRange> ranges;
    for (std::size_t i = 0; i < slots->elements; i += 2) {
        auto first = number_of(slots->element[i]);
        auto last = number_of(slots->element[i + 1]);
        if (!first || !last || *first < 0 || *last >= static_cast<long long>(kSlots) ||
            *first > *last)
            return Error::malformed("CLUSTER SHARDS: a slot range is out of bounds");
        ranges.push_back({static_cast<uint16_t>(*first), static_cast<uint16_t>(*last)});
    }
    return ranges;
}

}  // namespace

uint16_t slot_of(std::string_view key) {
    auto open = key.find('{');
    if (open != std::string_view::npos) {
        auto close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1)
            key = key.substr(open + 1, close - open - 1);
    }
    return crc16(key) % kSlots;
}

std::string key_in_slot_of(std::string_view prefix, std::string_view channel) {
    return std::string(prefix) + "{" + std::string(channel) + "}";
}

Result<std::vector<Shard>> parse_shards(const redisReply* reply) {
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return Error::malformed("CLUSTER SHARDS: not an array of shards");
    std::vector<Shard> shards;
    for (std::size_t i = 0; i < reply->elements; ++i) {
        const auto* entry = reply->element[i];
        auto slots = slots_of(field(entry, "slots"));
        if (!slots) return slots.error();
        Shard shard{std::move(*slots), std::nullopt, {}};
        const auto* nodes = field(entry, "nodes");
        if (!nodes || nodes->type != REDIS_REPLY_ARRAY)
            return Error::malformed("CLUSTER SHARDS: a shard has no nodes");
        for (std::size_t n = 0; n < nodes->elements; ++n) {
            const auto* node = nodes->element[n];
            auto address = address_of(node);
            if (!address || text_of(field(node, "health")) != "online") continue;
            if (text_of(field(node, "role")) == "master") {
                shard.primary = std::move(address);
            } else {
                shard.replicas.push_back(std::move(*address));
            }
        }
        shards.push_back(std::move(shard));
    }
    return shards;
}

std::array<int16_t, kSlots> SlotMap::filled(int16_t value) {
    std::array<int16_t, kSlots> slots;
    slots.fill(value);
    return slots;
}

SlotMap::SlotMap(const std::vector<Shard>& shards) {
    for (const auto& shard : shards) {
        if (!shard.primary) continue;  // its slots stay without an owner until it has one
        auto index = index_of(*shard.primary);
        for (const auto& range : shard.slots)
            std::fill(owner_index_.begin() + range.first, owner_index_.begin() + range.last + 1,
                      index);
    }
}

int16_t SlotMap::index_of(const HostPort& node) {
    auto found = std::find(nodes_.begin(), nodes_.end(), node);
    if (found != nodes_.end()) return static_cast<int16_t>(found - nodes_.begin());
    nodes_.push_back(node);
    return static_cast<int16_t>(nodes_.size() - 1);
}

std::optional<HostPort> SlotMap::owner(uint16_t slot) const {
    if (slot >= kSlots || owner_index_[slot] < 0) return std::nullopt;
    return nodes_[static_cast<std::size_t>(owner_index_[slot])];
}

void SlotMap::moved(uint16_t slot, const HostPort& node) {
    if (slot < kSlots) owner_index_[slot] = index_of(node);
}

std::vector<HostPort> SlotMap::primaries() const {
    std::vector<HostPort> in_order;
    for (auto index : owner_index_) {
        if (index < 0) continue;
        const auto& node = nodes_[static_cast<std::size_t>(index)];
        if (std::find(in_order.begin(), in_order.end(), node) == in_order.end())
            in_order.push_back(node);
    }
    return in_order;
}

std::optional<uint16_t> SlotMap::first_slot_of(const HostPort& node) const {
    for (std::size_t slot = 0; slot < kSlots; ++slot) {
        auto index = owner_index_[slot];
        if (index >= 0 && nodes_[static_cast<std::size_t>(index)] == node)
            return static_cast<uint16_t>(slot);
    }
    return std::nullopt;
}

std::optional<Following> follow(const SlotMap& map, const std::optional<HostPort>& current,
                                uint16_t slot) {
    if (current) {
        if (auto first = map.first_slot_of(*current)) return Following{*current, *first};
    }
    auto owner = map.owner(slot);
    if (!owner) return std::nullopt;
    return Following{*owner, *map.first_slot_of(*owner)};
}

bool SlotMap::covers_every_slot() const {
    return std::none_of(owner_index_.begin(), owner_index_.end(),
                        [](int16_t index) { return index < 0; });
}

std::optional<Redirect> parse_redirect(std::string_view error) {
    Redirect redirect;
    if (error.starts_with("MOVED ")) {
        error.remove_prefix(6);
    } else if (error.starts_with("ASK ")) {
        redirect.kind = Redirect::Kind::ask;
        error.remove_prefix(4);
    } else {
        return std::nullopt;
    }
    auto space = error.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    unsigned slot = 0;
    auto slot_text = error.substr(0, space);
    auto [end, ec] = std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), slot);
    if (ec != std::errc{} || end != slot_text.data() + slot_text.size() || slot >= kSlots)
        return std::nullopt;
    auto address = error.substr(space + 1);
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    int port = 0;
    auto port_text = address.substr(colon + 1);
    auto [port_end, port_ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_ec != std::errc{} || port_end != port_text.data() + port_text.size() || port <= 0 ||
        port > 65535)
        return std::nullopt;
    redirect.slot = static_cast<uint16_t>(slot);
    redirect.node = HostPort{std::string(address.substr(0, colon)), port};
    return redirect;
}

}  // namespace tickerd::bus::cluster
