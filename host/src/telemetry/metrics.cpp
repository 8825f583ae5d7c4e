// The counters behind GET /metrics, and the Prometheus text format they are written in.
#include "telemetry/telemetry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace tickerd::telemetry {

namespace {

// Vendor calls take from a few milliseconds (a cached answer) to the call timeout (30 s).
const std::vector<double> kCallBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,    2.5,   5,    10,  30};
// A delivery takes from tens of microseconds (an idle client on the same host) to a second
// (a client about to be cut as a slow consumer).
const std::vector<double> kDeliveryBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                             0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};

// Prometheus numbers: integers as integers, the rest in the shortest form that reads back.
std::string format_number(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (std::isnan(value)) return "NaN";
    char buffer[32];
    if (value == std::floor(value) && std::fabs(value) < 1e15) {
        std::snprintf(buffer, sizeof buffer, "%.0f", value);
    } else {
        std::snprintf(buffer, sizeof buffer, "%.17g", value);
        // Fewer digits when they read back the same (0.1, not 0.10000000000000001).
        for (int digits = 1; digits < 17; ++digits) {
            char shorter[32];
            std::snprintf(shorter, sizeof shorter, "%.*g", digits, value);
            if (std::strtod(shorter, nullptr) == value) return shorter;
        }
    }
    return buffer;
}

// A label value with \, " and newlines escaped, as the format requires.
void append_escaped(std::string& out, std::string_view value) {
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

}  // namespace

// ---- Histogram -------------------------------------------------------------------------

Histogram::Histogram(std::vector<double> upper_bounds) : upper_bounds_(std::move(upper_bounds)) {
    if (upper_bounds_.size() > kMaxBounds) throw std::invalid_argument("too many buckets");
}

std::size_t Histogram::bucket_of(double seconds) const {
    auto it = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), seconds);
    return static_cast<std::size_t>(it - upper_bounds_.begin());  // size() is +Inf
}

void Histogram::observe(double seconds) {
    counts_[bucket_of(seconds)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(seconds, std::memory_order_relaxed);
}

void Histogram::Batch::observe(double seconds) {
    ++counts_[histogram_.bucket_of(seconds)];
    ++observations_;
    sum_ += seconds;
}

void Histogram::add(const Batch& batch) {
    if (batch.empty()) return;
    for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
        if (batch.counts_[i]) counts_[i].fetch_add(batch.counts_[i], std::memory_order_relaxed);
    }
    sum_.fetch_add(batch.sum_, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot snapshot{upper_bounds_, {}, sum_.load(std::memory_order_relaxed)};
    uint64_t running = 0;
    for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        snapshot.cumulative.push_back(running);
    }
    return snapshot;
}

// ---- Exposition ------------------------------------------------------------------------

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
    text_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    text_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void Exposition::write_name(std::string_view name, const Labels& labels,
                            std::pair<std::string_view, std::string_view> extra) {
    text_.append(name);
    if (labels.empty() && extra.first.empty()) return;
    text_ += '{';
    bool first = true;
    auto label = [&](std::string_view key, std::string_view value) {
        if (!first) text_ += ',';
        first = false;
        text_.append(key).append("=\"");
        append_escaped(text_, value);
        text_ += '"';
    };
    for (const auto& [key, value] : labels)
        label(key, value);
    if (!extra.first.empty()) label(extra.first, extra.second);
    text_ += '}';
}

void Exposition::sample(std::string_view name, const Labels& labels, double value) {
    write_name(name, labels);
    text_.append(" ").append(format_number(value)).append("\n");
}

void Exposition::histogram(std::string_view name, const Labels& labels,
                           const Histogram::Snapshot& h) {
    std::string bucket = std::string(name) + "_bucket";
    for (std::size_t i = 0; i < h.cumulative.size(); ++i) {
        auto bound = i < h.upper_bounds.size() ? format_number(h.upper_bounds[i]) : "+Inf";
        write_name(bucket, labels, {"le", bound});
        text_.append(" ").append(format_number(static_cast<double>(h.cumulative[i]))).append("\n");
    }
    sample(std::string(name) + "_sum", labels, h.sum);
    sample(std::string(name) + "_count", labels, static_cast<double>(h.cumulative.back()));
}

// ---- Metrics ---------------------------------------------------------------------------

std::string_view to_string(StreamProtocol protocol) {
    return protocol == StreamProtocol::sse ? "sse" : "websocket";
}

Metrics::Metrics(MetricsOptions options)
    : delivery_latency(kDeliveryBounds), options_(std::move(options)) {
    for (auto type : kAllDataTypes)
        type_names_.emplace_back(to_string(type));
    for (const auto& type : options_.published_types) {
        if (std::find(type_names_.begin(), type_names_.end(), type) == type_names_.end())
            type_names_.push_back(type);
    }
    published_ = std::make_unique<Counter[]>(type_names_.size());
}

void Metrics::count_published(std::string_view type, std::string_view symbol) {
    if (options_.symbol_labels) {
        std::lock_guard lock(mutex_);
        ++published_by_symbol_[{std::string(type), std::string(symbol)}];
        return;
    }
    for (std::size_t i = 0; i < type_names_.size(); ++i) {
        if (type_names_[i] == type) return published_[i].add();
    }
}

