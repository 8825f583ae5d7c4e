// The yfinance instance settings (README.md beside this file). Every key is optional.
#pragma once

#include "http_vendor.hpp"

#include <string>
#include <string_view>

namespace yfinance {

struct Settings {
    // base_url defaults to Yahoo; tests point it elsewhere.
    vendorkit::HttpSettings http{"https://query2.finance.yahoo.com"};
    // Where the quoteSummary cookie comes from; the crumb from base_url/v1/test/getcrumb.
    std::string cookie_url = "https://fc.yahoo.com";
    // market_data from "chart" (v8, no crumb needed) or "quote" (v7, behind the crumb).
    std::string market_data_api = "chart";
};

// Throws std::invalid_argument naming the offending key.
Settings parse_settings(std::string_view json);

}  // namespace yfinance
