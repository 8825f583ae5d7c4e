// The state store's journal: the changes made since the last snapshot, one JSON line each,
// after a header line naming the snapshot they follow:
//   {"format":1,"generation":7}
//   {"instrument":{"symbol":"AAPL",…}}
//   {"remove_instrument":"MSFT"}
//   {"cadence":{…}}  {"global":{…}}  {"price_rule":{…}}  {"remove_price_rule":"rule-1a2b3c4d"}
// A snapshot names its generation too ("generation" in state.json). The journal of the
// snapshot's generation follows it; so may one of the next generation, begun in the second
// journal file while the next snapshot was being written (StateStore::compact_behind), and
// replayed after it. A journal of any other generation is older than the snapshot, which
// holds its changes, and is not replayed.
#pragma once

#include "config/config.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tickerd::config::detail {

struct RemovedInstrument {
    std::string symbol;
};
struct RemovedPriceRule {
    std::string id;
};

struct Change {
    std::variant<Instrument, RemovedInstrument, Cadence, GlobalSettings, PriceRule,
                 RemovedPriceRule>
        what;
};

void apply(RuntimeConfig& config, const Change& change);
std::string journal_line(const Change& change);  // one line, '\n' included
std::string journal_header(uint64_t generation);

// What replaying a journal found.
struct Replay {
    std::size_t bytes = 0;    // what was read and applied, header included
    std::size_t changes = 0;  // lines applied
    bool appendable = false;  // it follows the snapshot and ends cleanly: a line may be added
};

// The generation a journal's header names, from its first line alone; none for a file that
// is missing or holds no complete header (replay_journal says what is wrong with it).
std::optional<uint64_t> journal_generation(const std::filesystem::path& file);

// Applies to `config` the changes in `file` that follow the snapshot of `generation`. A torn
// last line (a crash while it was written) is left out; any other line that cannot be read
// throws ConfigError naming the file and the line. A missing file is an empty journal.
Replay replay_journal(const std::filesystem::path& file, uint64_t generation,
                      RuntimeConfig& config);

}  // namespace tickerd::config::detail
