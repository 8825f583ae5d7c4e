#include "core/result.hpp"

#include <ostream>
#include <stdexcept>

namespace tickerd {

Error Error::invalid(std::string field, const std::string& why) {
    std::string detail = field.empty() ? why : field + ": " + why;
    return {422, std::move(detail), std::move(field)};
}

Error Error::malformed(std::string detail) {
    return {400, std::move(detail), {}};
}

Error Error::not_found(std::string detail) {
    return {404, std::move(detail), {}};
}

Error Error::too_large(std::string detail) {
    return {413, std::move(detail), {}};
}

Error Error::unsupported(std::string detail) {
    return {415, std::move(detail), {}};
}

Error Error::unavailable(std::string detail) {
    return {503, std::move(detail), {}};
}

Error Error::within(const std::string& parent) const {
    if (field.empty()) return {status, parent + ": " + detail, parent};
    std::string path = parent + "." + field;
    return {status, path + detail.substr(field.size()), path};
}

std::ostream& operator<<(std::ostream& out, const Error& error) {
    return out << error.status << " " << error.detail;
}

void throw_exception_from_error(const Error& error, const boost::source_location&) {
    throw std::logic_error("Result::value() on an error: " + error.detail);
}

}  // namespace tickerd
