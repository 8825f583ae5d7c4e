// What every HTTP vendor plugin shares beyond parsing: the settings they all take (base_url,
// timeout_ms, include_raw) and the round each fetch makes — GET through the host, hand a 200
// to the parser, classify anything else.
#pragma once

#include "answer.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vendorkit {

struct HttpSettings {
    std::string base_url;      // no trailing '/'
    int32_t timeout_ms = 0;    // per request; 0 = until the poll's deadline
    bool include_raw = false;  // add the vendor's answer as data.raw
};

// Readers for a vendor's own settings; each throws std::invalid_argument naming the key.
std::string url_setting(std::string_view key, const boost::json::value& value);  // http(s)://…
bool flag_setting(std::string_view key, const boost::json::value& value);
std::string choice_setting(std::string_view key, const boost::json::value& value,
                           std::initializer_list<std::string_view> choices);

// Applies `key` when it is one of HttpSettings' keys and returns true; returns false for any
// other key. Throws std::invalid_argument naming the key when the value is wrong.
bool apply_http_setting(std::string_view key, const boost::json::value& value,
                        HttpSettings& settings);

using Headers = std::vector<std::pair<std::string, std::string>>;

// GETs `url` (Accept: application/json, plus `headers`) and turns the answer into an Answer:
// a 200 goes to `parse`; a 404 is not found, with the parser's words when it recognised a
// vendor's not-found body; any other status by classify_http_status; a failed transfer keeps
// the host's class. `http_status` receives the status (0 when no answer came).
Answer get_answer(const tickerd::sdk::Call& call, const HttpSettings& settings,
                  const std::string& url, const std::function<Answer(std::string_view body)>& parse,
                  const Headers& headers = {}, int* http_status = nullptr);

// get_answer, then the host's outcome; `vendor` prefixes every message.
tickerd::sdk::Outcome get_json(const tickerd::sdk::Call& call, const HttpSettings& settings,
                               const std::string& url, std::string_view vendor,
                               const std::function<Answer(std::string_view body)>& parse,
                               const Headers& headers = {});

}  // namespace vendorkit
