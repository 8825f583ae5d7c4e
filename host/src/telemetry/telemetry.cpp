#include "telemetry/telemetry.hpp"

#include <algorithm>
#include <cmath>

namespace tickerd::telemetry {

namespace json = boost::json;

namespace {

json::value optional_string(const std::optional<std::string>& value) {
    if (!value) return nullptr;
    return json::string(*value);
}

}  // namespace

json::object to_json(const Record& record) {
    boost::json::object out{{"vendor", record.vendor},
                            {"data_type", to_string(record.data_type)},
                            {"symbol", record.symbol},
                            {"timestamp", iso8601_utc(record.timestamp)},
                            {"success", record.success},
                            {"latency_ms", std::round(record.latency_ms * 10) / 10},
                            {"error", optional_string(record.error)},
                            {"error_class", optional_string(record.error_class)},
                            {"retry_count", record.retry_count},
                            {"fallback_used", record.fallback_used},
                            {"worker_id", record.worker_id}};
    if (!record.instance.empty()) out["instance"] = record.instance;
    return out;
}

void Store::record(Record record) {
    metrics_.count_vendor_call(record);
    std::lock_guard lock(mutex_);
    auto& ring = records_[static_cast<std::size_t>(record.data_type)];
    ring.push_front(std::move(record));
    if (ring.size() > kCapacity) ring.pop_back();
}

std::vector<Record> Store::newest(DataType type, std::size_t limit) const {
    std::lock_guard lock(mutex_);
    const auto& ring = records_[static_cast<std::size_t>(type)];
    auto count = std::min({limit, kCapacity, ring.size()});
    return {ring.begin(), ring.begin() + static_cast<std::ptrdiff_t>(count)};
}

}  // namespace tickerd::telemetry
