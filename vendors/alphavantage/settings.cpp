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
        if (key == "base_url") {
            if (!value.is_string() || !(value.get_string().starts_with("http://") ||
                                        value.get_string().starts_with("https://"))) {
                throw std::invalid_argument("setting 'base_url' must be an http(s) URL");
            }
            settings.base_url = value.get_string();
            while (settings.base_url.ends_with('/'))
                settings.base_url.pop_back();
        } else if (key == "api_key") {
            if (!value.is_string())
                throw std::invalid_argument("setting 'api_key' must be a string");
            settings.api_key = value.get_string();
        } else if (key == "timeout_ms") {
            if (!value.is_int64() || value.get_int64() < 0 || value.get_int64() > 600000) {
                throw std::invalid_argument("setting 'timeout_ms' must be an integer 0..600000");
            }
            settings.timeout_ms = static_cast<int32_t>(value.get_int64());
        } else if (key == "include_raw") {
            if (!value.is_bool()) {
                throw std::invalid_argument("setting 'include_raw' must be true or false");
            }
            settings.include_raw = value.get_bool();
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
