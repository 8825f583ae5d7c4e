// Alpha Vantage answers its limits and errors with HTTP 200 and a one-key body: "Note" (the
// old per-minute limit), "Information" (the daily limit, premium-only endpoints) or
// "Error Message" (bad key, unknown symbol or function). This maps them to error classes.
#pragma once

#include "answer.hpp"

#include <boost/json/object.hpp>

#include <optional>

namespace alphavantage {

using vendorkit::Answer;

// The error such a body stands for, or nothing when `root` is a normal answer.
std::optional<Answer> envelope_error(const boost::json::object& root);

}  // namespace alphavantage
