// Alpha Vantage answers its limits and errors with HTTP 200 and a one-key body: "Note" (the
// old per-minute limit), "Information" (the daily limit, premium-only endpoints) or
// "Error Message" (bad key, unknown symbol or function). This maps them to error classes.
#pragma once

#include "answer.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string_view>
#include <variant>

namespace alphavantage {

using vendorkit::Answer;

// The error such a body stands for, or nothing when `root` is a normal answer.
std::optional<Answer> envelope_error(const boost::json::object& root);

// The body as a JSON object, or the error it stands for: malformed JSON (transient, named
// after `function`) or one of the bodies above.
std::variant<boost::json::object, Answer> answer_root(std::string_view body,
                                                      std::string_view function);

}  // namespace alphavantage
