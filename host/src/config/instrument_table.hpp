// The instruments of a RuntimeConfig: sorted by symbol, and cheap to copy. Every change to
// the config makes a new snapshot; with 100,000 instruments copying them all per change was
// most of a POST's time. The table keeps its instruments in shared, immutable chunks, so a
// copy shares every chunk and a change copies only the one chunk it touches.
#pragma once

#include "core/model.hpp"

#include <cstddef>
#include <iterator>
#include <memory>
#include <string_view>
#include <vector>

namespace tickerd::config {

class InstrumentTable {
    using Chunk = std::vector<Instrument>;  // sorted; never changed once shared
    using Chunks = std::vector<std::shared_ptr<const Chunk>>;

  public:
    // Walks the instruments in symbol order.
    class const_iterator {
      public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = Instrument;
        using difference_type = std::ptrdiff_t;
        using pointer = const Instrument*;
        using reference = const Instrument&;

        const_iterator() = default;
        reference operator*() const { return (*(*chunks_)[chunk_])[offset_]; }
        pointer operator->() const { return &**this; }
        const_iterator& operator++();
        const_iterator operator++(int) {
            auto before = *this;
            ++*this;
            return before;
        }
        bool operator==(const const_iterator& other) const {
            return chunk_ == other.chunk_ && offset_ == other.offset_;
        }

      private:
        friend class InstrumentTable;
        const_iterator(const Chunks* chunks, std::size_t chunk, std::size_t offset)
            : chunks_(chunks), chunk_(chunk), offset_(offset) {}
        const Chunks* chunks_ = nullptr;
        std::size_t chunk_ = 0;
        std::size_t offset_ = 0;
    };

    InstrumentTable() = default;
    // Sorts `instruments`; of several with one symbol, the last is kept.
    explicit InstrumentTable(std::vector<Instrument> instruments);

    const_iterator begin() const { return {&chunks_, 0, 0}; }
    const_iterator end() const { return {&chunks_, chunks_.size(), 0}; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    const Instrument* find(std::string_view symbol) const;
    // The first instrument whose symbol is greater than `symbol`.
    const_iterator upper_bound(std::string_view symbol) const;

    // Adds `instrument`, or replaces the one with its symbol.
    void upsert(Instrument instrument);
    bool erase(std::string_view symbol);  // false: there was none

  private:
    std::size_t chunk_for(std::string_view symbol) const;  // where `symbol` is or would go
    Chunk& writable(std::size_t chunk);                    // copies a shared chunk first
    void split_if_large(std::size_t chunk);

    Chunks chunks_;
    std::size_t size_ = 0;
};

}  // namespace tickerd::config
