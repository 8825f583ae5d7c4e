// The alphavantage instance settings (README.md beside this file).
#pragma once

#include "http_vendor.hpp"

#include <string>
#include <string_view>

namespace alphavantage {

struct Settings {
    vendorkit::HttpSettings http{"https://www.alphavantage.co"};
    std::string api_key;  // settings.api_key, else $ALPHAVANTAGE_API_KEY; required
    // TIME_SERIES_DAILY for analytics: "compact" (100 days, free: no SMA 200) or "full".
    std::string daily_outputsize = "compact";
    // When the daily series is too short for SMA 200, ask Alpha Vantage's SMA function for it
    // (one more request per analytics poll).
    bool sma_200_request = true;
};

// Throws std::invalid_argument naming the offending key, or saying the key is missing.
Settings parse_settings(std::string_view json, const char* env_api_key);

}  // namespace alphavantage
