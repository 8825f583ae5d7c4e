// How the host reports a failure its caller can recover from (CONTRIBUTING.md, "Errors"):
// a function that can fail returns Result<T>, which holds either the value or an Error that
// says what went wrong in words a user can act on, and which HTTP status it answers with.
// Exceptions are kept for what stops start-up (config::ConfigError) and for bugs.
//
//   Result<Instrument> parse_instrument(const json::value&);
//   auto instrument = parse_instrument(body);
//   if (!instrument) return error_reply(instrument.error());
//
// Result is Boost.System's result<T, E> (value(), error(), has_value(), operator*, ->).
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <iosfwd>
#include <string>

namespace tickerd {

struct Error {
    // Not an aggregate on purpose: Result<bool> or Result<int> would otherwise take a bool
    // or an int for an Error (C++20 builds aggregates from parentheses) and refuse values.
    Error() = default;
    Error(unsigned status, std::string detail, std::string field = {})
        : status(status), detail(std::move(detail)), field(std::move(field)) {}

    unsigned status = 500;  // the HTTP status this failure answers with
    std::string detail;     // one sentence: what is wrong, naming the field or thing
    std::string field;      // for a value that fails validation: its field ("" otherwise)

    // 422: `field` holds a value that fails validation; detail is "field: why".
    static Error invalid(std::string field, const std::string& why);
    static Error malformed(std::string detail);    // 400: the request cannot be read
    static Error not_found(std::string detail);    // 404
    static Error too_large(std::string detail);    // 413
    static Error unsupported(std::string detail);  // 415: a media type we do not take
    static Error unavailable(std::string detail);  // 503: a dependency (disk, Redis) failed

    // The same error for a field one level down: "cadences.news" + "interval_seconds: …"
    // becomes "cadences.news.interval_seconds: …".
    Error within(const std::string& parent) const;

    bool operator==(const Error&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Error& error);  // "422 field: why"

template <class T, class E = Error>
using Result = boost::system::result<T, E>;

// What Result::value() throws when asked for a value it does not hold: a bug in the
// caller, which should have checked.
[[noreturn]] void throw_exception_from_error(const Error& error, const boost::source_location&);

}  // namespace tickerd
