// The mock's instance settings: what faults to inject. Every key is optional.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <tickerd/abi.h>

namespace mock {

struct Settings {
    int64_t fail_first = 0;  // the first N calls fail
    double fail_rate = 0.0;  // later calls fail with this probability
    tickerd_status fail_status = TICKERD_E_TRANSIENT;
    bool rate_limited = false;  // every call answers rate-limited
    int64_t retry_after_ms = 1000;
    std::set<std::string> not_found_symbols;
    int64_t latency_ms = 0;  // wait before answering (cancellable)
    bool hang = false;       // never answer until cancelled
    uint64_t seed = 42;
};

// Parses the settings object; throws std::invalid_argument naming the offending key.
Settings parse_settings(std::string_view json);

}  // namespace mock
