#include "http_vendor.hpp"

#include <boost/json/parse.hpp>

#include <stdexcept>

namespace vendorkit {

namespace {

std::invalid_argument bad_setting(std::string_view key, std::string_view what) {
    return std::invalid_argument("setting '" + std::string(key) + "' must be " + std::string(what));
}

}  // namespace

std::string url_setting(std::string_view key, const boost::json::value& value) {
    if (!value.is_string() || !(value.get_string().starts_with("http://") ||
                                value.get_string().starts_with("https://"))) {
        throw bad_setting(key, "an http(s) URL");
    }
    return std::string(value.get_string());
}

bool flag_setting(std::string_view key, const boost::json::value& value) {
    if (!value.is_bool()) throw bad_setting(key, "true or false");
    return value.get_bool();
}

std::string choice_setting(std::string_view key, const boost::json::value& value,
                           std::initializer_list<std::string_view> choices) {
    std::string listed;
    for (auto choice : choices) {
        if (value.is_string() && value.get_string() == choice) return std::string(choice);
        listed += (listed.empty() ? "\"" : " or \"") + std::string(choice) + "\"";
    }
    throw bad_setting(key, listed);
}

bool apply_http_setting(std::string_view key, const boost::json::value& value,
                        HttpSettings& settings) {
    if (key == "base_url") {
        settings.base_url = url_setting(key, value);
        while (settings.base_url.ends_with('/'))
            settings.base_url.pop_back();
    } else if (key == "timeout_ms") {
        if (!value.is_int64() || value.get_int64() < 0 || value.get_int64() > 600000) {
            throw std::invalid_argument("setting 'timeout_ms' must be an integer 0..600000");
        }
        settings.timeout_ms = static_cast<int32_t>(value.get_int64());
    } else if (key == "include_raw") {
        settings.include_raw = flag_setting(key, value);
    } else {
        return false;
    }
    return true;
}

Answer get_answer(const tickerd::sdk::Call& call, const HttpSettings& settings,
                  const std::string& url, const std::function<Answer(std::string_view body)>& parse,
                  const Headers& headers, int* http_status) {
    tickerd::sdk::HttpRequest request;
    request.url = url;
    request.headers = {{"Accept", "application/json"}};
    request.headers.insert(request.headers.end(), headers.begin(), headers.end());
    request.timeout_ms = settings.timeout_ms;
    auto response = call.http(request);
    if (http_status) *http_status = response.status;
    if (!response.ok()) return Answer::error(response.outcome, response.error);
    Answer answer;
    if (response.status == 200) {
        answer = parse(response.body);
    } else if (response.status == 404) {
        // Some vendors say why ({"chart":{"error":{"code":"Not Found",…}}}); whatever the body
        // holds, the class is not found.
        auto parsed = parse(response.body);
        answer = Answer::error(TICKERD_E_NOT_FOUND,
                               parsed.status == TICKERD_E_NOT_FOUND ? parsed.message : "HTTP 404");
    } else {
        answer = classify_http_status(response.status, response.header("Retry-After"));
    }
    if (answer.status == TICKERD_OK && settings.include_raw) {
        boost::system::error_code ec;
        answer.data["raw"] = boost::json::parse(response.body, ec);
    }
    return answer;
}

tickerd::sdk::Outcome get_json(const tickerd::sdk::Call& call, const HttpSettings& settings,
                               const std::string& url, std::string_view vendor,
                               const std::function<Answer(std::string_view body)>& parse,
                               const Headers& headers) {
    int status = 0;
    auto answer = get_answer(call, settings, url, parse, headers, &status);
    return to_outcome(std::move(answer), vendor, status);
}

}  // namespace vendorkit
