// The scheduler: one worker per data type polls every enabled instrument of that type once
// per cadence interval (spread across the interval), walks vendors by priority with retries
// and fallback, and publishes each result to the bus. Vendor calls run on threads of their
// instance's own (at most its concurrency limit), never on the I/O threads.
#pragma once

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/model.hpp"
#include "plugins/plugins.hpp"
#include "telemetry/telemetry.hpp"

#include <boost/asio/io_context.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace tickerd::scheduler {

enum class WorkerState {
    stopped,
    running,
    error,  // running, but the last cycle hit an unexpected error (see last_error)
};
inline constexpr std::array<std::string_view, 3> kWorkerStateNames = {"stopped", "running",
                                                                      "error"};
std::string_view to_string(WorkerState state);

struct WorkerStatus {
    std::string worker_id;
    DataType data_type = DataType::market_data;
    WorkerState status = WorkerState::stopped;
    // When the last cycle whose polls all finished (or an empty cycle) completed.
    std::optional<std::chrono::system_clock::time_point> last_run;
    std::optional<std::chrono::system_clock::time_point> next_run;  // next cycle starts
    uint64_t success_count = 0;
    // Failed polls, polls skipped because the previous one still ran, and vendor calls that
    // ran past their timeout (even when a fallback vendor then answered).
    uint64_t error_count = 0;
    uint64_t timeout_count = 0;                 // vendor calls that ran past their timeout
    std::optional<std::string> current_vendor;  // vendor of the last success
    std::optional<std::string> last_error;
    // When a message was last published; none since the worker started: null.
    std::optional<std::chrono::system_clock::time_point> last_success_at;
    // Running, its polls failing, and nothing published for three intervals.
    bool stalled = false;
    // Polled symbols whose latest polls all failed: how many in a row (the system alerts).
    std::map<std::string, uint64_t> failing_symbols;
    int polls_in_flight = 0;
    std::optional<std::string> instance;  // this tickerd, when several share the work
    std::optional<std::size_t> leases_held;
};
boost::json::object to_json(const WorkerStatus& status);

// ---- Pure policy, unit-tested without time passing ----

// Delay before retry n (n = 1 for the first retry): min(multiplier^n, 60) seconds, with
// "equal jitter" (half fixed, half random) so vendors are not hit in lockstep.
std::chrono::milliseconds retry_delay(int retry, double multiplier, std::mt19937_64& rng);
std::chrono::milliseconds retry_delay_without_jitter(int retry, double multiplier);

// Offsets at which the n polls of one cycle start, spread evenly over the interval.
std::vector<std::chrono::milliseconds> stagger_offsets(std::size_t polls,
                                                       std::chrono::milliseconds interval);

// Why a vendor instance is benched (kept out of every poll for a while).
enum class BenchReason {
    rate_limited,  // it answered rate-limited, or its request budget is spent
    hanging,       // its calls keep running past their timeout
};
inline constexpr std::array<std::string_view, 2> kBenchReasonNames = {"rate_limited", "hanging"};
std::string_view to_string(BenchReason reason);

// A vendor instance benched now: why, and until when.
struct Benched {
    std::string vendor;
    BenchReason reason = BenchReason::rate_limited;
    std::string detail;  // one sentence for the vendors document and the log
    std::chrono::steady_clock::time_point until;
};

// Vendors kept out of every poll (all workers) until a time: after a rate-limited answer,
// until its retry-after passes; after hanging calls, for a fixed while.
class Bench {
  public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    explicit Bench(Clock clock);
    // A later bench extends an earlier one (the reason becomes the latest).
    void bench(const std::string& vendor, std::chrono::milliseconds duration, BenchReason reason,
               std::string detail);
    bool is_benched(const std::string& vendor) const;
    std::vector<Benched> benched() const;  // the ones benched now

  private:
    Clock clock_;
    mutable std::mutex mutex_;
    std::map<std::string, Benched> entries_;
};

