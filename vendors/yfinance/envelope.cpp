#include "envelope.hpp"

#include "json_read.hpp"

#include <boost/json/parse.hpp>

namespace yfinance {

namespace json = boost::json;
using namespace vendorkit;

std::variant<const json::array*, Answer> results_in(std::string_view body, json::value& root,
                                                    std::string_view name, std::string_view label) {
    std::string prefix = std::string(label) + ": ";
    boost::system::error_code ec;
    root = json::parse(body, ec);
    if (ec || !root.is_object())
        return Answer::error(TICKERD_E_TRANSIENT, prefix + "malformed JSON");
    const auto* envelope = object_at(root.get_object(), name);
    if (!envelope) envelope = object_at(root.get_object(), "finance");
    if (!envelope) {
        return Answer::error(TICKERD_E_TRANSIENT, prefix + "no '" + std::string(name) + "'");
    }
    if (const auto* error = object_at(*envelope, "error")) {
        auto code = text(*error, "code");
        auto status = code == "Not Found"      ? TICKERD_E_NOT_FOUND
                      : code == "Unauthorized" ? TICKERD_E_AUTH
                                               : TICKERD_E_PERMANENT;
        return Answer::error(status, prefix + code + ": " + text(*error, "description"));
    }
    return array_at(*envelope, "result");
}

std::variant<const json::object*, Answer> first_result(std::string_view body, json::value& root,
                                                       std::string_view name,
                                                       std::string_view label,
                                                       std::string_view symbol) {
    auto found = results_in(body, root, name, label);
    if (auto* error = std::get_if<Answer>(&found)) return std::move(*error);
    const auto* results = std::get<const json::array*>(found);
    if (!results || results->empty() || !(*results)[0].is_object()) {
        return Answer::error(TICKERD_E_NOT_FOUND,
                             std::string(label) + ": no result for " + std::string(symbol));
    }
    return &(*results)[0].get_object();
}

}  // namespace yfinance
