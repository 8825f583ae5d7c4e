// Value checks shared by the flag, environment and file layers, so a value means the same
// wherever it comes from. `source` names where it came from ("--role", "TICKERD_ROLE",
// "<file>: role") and starts the error message.
#pragma once

#include <string>
#include <string_view>

namespace tickerd::config::detail {

std::string checked_listen(std::string_view value, const std::string& source);
std::string checked_role(std::string_view value, const std::string& source);
std::string checked_log_level(std::string_view value, const std::string& source);
std::string checked_log_format(std::string_view value, const std::string& source);

}  // namespace tickerd::config::detail
