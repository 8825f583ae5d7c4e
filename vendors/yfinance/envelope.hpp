// Yahoo wraps its answers alike: {"<name>": {"result": [...], "error": null}}; an error as
// {"<name>": {"result": null, "error": {"code": "Not Found", "description": …}}}; and a refused
// request (a stale crumb) as {"finance": {"result": null, "error": {"code": "Unauthorized"}}}.
// The chart, quoteSummary and quote parsers read it here.
#pragma once

#include "answer.hpp"

#include <boost/json/value.hpp>

#include <string_view>
#include <variant>

namespace yfinance {

using vendorkit::Answer;

// The result list (nullptr when the answer has none), or the error the answer stands for:
// "Not Found" → not found, "Unauthorized" → auth, other codes permanent, malformed JSON or no
// `name` object transient. `root` keeps the storage; `label` starts every message.
std::variant<const boost::json::array*, Answer> results_in(std::string_view body,
                                                           boost::json::value& root,
                                                           std::string_view name,
                                                           std::string_view label);

// The first result object; no result at all is not found for `symbol`.
std::variant<const boost::json::object*, Answer> first_result(std::string_view body,
                                                              boost::json::value& root,
                                                              std::string_view name,
                                                              std::string_view label,
                                                              std::string_view symbol);

}  // namespace yfinance
