// The yfinance instance settings (README.md beside this file). Every key is optional.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace yfinance {

struct Settings {
    std::string base_url = "https://query2.finance.yahoo.com";  // tests point it elsewhere
    int32_t timeout_ms = 0;    // per request; 0 = until the poll's deadline
    bool include_raw = false;  // add Yahoo's answer as data.raw
};

// Throws std::invalid_argument naming the offending key.
Settings parse_settings(std::string_view json);

}  // namespace yfinance
