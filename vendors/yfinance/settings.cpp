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
            settings.market_data_api = vendorkit::choice_setting(key, value, {"chart", "quote"});
        } else if (key == "cookie_url") {
            settings.cookie_url = vendorkit::url_setting(key, value);
        } else {
            throw std::invalid_argument("unknown setting '" + std::string(key) + "'");
        }
    }
    return settings;
}

}  // namespace yfinance
