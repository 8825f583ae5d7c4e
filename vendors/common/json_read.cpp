#include "json_read.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

namespace vendorkit {

namespace json = boost::json;

const json::object* object_at(const json::object& parent, std::string_view key) {
    const auto* value = parent.if_contains(key);
    return value && value->is_object() ? &value->get_object() : nullptr;
}

const json::array* array_at(const json::object& parent, std::string_view key) {
    const auto* value = parent.if_contains(key);
    return value && value->is_array() ? &value->get_array() : nullptr;
}

const json::array* array_at(const json::object& parent, std::string_view key,
                            std::string_view inner_key) {
    const auto* inner = object_at(parent, key);
    return inner ? array_at(*inner, inner_key) : nullptr;
}

std::optional<double> number(const json::value& value) {
    double result;
    if (value.is_double()) {
        result = value.get_double();
    } else if (value.is_int64()) {
        result = static_cast<double>(value.get_int64());
    } else if (value.is_uint64()) {
        result = static_cast<double>(value.get_uint64());
    } else if (value.is_object()) {
        const auto* raw = value.get_object().if_contains("raw");
        return raw && !raw->is_object() ? number(*raw) : std::nullopt;
    } else {
        return std::nullopt;
    }
    if (!std::isfinite(result)) return std::nullopt;
    return result;
}

std::optional<double> number(const json::value* value) {
    return value ? number(*value) : std::nullopt;
}

std::optional<double> number_in_text(const json::value* value) {
    if (!value || !value->is_string()) return number(value);
    std::string_view text = value->get_string();
    if (text.ends_with('%')) text.remove_suffix(1);
    if (text.empty()) return std::nullopt;
    double result = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), result);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(result)) {
        return std::nullopt;
    }
    return result;
}

json::value number_or_null(const json::value* value) {
    auto n = number(value);
    return n ? json::value(*n) : json::value(nullptr);
}

json::value integer_or_null(const json::value* value) {
    auto n = number(value);
    if (!n || std::fabs(*n) > 9.0e15) return nullptr;
    return static_cast<int64_t>(std::llround(*n));
}

std::string text(const json::object& parent, std::string_view key) {
    const auto* value = parent.if_contains(key);
    return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

json::value text_or_null(const json::object& parent, std::string_view key) {
    const auto* value = parent.if_contains(key);
    if (value && value->is_string() && !value->get_string().empty()) return value->get_string();
    return nullptr;
}

int price_decimals(const json::value* price_hint) {
    auto hint = number(price_hint);
    int decimals = hint ? static_cast<int>(*hint) : 2;
    return std::clamp(decimals, 2, 8) + 2;
}

double round_to(double value, int decimals) {
    double scale = std::pow(10.0, decimals);
    double rounded = std::round(value * scale) / scale;
    return std::isfinite(rounded) ? rounded : value;
}

json::value round_value(const json::value& value, int decimals) {
    auto n = number(value);
    return n ? json::value(round_to(*n, decimals)) : json::value(nullptr);
}

json::value unix_seconds_to_iso(const json::value* seconds) {
    auto n = number(seconds);
    if (!n || *n < 0 || *n > 32503680000.0) return nullptr;  // up to year 3000
    std::time_t time = static_cast<std::time_t>(*n);
    std::tm utc{};
    gmtime_r(&time, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return json::string(text);
}

json::array newest_first(std::vector<json::object> rows, std::string_view time_key,
                         std::size_t max_rows) {
    std::stable_sort(rows.begin(), rows.end(), [&](const json::object& a, const json::object& b) {
        const auto* ta = a.if_contains(time_key);
        const auto* tb = b.if_contains(time_key);
        bool has_a = ta && ta->is_string();
        bool has_b = tb && tb->is_string();
        if (!has_a || !has_b) return has_a && !has_b;
        return ta->get_string() > tb->get_string();
    });
    if (rows.size() > max_rows) rows.resize(max_rows);
    json::array out;
    out.reserve(rows.size());
    for (auto& row : rows)
        out.emplace_back(std::move(row));
    return out;
}

}  // namespace vendorkit
