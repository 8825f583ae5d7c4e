#include "config/instrument_table.hpp"

#include <algorithm>

namespace tickerd::config {

namespace {

// Small enough that copying one chunk per change costs microseconds, large enough that
// copying the list of chunks per snapshot costs little too (400 pointers at 100,000).
constexpr std::size_t kChunkSize = 256;

bool symbol_less(const Instrument& instrument, std::string_view symbol) {
    return instrument.symbol < symbol;
}

}  // namespace

InstrumentTable::const_iterator& InstrumentTable::const_iterator::operator++() {
    if (++offset_ == (*chunks_)[chunk_]->size()) {
        ++chunk_;
        offset_ = 0;
    }
    return *this;
}

InstrumentTable::InstrumentTable(std::vector<Instrument> instruments) {
    std::stable_sort(instruments.begin(), instruments.end(),
                     [](const Instrument& a, const Instrument& b) { return a.symbol < b.symbol; });
    std::vector<Instrument> unique;
    for (auto& instrument : instruments) {
        if (!unique.empty() && unique.back().symbol == instrument.symbol) {
            unique.back() = std::move(instrument);
        } else {
            unique.push_back(std::move(instrument));
        }
    }
    size_ = unique.size();
    for (std::size_t first = 0; first < unique.size(); first += kChunkSize) {
        auto last = std::min(first + kChunkSize, unique.size());
        chunks_.push_back(std::make_shared<Chunk>(
            std::make_move_iterator(unique.begin() + static_cast<std::ptrdiff_t>(first)),
            std::make_move_iterator(unique.begin() + static_cast<std::ptrdiff_t>(last))));
    }
}

std::size_t InstrumentTable::chunk_for(std::string_view symbol) const {
    // The first chunk whose last symbol is not less than `symbol`; past the end, the last.
    auto found = std::partition_point(chunks_.begin(), chunks_.end(), [&](const auto& chunk) {
        return chunk->back().symbol < symbol;
    });
    auto index = static_cast<std::size_t>(found - chunks_.begin());
    return chunks_.empty() ? 0 : std::min(index, chunks_.size() - 1);
}

const Instrument* InstrumentTable::find(std::string_view symbol) const {
    if (chunks_.empty()) return nullptr;
    const auto& chunk = *chunks_[chunk_for(symbol)];
    auto found = std::lower_bound(chunk.begin(), chunk.end(), symbol, symbol_less);
    if (found == chunk.end() || found->symbol != symbol) return nullptr;
    return &*found;
}

InstrumentTable::const_iterator InstrumentTable::upper_bound(std::string_view symbol) const {
    if (chunks_.empty()) return end();
    auto index = chunk_for(symbol);
    const auto& chunk = *chunks_[index];
    auto found = std::upper_bound(
        chunk.begin(), chunk.end(), symbol,
        [](std::string_view key, const Instrument& instrument) { return key < instrument.symbol; });
    auto offset = static_cast<std::size_t>(found - chunk.begin());
    if (offset == chunk.size()) return {&chunks_, index + 1, 0};
    return {&chunks_, index, offset};
}

InstrumentTable::Chunk& InstrumentTable::writable(std::size_t chunk) {
    // A chunk only this table holds is changed in place (replaying a journal at start would
    // otherwise copy a chunk per line). Every chunk is made as a mutable Chunk, so casting the
    // const away is sound; no other thread can take a new reference to a chunk that only
    // this table holds.
    if (chunks_[chunk].use_count() == 1) return const_cast<Chunk&>(*chunks_[chunk]);
    // Another snapshot shares the chunk: change a copy of it.
    auto copy = std::make_shared<Chunk>(*chunks_[chunk]);
    auto& contents = *copy;
    chunks_[chunk] = std::move(copy);
    return contents;
}

void InstrumentTable::split_if_large(std::size_t chunk) {
    const auto& full = *chunks_[chunk];
    if (full.size() < 2 * kChunkSize) return;
    auto middle = full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2);
    auto low = std::make_shared<Chunk>(full.begin(), middle);
    auto high = std::make_shared<Chunk>(middle, full.end());
    chunks_[chunk] = std::move(low);
    chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(chunk) + 1, std::move(high));
}

void InstrumentTable::upsert(Instrument instrument) {
    if (chunks_.empty()) {
        chunks_.push_back(std::make_shared<Chunk>(Chunk{std::move(instrument)}));
        size_ = 1;
        return;
    }
    auto index = chunk_for(instrument.symbol);
    auto& chunk = writable(index);
    auto found = std::lower_bound(chunk.begin(), chunk.end(), instrument.symbol, symbol_less);
    if (found != chunk.end() && found->symbol == instrument.symbol) {
        *found = std::move(instrument);
        return;
    }
    chunk.insert(found, std::move(instrument));
    ++size_;
    split_if_large(index);
}

bool InstrumentTable::erase(std::string_view symbol) {
    if (!find(symbol)) return false;
    auto index = chunk_for(symbol);
    auto& chunk = writable(index);
    chunk.erase(std::lower_bound(chunk.begin(), chunk.end(), symbol, symbol_less));
    if (chunk.empty()) chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(index));
    --size_;
    return true;
}

}  // namespace tickerd::config
