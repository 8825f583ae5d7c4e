// Telemetry: one record per vendor call, the newest 1000 kept per data type, and the
// counters GET /metrics exposes (Prometheus text format).
#pragma once

#include "core/model.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
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

// ---- Metrics ---------------------------------------------------------------------------

// A count that only goes up. Bumped on hot paths without a lock; relaxed, because a scrape
// needs each value, not an order between them.
class Counter {
  public:
    void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    uint64_t value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (open connections).
class Gauge {
  public:
    void add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
    int64_t value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<int64_t> value_{0};
};

// Observations counted in fixed buckets (upper bounds in seconds, ascending), lock-free.
class Histogram {
  public:
    static constexpr std::size_t kMaxBounds = 15;
    explicit Histogram(std::vector<double> upper_bounds);

    // Observations gathered first and added at once: a gather-write's messages cost one
    // atomic add per bucket they touch, not one per message.
    class Batch {
      public:
        explicit Batch(const Histogram& histogram) : histogram_(histogram) {}
        void observe(double seconds);
        bool empty() const { return observations_ == 0; }

      private:
        friend class Histogram;
        const Histogram& histogram_;
        std::array<uint32_t, kMaxBounds + 1> counts_{};
        uint32_t observations_ = 0;
        double sum_ = 0;
    };

    void observe(double seconds);
    void add(const Batch& batch);

    struct Snapshot {
        std::vector<double> upper_bounds;
        std::vector<uint64_t> cumulative;  // per bound, then +Inf (= the count)
        double sum = 0;
    };
    Snapshot snapshot() const;

  private:
    std::size_t bucket_of(double seconds) const;

    const std::vector<double> upper_bounds_;
    std::array<std::atomic<uint64_t>, kMaxBounds + 1> counts_{};  // the last one is +Inf
    std::atomic<double> sum_{0};
};

// Builds the Prometheus text exposition format (version 0.0.4).
class Exposition {
  public:
    using Labels = std::vector<std::pair<std::string_view, std::string_view>>;
    // A metric family's HELP and TYPE lines ("counter", "gauge", "histogram"); its samples
    // follow.
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, const Labels& labels, double value);
    void histogram(std::string_view name, const Labels& labels, const Histogram::Snapshot& h);
    std::string take() { return std::move(text_); }

  private:
    void write_name(std::string_view name, const Labels& labels,
                    std::pair<std::string_view, std::string_view> extra = {});
    std::string text_;
};

enum class StreamProtocol { sse, websocket };
std::string_view to_string(StreamProtocol protocol);

// Every stream of one protocol.
struct StreamCounters {
    Counter opened;
    Gauge open;
    Counter deliveries;  // messages written to clients
    Counter slow_consumer_closes;
};

// TCP connections, counted from accept to close, whatever they become.
struct ConnectionCounters {
    Counter accepted;
    Counter refused;  // over limits.max_connections or max_connections_per_ip
    Gauge open;
};

struct MetricsOptions {
    std::vector<std::string> published_types;  // counted besides the five polled ones
    bool symbol_labels = false;  // a `symbol` label on the per-message and per-call counts
};

// The process's counters. The gateway's are bumped on its hot paths without a lock; the
// per-call ones (a vendor call is rare next to a delivery) under a mutex.
class Metrics {
  public:
    explicit Metrics(MetricsOptions options = {});

    ConnectionCounters connections;
    StreamCounters& streams(StreamProtocol protocol) {
        return streams_[static_cast<std::size_t>(protocol)];
    }
    // From a message's timestamp to the write that handed it to a client's socket.
    Histogram delivery_latency;

    // A message this instance published (a poll's answer, or the publish API's).
    void count_published(std::string_view type, std::string_view symbol);
    void count_vendor_call(const Record& record);

    // Every family above, in the exposition format.
    void write(Exposition& out) const;

  private:
    void write_streams(Exposition& out) const;
    void write_published(Exposition& out) const;
    void write_vendor_calls(Exposition& out) const;

    const MetricsOptions options_;
    std::array<StreamCounters, 2> streams_;
    // One counter per type known at start (the published types are fixed until a restart).
    std::vector<std::string> type_names_;
    std::unique_ptr<Counter[]> published_;

    mutable std::mutex mutex_;  // what follows
    std::map<std::pair<std::string, std::string>, uint64_t> published_by_symbol_;
    // (vendor, data type, symbol or "") -> result counts, error classes, duration
    struct CallCounts {
        uint64_t success = 0;
        uint64_t failure = 0;
        std::map<std::string, uint64_t> errors;  // by error class
        uint64_t fallback_answers = 0;
    };
    std::map<std::tuple<std::string, DataType, std::string>, CallCounts> calls_;
    std::map<std::pair<std::string, DataType>, std::unique_ptr<Histogram>> call_durations_;
};

class Store {
  public:
    static constexpr std::size_t kCapacity = 1000;

    explicit Store(MetricsOptions options = {}) : metrics_(std::move(options)) {}

    // Keeps the record and counts the call in metrics().
    void record(Record record);
    // Newest first, at most `limit` (capped at kCapacity).
    std::vector<Record> newest(DataType type, std::size_t limit) const;

    Metrics& metrics() { return metrics_; }
    const Metrics& metrics() const { return metrics_; }

  private:
    Metrics metrics_;
    mutable std::mutex mutex_;
    std::array<std::deque<Record>, kAllDataTypes.size()> records_;
};

}  // namespace tickerd::telemetry
