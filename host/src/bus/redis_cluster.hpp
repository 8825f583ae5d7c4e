// Internal to bus/: what talking to a Redis Cluster needs beyond one connection, as pure
// functions and one small map, unit-tested without a network. hiredis (Debian 12) has no
// cluster support, so this layer sits on top of RedisLink: which of the 16,384 hash slots a
// key or channel lives in, which node serves each slot (read from CLUSTER SHARDS, asked of
// any node), and what a MOVED or ASK error redirects to.
//
// Keys and channels of one stream share a slot: a channel has no hash tag, so its slot is
// that of its whole name, and in a cluster its keys carry the channel as their hash tag
// (`latest:{stream:market_data:AAPL}`), which puts them in the channel's slot; a script
// touching them (the publish API's numbering) then runs on one node.
#pragma once

#include "bus/bus.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickerd::bus::cluster {

inline constexpr std::size_t kSlots = 16384;

// CRC16-XMODEM of the key's hash tag (the text between its first '{' and the next '}', when
// that is not empty), else of the whole key, modulo 16,384: Redis Cluster's key slot.
uint16_t slot_of(std::string_view key);

// A key named after a channel, in the channel's slot: "latest:" + "{stream:…}".
std::string key_in_slot_of(std::string_view prefix, std::string_view channel);

struct SlotRange {
    uint16_t first = 0;
    uint16_t last = 0;  // inclusive
    bool operator==(const SlotRange&) const = default;
};

// One shard: its slot ranges, the primary serving them and its replicas (only the nodes
// CLUSTER SHARDS says are online).
struct Shard {
    std::vector<SlotRange> slots;
    std::optional<HostPort> primary;
    std::vector<HostPort> replicas;
};

// CLUSTER SHARDS' reply (RESP2: arrays of name/value pairs) as shards; an error names what
// the reply lacked. A node's address is its "ip" (or "endpoint") and "port".
Result<std::vector<Shard>> parse_shards(const redisReply* reply);

// Which primary serves each slot. Built from the shards; a MOVED updates one slot (the
// cluster's own hint that the map is stale: the caller asks for CLUSTER SHARDS again soon).
class SlotMap {
  public:
    SlotMap() = default;  // no slot has an owner
    explicit SlotMap(const std::vector<Shard>& shards);
    std::optional<HostPort> owner(uint16_t slot) const;
    void moved(uint16_t slot, const HostPort& node);
    std::vector<HostPort> primaries() const;  // each once, in slot order
    std::optional<uint16_t> first_slot_of(const HostPort& node) const;
    bool covers_every_slot() const;

  private:
    int16_t index_of(const HostPort& node);

    std::vector<HostPort> nodes_;                           // every primary once
    std::array<int16_t, kSlots> owner_index_ = filled(-1);  // into nodes_; -1: no owner
    static std::array<int16_t, kSlots> filled(int16_t value);
};

// The primary a shard's links use under a new map: the one they use now while it still
// serves slots (resharding moves slots between primaries, not the primaries), else the one
// serving `slot` — a slot the shard served, which after a failover its promoted replica
// serves. With the slot to follow from then on (one that primary serves now). nullopt: no
// primary serves `slot` (yet).
struct Following {
    HostPort primary;
    uint16_t slot = 0;
};
std::optional<Following> follow(const SlotMap& map, const std::optional<HostPort>& current,
                                uint16_t slot);

// "MOVED 3999 127.0.0.1:6381": the slot has a new owner for good. "ASK 3999 127.0.0.1:6381":
// during a migration, this one command goes there (preceded by ASKING). Anything else:
// nullopt.
struct Redirect {
    enum class Kind { moved, ask };
    Kind kind = Kind::moved;
    uint16_t slot = 0;
    HostPort node;
};
std::optional<Redirect> parse_redirect(std::string_view error);

}  // namespace tickerd::bus::cluster
