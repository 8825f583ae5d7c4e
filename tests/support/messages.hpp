// Checks on what the daemon sends (CONTRACT.md §2–§3), shared by the black-box tests and
// the benchmark. They return problems as text rather than asserting, so a test prints all of
// them at once.
#pragma once

#include "support/clients.hpp"

#include <boost/json/value.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace tickerd::testing {

// Every way `message` differs from a StreamMessage of `channel` ("stream:<type>:<SYMBOL>").
std::vector<std::string> stream_message_problems(const boost::json::value& message,
                                                 std::string_view channel);
std::string join(const std::vector<std::string>& problems);

// The `detail` of an error answer; "" when the body is not {"detail": "<string>"}.
std::string detail_of(const HttpResponse& response);

// The list in a collection answer: the body itself when it is an array, else what is under
// `key` (an array, or an object keyed by id), else the object's values.
std::vector<boost::json::value> items_of(const boost::json::value& body, std::string_view key);
// The same, trying several keys in order ({"vendors", "plugins"}).
std::vector<boost::json::value> items_of(const boost::json::value& body,
                                         std::initializer_list<std::string_view> keys);

// metadata.seq of a StreamMessage, -1 when absent.
int64_t seq_of(const boost::json::value& message);

}  // namespace tickerd::testing
