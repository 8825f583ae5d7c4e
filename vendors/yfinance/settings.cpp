#include "settings.hpp"

#include <boost/json/parse.hpp>

#include <stdexcept>

namespace yfinance {

Settings parse_settings(std::string_view text) {
    Settings settings;
    if (text.empty()) return settings;
    boost::system::error_code ec;
    auto parsed = boost::json::parse(text, ec);
    if (ec || !parsed.is_object()) throw std::invalid_argument("settings must be a JSON object");
    for (const auto& [key, value] : parsed.get_object()) {
        if (vendorkit::apply_http_setting(key, value, settings.http)) continue;
        if (key == "market_data_api") {
            if (!value.is_string() ||
                (value.get_string() != "chart" && value.get_string() != "quote")) {
                throw std::invalid_argument(
                    "setting 'market_data_api' must be \"chart\" or \"quote\"");
            }
            settings.market_data_api = value.get_string();
            continue;
        }
        if (key != "cookie_url")
            throw std::invalid_argument("unknown setting '" + std::string(key) + "'");
        if (!value.is_string() || !(value.get_string().starts_with("http://") ||
                                    value.get_string().starts_with("https://"))) {
            throw std::invalid_argument("setting 'cookie_url' must be an http(s) URL");
        }
        settings.cookie_url = value.get_string();
    }
    return settings;
}

}  // namespace yfinance
