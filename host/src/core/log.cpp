#include "core/log.hpp"

#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/support/date_time.hpp>
#include <boost/log/utility/setup/common_attributes.hpp>
#include <boost/log/utility/setup/console.hpp>

#include <iostream>

namespace tickerd::log {

namespace logging = boost::log;
namespace expr = boost::log::expressions;
using boost::log::trivial::severity_level;

std::optional<severity_level> parse_level(std::string_view text) {
    if (text == "debug") return severity_level::debug;
    if (text == "info") return severity_level::info;
    if (text == "warning" || text == "warn") return severity_level::warning;
    if (text == "error") return severity_level::error;
    return std::nullopt;
}

void init(severity_level level) {
    logging::add_common_attributes();
    logging::add_console_log(
        std::clog, logging::keywords::auto_flush = true,
        logging::keywords::format =
            (expr::stream << expr::format_date_time<boost::posix_time::ptime>(
                                 "TimeStamp", "%Y-%m-%dT%H:%M:%S.%f")
                          << " " << logging::trivial::severity << " " << expr::smessage));
    set_level(level);
}

void set_level(severity_level level) {
    logging::core::get()->set_filter(logging::trivial::severity >= level);
}

}  // namespace tickerd::log
