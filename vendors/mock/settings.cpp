#include "settings.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>

namespace mock {

namespace {

namespace json = boost::json;

[[noreturn]] void bad(std::string_view key, std::string_view want) {
    throw std::invalid_argument("setting '" + std::string(key) + "' must be " + std::string(want));
}

int64_t non_negative_int(const json::value& v, std::string_view key) {
    if (!v.is_int64() || v.get_int64() < 0) bad(key, "an integer >= 0");
    return v.get_int64();
}

bool boolean(const json::value& v, std::string_view key) {
    if (!v.is_bool()) bad(key, "true or false");
    return v.get_bool();
}

tickerd_status failure_class(const json::value& v, std::string_view key) {
    if (v.is_string()) {
        std::string_view text = v.get_string();
        if (text == "transient") return TICKERD_E_TRANSIENT;
        if (text == "permanent") return TICKERD_E_PERMANENT;
        if (text == "auth") return TICKERD_E_AUTH;
        if (text == "unsupported") return TICKERD_E_UNSUPPORTED;
    }
    bad(key, "one of \"transient\", \"permanent\", \"auth\", \"unsupported\"");
}

}  // namespace

Settings parse_settings(std::string_view text) {
    Settings settings;
    if (text.empty()) return settings;
    boost::system::error_code ec;
    json::value parsed = json::parse(text, ec);
    if (ec || !parsed.is_object()) throw std::invalid_argument("settings must be a JSON object");
    for (const auto& [key, v] : parsed.get_object()) {
        if (key == "fail_first") {
            settings.fail_first = non_negative_int(v, key);
        } else if (key == "fail_rate") {
            if (!v.is_number() || v.to_number<double>() < 0 || v.to_number<double>() > 1) {
                bad(key, "a number from 0 to 1");
            }
            settings.fail_rate = v.to_number<double>();
        } else if (key == "fail_status") {
            settings.fail_status = failure_class(v, key);
        } else if (key == "rate_limited") {
            settings.rate_limited = boolean(v, key);
        } else if (key == "retry_after_ms") {
            settings.retry_after_ms = non_negative_int(v, key);
        } else if (key == "not_found_symbols") {
            if (!v.is_array()) bad(key, "an array of symbols");
            for (const auto& symbol : v.get_array()) {
                if (!symbol.is_string()) bad(key, "an array of symbols");
                settings.not_found_symbols.emplace(symbol.get_string());
            }
        } else if (key == "latency_ms") {
            settings.latency_ms = non_negative_int(v, key);
        } else if (key == "hang") {
            settings.hang = boolean(v, key);
        } else if (key == "seed") {
            settings.seed = static_cast<uint64_t>(non_negative_int(v, key));
        } else {
            throw std::invalid_argument("unknown setting '" + std::string(key) + "'");
        }
    }
    return settings;
}

}  // namespace mock
