// The alphavantage instance settings (README.md beside this file).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace alphavantage {

struct Settings {
    std::string base_url = "https://www.alphavantage.co";
    std::string api_key;  // settings.api_key, else $ALPHAVANTAGE_API_KEY; required
    int32_t timeout_ms = 0;
    bool include_raw = false;
};

// Throws std::invalid_argument naming the offending key, or saying the key is missing.
Settings parse_settings(std::string_view json, const char* env_api_key);

}  // namespace alphavantage