void Metrics::count_vendor_call(const Record& record) {
    std::string symbol = options_.symbol_labels ? record.symbol : std::string();
    std::lock_guard lock(mutex_);
    auto& counts = calls_[{record.vendor, record.data_type, symbol}];
    ++(record.success ? counts.success : counts.failure);
    if (!record.success) ++counts.errors[record.error_class.value_or("unknown")];
    counts.fallback_answers += record.success && record.fallback_used;
    auto& duration = call_durations_[{record.vendor, record.data_type}];
    if (!duration) duration = std::make_unique<Histogram>(kCallBounds);
    duration->observe(record.latency_ms / 1000.0);
}

void Metrics::write(Exposition& out) const {
    out.family("tickerd_connections_accepted_total", "counter",
               "TCP connections accepted (HTTP, SSE and WebSocket alike)");
    out.sample("tickerd_connections_accepted_total", {},
               static_cast<double>(connections.accepted.value()));
    out.family("tickerd_connections_refused_total", "counter",
               "Connections closed at once for being over limits.max_connections or "
               "limits.max_connections_per_ip");
    out.sample("tickerd_connections_refused_total", {},
               static_cast<double>(connections.refused.value()));
    out.family("tickerd_connections_open", "gauge", "TCP connections open now");
    out.sample("tickerd_connections_open", {}, static_cast<double>(connections.open.value()));
    write_streams(out);
    write_published(out);
    write_vendor_calls(out);
}

void Metrics::write_streams(Exposition& out) const {
    struct Family {
        const char* name;
        const char* type;
        const char* help;
        double (*value)(const StreamCounters&);
    };
    const Family families[] = {
        {"tickerd_streams_opened_total", "counter", "Streams opened, by protocol",
         [](const StreamCounters& s) { return static_cast<double>(s.opened.value()); }},
        {"tickerd_streams_open", "gauge", "Streams open now, by protocol",
         [](const StreamCounters& s) { return static_cast<double>(s.open.value()); }},
        {"tickerd_deliveries_total", "counter", "Messages written to stream clients, by protocol",
         [](const StreamCounters& s) { return static_cast<double>(s.deliveries.value()); }},
        {"tickerd_slow_consumer_closes_total", "counter",
         "Streams cut because the client did not keep up (its send queue overflowed)",
         [](const StreamCounters& s) {
             return static_cast<double>(s.slow_consumer_closes.value());
         }},
    };
    for (const auto& family : families) {
        out.family(family.name, family.type, family.help);
        for (auto protocol : {StreamProtocol::sse, StreamProtocol::websocket}) {
            out.sample(family.name, {{"protocol", to_string(protocol)}},
                       family.value(streams_[static_cast<std::size_t>(protocol)]));
        }
    }
    out.family("tickerd_delivery_latency_seconds", "histogram",
               "From a message's timestamp to the write that handed it to a client's socket");
    out.histogram("tickerd_delivery_latency_seconds", {}, delivery_latency.snapshot());
}

void Metrics::write_published(Exposition& out) const {
    out.family("tickerd_messages_published_total", "counter",
               "Messages this instance published (polled or through the publish API), by data "
               "type");
    if (!options_.symbol_labels) {
        for (std::size_t i = 0; i < type_names_.size(); ++i) {
            out.sample("tickerd_messages_published_total", {{"data_type", type_names_[i]}},
                       static_cast<double>(published_[i].value()));
        }
        return;
    }
    std::lock_guard lock(mutex_);
    for (const auto& [key, count] : published_by_symbol_) {
        out.sample("tickerd_messages_published_total",
                   {{"data_type", key.first}, {"symbol", key.second}}, static_cast<double>(count));
    }
}

void Metrics::write_vendor_calls(Exposition& out) const {
    std::lock_guard lock(mutex_);
    auto labels = [&](const auto& key) {
        Exposition::Labels labels{{"vendor", std::get<0>(key)},
                                  {"data_type", to_string(std::get<1>(key))}};
        if (options_.symbol_labels) labels.emplace_back("symbol", std::get<2>(key));
        return labels;
    };
    out.family("tickerd_vendor_calls_total", "counter",
               "Vendor calls (each attempt, retries included), by vendor instance, data type "
               "and result");
    for (const auto& [key, counts] : calls_) {
        // Captured by name: a lambda may not capture a structured binding (clang).
        auto with_result = [&, &call = key](std::string_view result) {
            auto l = labels(call);
            l.emplace_back("result", result);
            return l;
        };
        out.sample("tickerd_vendor_calls_total", with_result("success"),
                   static_cast<double>(counts.success));
        out.sample("tickerd_vendor_calls_total", with_result("failure"),
                   static_cast<double>(counts.failure));
    }
    out.family("tickerd_vendor_call_errors_total", "counter",
               "Failed vendor calls, by vendor instance, data type and error class");
    for (const auto& [key, counts] : calls_) {
        for (const auto& [error_class, count] : counts.errors) {
            auto l = labels(key);
            l.emplace_back("error_class", error_class);
            out.sample("tickerd_vendor_call_errors_total", l, static_cast<double>(count));
        }
    }
    out.family("tickerd_vendor_fallback_answers_total", "counter",
               "Successful calls to a vendor other than the first ranked for the data type");
    for (const auto& [key, counts] : calls_) {
        out.sample("tickerd_vendor_fallback_answers_total", labels(key),
                   static_cast<double>(counts.fallback_answers));
    }
    out.family("tickerd_vendor_call_duration_seconds", "histogram",
               "How long vendor calls took, by vendor instance and data type");
    for (const auto& [key, histogram] : call_durations_) {
        out.histogram("tickerd_vendor_call_duration_seconds",
                      {{"vendor", key.first}, {"data_type", to_string(key.second)}},
                      histogram->snapshot());
    }
}

}  // namespace tickerd::telemetry
