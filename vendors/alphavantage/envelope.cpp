#include "envelope.hpp"

#include "json_read.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>

namespace alphavantage {

namespace {

// The per-minute limit refills within a minute; the daily one does not, but an hour keeps
// the vendor benched without forgetting it for a whole day if the budget was a blip.
constexpr int64_t kMinuteLimitRetryMs = 60'000;
constexpr int64_t kDailyLimitRetryMs = 3'600'000;

bool mentions(std::string text, std::string_view what) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text.find(what) != std::string::npos;
}

}  // namespace

std::optional<Answer> envelope_error(const boost::json::object& root) {
    if (auto note = vendorkit::text(root, "Note"); !note.empty()) {
        return Answer::error(TICKERD_E_RATE_LIMITED, "Note: " + note, kMinuteLimitRetryMs);
    }
    if (auto info = vendorkit::text(root, "Information"); !info.empty()) {
        // Limit messages also advertise the premium plans, so they are recognised first.
        if (mentions(info, "per day") || mentions(info, "rate limit") ||
            mentions(info, "frequency")) {
            auto retry = mentions(info, "per day") ? kDailyLimitRetryMs : kMinuteLimitRetryMs;
            return Answer::error(TICKERD_E_RATE_LIMITED, "Information: " + info, retry);
        }
        if (mentions(info, "premium endpoint")) {
            return Answer::error(TICKERD_E_AUTH, "Information: " + info);
        }
        if (mentions(info, "apikey") || mentions(info, "api key")) {
            return Answer::error(TICKERD_E_AUTH, "Information: " + info);
        }
        return Answer::error(TICKERD_E_PERMANENT, "Information: " + info);
    }
    if (auto error = vendorkit::text(root, "Error Message"); !error.empty()) {
        if (mentions(error, "apikey") || mentions(error, "api key")) {
            return Answer::error(TICKERD_E_AUTH, "Error Message: " + error);
        }
        // "Invalid API call" for a well-formed request means the symbol is unknown.
        return Answer::error(TICKERD_E_NOT_FOUND, "Error Message: " + error);
    }
    return std::nullopt;
}

std::variant<boost::json::object, Answer> answer_root(std::string_view body,
                                                      std::string_view function) {
    boost::system::error_code ec;
    boost::json::value root = boost::json::parse(body, ec);
    if (ec || !root.is_object()) {
        return Answer::error(TICKERD_E_TRANSIENT, std::string(function) + ": malformed JSON");
    }
    if (auto error = envelope_error(root.get_object())) return std::move(*error);
    return std::move(root.get_object());
}

}  // namespace alphavantage
