#include "core/log.hpp"

#include "core/enum_names.hpp"
#include "core/json_writer.hpp"
#include "core/systemd.hpp"

#include <boost/date_time/posix_time/posix_time.hpp>
#include <boost/json.hpp>
#include <boost/log/attributes/clock.hpp>
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

std::string_view to_string(Level level) {
    return name_of(kLevelNames, level);
}

std::optional<Level> parse_level(std::string_view text) {
    if (text == "warn") return Level::warning;  // what syslog and most daemons also accept
    return parse_name<Level>(kLevelNames, text);
}

std::string_view to_string(Format format) {
    return name_of(kFormatNames, format);
}

std::optional<Format> parse_format(std::string_view text) {
    return parse_name<Format>(kFormatNames, text);
}

namespace {

severity_level severity(Level level) {
    switch (level) {
        case Level::debug:
            return severity_level::debug;
        case Level::info:
            return severity_level::info;
        case Level::warning:
            return severity_level::warning;
        case Level::error:
            return severity_level::error;
    }
    return severity_level::info;
}

// syslog priorities, as journald reads them from a "<N>" line prefix.
int journal_priority(severity_level level) {
    switch (level) {
        case severity_level::trace:
        case severity_level::debug:
            return 7;
        case severity_level::info:
            return 6;
        case severity_level::warning:
            return 4;
        case severity_level::error:
            return 3;
        default:
            return 2;
    }
}

}  // namespace

void init(Level level, Format format) {
    logging::add_common_attributes();
    auto sink = logging::add_console_log(std::clog, logging::keywords::auto_flush = true);
    if (format == Format::json) {
        // "TimeStamp" is local time; a JSON line says "Z", so it carries UTC.
        logging::core::get()->add_global_attribute("UtcTimeStamp",
                                                   logging::attributes::utc_clock());
        // For log shippers: one JSON object per line, the message escaped.
        sink->set_formatter(
            [](const logging::record_view& record, logging::formatting_ostream& out) {
                auto severity = logging::extract<severity_level>("Severity", record);
                auto time = logging::extract<boost::posix_time::ptime>("UtcTimeStamp", record);
                auto message = logging::extract<std::string>("Message", record);
                boost::json::object line{
                    {"time", time ? boost::posix_time::to_iso_extended_string(*time) + "Z" : ""},
                    {"level",
                     boost::log::trivial::to_string(severity ? *severity : severity_level::info)},
                    {"message", message ? *message : ""}};
                out << write_json(line);
            });
    } else if (format == Format::automatic && systemd::stderr_is_journal()) {
        // The journal stamps the time and keeps the priority as a field of its own.
        sink->set_formatter(
            [](const logging::record_view& record, logging::formatting_ostream& out) {
                auto severity = logging::extract<severity_level>("Severity", record);
                out << '<' << journal_priority(severity ? *severity : severity_level::info) << '>'
                    << record[expr::smessage];
            });
    } else {
        sink->set_formatter(expr::stream << expr::format_date_time<boost::posix_time::ptime>(
                                                "TimeStamp", "%Y-%m-%dT%H:%M:%S.%f")
                                         << " " << logging::trivial::severity << " "
                                         << expr::smessage);
    }
    set_level(level);
}

void set_level(Level level) {
    logging::core::get()->set_filter(logging::trivial::severity >= severity(level));
}

}  // namespace tickerd::log
