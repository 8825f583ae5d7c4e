#include "settings.hpp"

#include <boost/json/parse.hpp>

#include <stdexcept>

namespace alphavantage {

Settings parse_settings(std::string_view text, const char* env_api_key) {
    Settings settings;
    boost::system::error_code ec;
    auto parsed = boost::json::parse(text.empty() ? "{}" : text, ec);
    if (ec || !parsed.is_object()) throw std::invalid_argument("settings must be a JSON object");
    for (const auto& [key, value] : parsed.get_object()) {
        if (vendorkit::apply_http_setting(key, value, settings.http)) continue;
        if (key == "daily_outputsize") {
            settings.daily_outputsize = vendorkit::choice_setting(key, value, {"compact", "full"});
        } else if (key == "sma_200_request") {
            settings.sma_200_request = vendorkit::flag_setting(key, value);
        } else if (key == "api_key") {
            if (!value.is_string())
                throw std::invalid_argument("setting 'api_key' must be a string");
            settings.api_key = value.get_string();
        } else {
            throw std::invalid_argument("unknown setting '" + std::string(key) + "'");
        }
    }
    if (settings.api_key.empty() && env_api_key != nullptr) settings.api_key = env_api_key;
    if (settings.api_key.empty()) {
        throw std::invalid_argument(
            "an API key is required: settings.api_key or ALPHAVANTAGE_API_KEY");
    }
    return settings;
}

}  // namespace alphavantage
