#include "http_vendor.hpp"

#include <boost/json/parse.hpp>

#include <stdexcept>

namespace vendorkit {

bool apply_http_setting(std::string_view key, const boost::json::value& value,
                        HttpSettings& settings) {
    if (key == "base_url") {
        if (!value.is_string() || !(value.get_string().starts_with("http://") ||
                                    value.get_string().starts_with("https://"))) {
            throw std::invalid_argument("setting 'base_url' must be an http(s) URL");
        }
        settings.base_url = value.get_string();
        while (settings.base_url.ends_with('/'))
            settings.base_url.pop_back();
    } else if (key == "timeout_ms") {
        if (!value.is_int64() || value.get_int64() < 0 || value.get_int64() > 600000) {
            throw std::invalid_argument("setting 'timeout_ms' must be an integer 0..600000");
        }
        settings.timeout_ms = static_cast<int32_t>(value.get_int64());
    } else if (key == "include_raw") {
        if (!value.is_bool())
            throw std::invalid_argument("setting 'include_raw' must be true or false");
        settings.include_raw = value.get_bool();
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