// Which (data type, symbol) this instance polls when several share the work (cluster/ has
// the Redis leases that do it). Without one, an instance polls everything configured.
class WorkShare {
  public:
    virtual ~WorkShare() = default;
    virtual bool owns(DataType type, const std::string& symbol) = 0;
    // The channel's last seq published by whoever held it before (0 when unknown).
    virtual uint64_t seq_floor(const std::string& channel) = 0;
    virtual std::size_t held() = 0;  // leases held now
    // A channel's latest message (JSON) when its lease was taken over, if it had one: the
    // bars continue the series another instance began.
    virtual std::optional<std::string> handed_over(const std::string&) { return std::nullopt; }
    virtual void start() {}
    virtual void stop() {}  // call while the io_context still runs
};

struct Options {
    // Injectable for tests: the wall clock stamped on messages and telemetry.
    std::function<std::chrono::system_clock::time_point()> wall_clock = [] {
        return std::chrono::system_clock::now();
    };
    // Injectable for tests: scales every delay (cadence stagger and retry backoff).
    double time_scale = 1.0;
    uint64_t seed = std::random_device{}();
    std::shared_ptr<WorkShare> share;  // null: poll everything
    std::string instance;              // this tickerd's name in messages and status
    // OHLC bars from market_data (none by default; main passes the config's `bars`).
    BarSettings bars{{}, "UTC"};
    // Told of every market_data message this instance publishes (the price alerts), on the
    // thread that published it; it must not block.
    std::function<void(const std::string& symbol, const boost::json::object& data,
                       std::chrono::system_clock::time_point at)>
        on_market_data;
};

// Why `bars` cannot be used: an interval that is not one, or a zone the system's tz
// database lacks (422 naming the field).
Result<void> check_bar_settings(const BarSettings& bars);

// What the scheduler knows about one vendor instance's health: whether it is benched (and
// why) and how many of its calls are stuck past their timeout. For the vendors document.
struct VendorHealth {
    std::optional<Benched> benched;
    int stuck_calls = 0;
};
// Adds "benched" ({reason, detail, until} or null) and "stuck_calls" to an instance's JSON;
// `wall_now` turns the bench's steady deadline into a time of day.
void add_health(boost::json::object& instance_json, const VendorHealth& health,
                std::chrono::system_clock::time_point wall_now);

// Scales a delay by Options::time_scale (never below 1 ms, so a cycle cannot spin).
std::chrono::milliseconds scale_delay(std::chrono::milliseconds delay, double time_scale);

// Owns the five workers (one per data type). `io`, `state`, `plugins`, `bus` and `telemetry`
// must outlive the manager. Cadence stagger, idle re-checks and retry backoff are scaled by
// Options::time_scale; vendor timeouts and rate-limit benching are not (they are the
// vendor's real time budget).
class WorkerManager {
  public:
    WorkerManager(boost::asio::io_context& io, config::StateStore& state,
                  plugins::PluginHost& plugins, bus::Bus& bus, telemetry::Store& telemetry,
                  Options options = {});
    ~WorkerManager();

    void start(DataType type);  // idempotent
    void stop(DataType type);   // idempotent; in-flight polls finish, nothing new starts
    void start_all();
    void stop_all();
    std::vector<WorkerStatus> statuses() const;
    WorkerStatus status(DataType type) const;
    // Benched instances and stuck calls, by instance name (only the ones with either).
    std::map<std::string, VendorHealth> vendor_health() const;

    // Numbers a publication into a polled channel in the workers' series and publishes it;
    // returns its id. With work shared through Redis only the instance polling the channel
    // numbers it: elsewhere this is a 409 naming why.
    Result<std::string> publish(const bus::Publication& publication);

    // GET /streaming/bars: the recent final bars of `symbol` at `interval` (oldest first, at
    // most `limit`) as {"bars": […], "current": {…}|null}, when this instance aggregates the
    // symbol; nullopt when it does not (another instance polls it, or no tick came yet).
    std::optional<boost::json::object> bars(const std::string& symbol, const std::string& interval,
                                            std::size_t limit) const;

    // Stops everything, cancels in-flight vendor calls and waits (at most `grace`) for them.
    void shutdown(std::chrono::milliseconds grace);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tickerd::scheduler
