// Deterministic simulated data: each symbol follows its own random walk, seeded by the
// symbol and the instance's seed, so a test can predict what the mock answers.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace mock {

class SymbolWalk {
  public:
    SymbolWalk(std::string_view symbol, uint64_t seed);

    // Advances the walk one step and returns the data object for `data_type`.
    // Returns an empty object for a data type the mock does not know.
    boost::json::object next(std::string_view data_type, int64_t now_unix_ms);

  private:
    boost::json::object market_data(int64_t now_unix_ms);
    boost::json::object news(int64_t now_unix_ms);
    boost::json::object fundamentals();
    boost::json::object analytics(int64_t now_unix_ms);
    boost::json::object insider_data(int64_t now_unix_ms);
    double uniform(double low, double high);

    std::string symbol_;
    std::mt19937_64 rng_;
    double open_;
    double previous_close_;
    double price_;
    double high_;
    double low_;
    int64_t volume_ = 0;
    uint64_t steps_ = 0;
};

// A stable 64-bit hash (FNV-1a), the same on every build, unlike std::hash.
uint64_t stable_hash(std::string_view text);

}  // namespace mock
