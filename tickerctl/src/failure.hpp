// How tickerctl fails: every error that reaches main() carries the exit status it ends with
// (the contract scripts rely on) and one sentence for the user.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <stdexcept>
#include <string>

namespace tickerctl {

enum class ExitCode {
    ok = 0,
    api_error = 1,    // the daemon answered with an error status; its detail is printed
    usage = 2,        // an unknown command or option, a missing or malformed argument
    unreachable = 3,  // no answer: connection refused, name not resolved, TLS failed, timeout
};

struct Failure {
    // Not an aggregate (see core/result.hpp): Outcome<long> must not take a long for a Failure.
    Failure() = default;
    Failure(ExitCode code, std::string message) : code(code), message(std::move(message)) {}

    ExitCode code = ExitCode::api_error;
    std::string message;

    static Failure usage(std::string message) { return {ExitCode::usage, std::move(message)}; }
    static Failure unreachable(std::string message) {
        return {ExitCode::unreachable, std::move(message)};
    }
    static Failure api(std::string message) { return {ExitCode::api_error, std::move(message)}; }
};

template <class T>
using Outcome = boost::system::result<T, Failure>;

// What Outcome::value() throws when asked for a value it does not hold: a bug in the caller.
[[noreturn]] inline void throw_exception_from_error(const Failure& failure,
                                                    const boost::source_location&) {
    throw std::logic_error("Outcome has no value: " + failure.message);
}

}  // namespace tickerctl
