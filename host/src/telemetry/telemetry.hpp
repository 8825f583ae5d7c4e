// Telemetry: one record per vendor call, the newest 1000 kept per data type.
#pragma once

#include "core/model.hpp"

#include <array>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tickerd::telemetry {

struct Record {
    std::string vendor;
    DataType data_type = DataType::market_data;
    std::string symbol;
    std::chrono::system_clock::time_point timestamp;
    bool success = false;
    double latency_ms = 0;
    std::optional<std::string> error;        // human-readable detail
    std::optional<std::string> error_class;  // "transient", "rate_limited", "not_found", …
    int retry_count = 0;                     // 0 on the first attempt
    bool fallback_used = false;              // answered by a vendor other than the first
    std::string worker_id;
    std::string instance;  // which tickerd made the call, when several share the work
};

boost::json::object to_json(const Record& record);

class Store {
  public:
    static constexpr std::size_t kCapacity = 1000;

    void record(Record record);
    // Newest first, at most `limit` (capped at kCapacity).
    std::vector<Record> newest(DataType type, std::size_t limit) const;

  private:
    mutable std::mutex mutex_;
    std::array<std::deque<Record>, kAllDataTypes.size()> records_;
};

}  // namespace tickerd::telemetry
