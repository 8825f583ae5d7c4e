// Careful reading of vendor JSON: every accessor copes with a missing key, a null, or a value
// of the wrong type, and says so by returning nothing rather than throwing.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vendorkit {

const boost::json::object* object_at(const boost::json::object& parent, std::string_view key);
const boost::json::array* array_at(const boost::json::object& parent, std::string_view key);
const boost::json::array* array_at(const boost::json::object& parent, std::string_view key,
                                   std::string_view inner_key);

// A number, also when wrapped as Yahoo's {"raw": 1.5, "fmt": "1.50"}; NaN and ±inf are not
// numbers.
std::optional<double> number(const boost::json::value& value);
std::optional<double> number(const boost::json::value* value);
boost::json::value number_or_null(const boost::json::value* value);
// A number written as text, as Alpha Vantage sends them ("112.6300", "-0.5852%", "1e3");
// "None", "", "-" and anything else that is not a whole number are nothing. Also takes a
// plain JSON number.
std::optional<double> number_in_text(const boost::json::value* value);
boost::json::value integer_or_null(const boost::json::value* value);

std::string text(const boost::json::object& parent, std::string_view key);  // "" if absent
boost::json::value text_or_null(const boost::json::object& parent, std::string_view key);

// Decimals to keep for prices: Yahoo's priceHint (2 for most stocks, more for small coins)
// plus two, which removes float32 noise without losing a real digit.
int price_decimals(const boost::json::value* price_hint);
double round_to(double value, int decimals);
boost::json::value round_value(const boost::json::value& value, int decimals);

// Unix seconds → "2025-02-19T21:00:01Z"; null when absent or not a number.
boost::json::value unix_seconds_to_iso(const boost::json::value* seconds);

// `rows` sorted newest first by their `time_key` (ISO-8601 text, which sorts like the times
// it names; rows without one go last, in their order) and cut to `max_rows`.
boost::json::array newest_first(std::vector<boost::json::object> rows, std::string_view time_key,
                                std::size_t max_rows);

}  // namespace vendorkit
