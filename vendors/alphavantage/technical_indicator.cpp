// Alpha Vantage's indicator functions (SMA, EMA, RSI, …): {"Meta Data": {"1: Symbol": …,
// "2: Indicator": …, "4: Interval": "daily", "5: Time Period": 200, …}, "Technical Analysis:
// SMA": {"2017-12-20 14:00": {"SMA": "85.2440"}, …}}. Note the colons where the time series
// have dots, and times with or without a clock.
#include "parsers.hpp"

#include "json_read.hpp"

namespace alphavantage {

namespace json = boost::json;

namespace {

// The meta value whose key ends with `name` ("5: Time Period" for "Time Period").
const json::value* meta_value(const json::object* meta, std::string_view name) {
    if (!meta) return nullptr;
    for (const auto& [key, value] : *meta) {
        if (std::string_view(key).ends_with(name)) return &value;
    }
    return nullptr;
}

}  // namespace

Answer parse_technical_indicator(std::string_view body, std::string_view symbol) {
    auto root = answer_root(body, "technical indicator");
    if (auto* error = std::get_if<Answer>(&root)) return std::move(*error);
    const auto& top = std::get<json::object>(root);
    const json::object* series = nullptr;
    std::string indicator;
    for (const auto& [key, value] : top) {
        constexpr std::string_view kPrefix = "Technical Analysis: ";
        if (std::string_view(key).starts_with(kPrefix) && value.is_object()) {
            series = &value.get_object();
            indicator = std::string_view(key).substr(kPrefix.size());
        }
    }
    if (!series) return Answer::error(TICKERD_E_TRANSIENT, "technical indicator: no series");
    // The newest reading: times are ISO-like text, so the greatest key is the latest.
    std::string_view latest;
    std::optional<double> value;
    for (const auto& [time, point] : *series) {
        if (!point.is_object() || std::string_view(time) <= latest) continue;
        if (auto reading = vendorkit::number_in_text(point.get_object().if_contains(indicator))) {
            latest = time;
            value = reading;
        }
    }
    if (!value) return Answer::error(TICKERD_E_NOT_FOUND, "technical indicator: no readings");
    const auto* meta = vendorkit::object_at(top, "Meta Data");
    auto period = vendorkit::number_in_text(meta_value(meta, "Time Period"));
    const auto* interval = meta_value(meta, "Interval");
    const auto* series_type = meta_value(meta, "Series Type");
    return Answer::ok(json::object{
        {"symbol", symbol},
        {"indicator", indicator},
        {"interval", interval && interval->is_string() ? *interval : json::value(nullptr)},
        {"time_period", period ? json::value(*period) : json::value(nullptr)},
        {"series_type",
         series_type && series_type->is_string() ? *series_type : json::value(nullptr)},
        {"as_of", latest},
        {"value", *value},
    });
}

}  // namespace alphavantage
