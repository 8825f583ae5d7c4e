// The mock vendor: simulated data for all five data types, plus the faults tests need to
// inject (see README.md beside this file). It is also the shortest complete example of a
// plugin written with the SDK's C++ layer.
#include "settings.hpp"
#include "simulated_data.hpp"

#include <tickerd/plugin.hpp>

#include <boost/json/serialize.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

namespace {

using tickerd::sdk::Call;
using tickerd::sdk::Host;
using tickerd::sdk::Outcome;

// Waits are sliced so a cancelled call returns promptly.
constexpr auto kWaitSlice = std::chrono::milliseconds(10);

class Mock {
  public:
    Mock(const Host& host, std::string_view name, std::string_view settings)
        : host_(host), settings_(mock::parse_settings(settings)), fault_rng_(settings_.seed) {
        host_.debug("mock instance " + std::string(name) + " ready");
    }

    Outcome fetch(const Call& call) {
        uint64_t number = count_call();
        if (!wait_out_latency(call)) return Outcome::transient("cancelled");
        std::string symbol(call.symbol());
        if (settings_.rate_limited) {
            return Outcome::rate_limited(settings_.retry_after_ms, "mock: rate limited");
        }
        if (settings_.not_found_symbols.count(symbol)) {
            return Outcome::not_found("mock: unknown symbol " + symbol);
        }
        if (injected_failure(number)) {
            return Outcome::error(settings_.fail_status,
                                  "mock: injected failure on call " + std::to_string(number));
        }
        auto data = simulate(symbol, call.data_type());
        if (data.empty()) return Outcome::unsupported("mock: unknown data type");
        data["mock_call"] = number;
        return Outcome::ok(boost::json::serialize(data));
    }

  private:
    uint64_t count_call() {
        std::lock_guard lock(mutex_);
        return ++calls_;
    }

    bool injected_failure(uint64_t number) {
        if (number <= static_cast<uint64_t>(settings_.fail_first)) return true;
        if (settings_.fail_rate <= 0) return false;
        std::lock_guard lock(mutex_);
        return std::uniform_real_distribution<double>(0, 1)(fault_rng_) < settings_.fail_rate;
    }

    // Returns false when the host cancelled the call while we waited.
    bool wait_out_latency(const Call& call) const {
        auto until =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.latency_ms);
        while (settings_.hang || std::chrono::steady_clock::now() < until) {
            if (call.cancelled()) return false;
            std::this_thread::sleep_for(kWaitSlice);
        }
        return true;
    }

    boost::json::object simulate(const std::string& symbol, std::string_view data_type) {
        std::lock_guard lock(mutex_);
        auto walk = walks_.try_emplace(symbol, symbol, settings_.seed).first;
        return walk->second.next(data_type, host_.now_unix_ms());
    }

    Host host_;
    const mock::Settings settings_;
    std::mutex mutex_;  // guards everything below; never held while waiting
    uint64_t calls_ = 0;
    std::mt19937_64 fault_rng_;
    std::map<std::string, mock::SymbolWalk> walks_;
};

}  // namespace

// Simulated: the daemon runs it only where a "vendors" entry names it, and its messages carry
// "metadata": {"simulated": true}.
TICKERD_DECLARE_PLUGIN(Mock, "mock", "1.0.0", "Deterministic simulated data with fault injection",
                       100, TICKERD_PLUGIN_THREADSAFE | TICKERD_PLUGIN_SIMULATED, "market_data",
                       "news", "fundamentals", "analytics", "insider_data")
