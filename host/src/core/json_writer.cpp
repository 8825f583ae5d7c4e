#include "core/json_writer.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

namespace tickerd {

namespace {

void write_double(double number, std::string& out) {
    if (!std::isfinite(number)) {
        out += "null";  // JSON has no NaN or infinity
        return;
    }
    char text[32];
    auto [end, ec] = std::to_chars(text, text + sizeof text, number);
    out.append(text, ec == std::errc() ? end : text);
}

}  // namespace

void write_json(const boost::json::object& object, std::string& out) {
    out += '{';
    bool first = true;
    for (const auto& [key, member] : object) {
        if (!first) out += ',';
        first = false;
        out += boost::json::serialize(boost::json::string_view(key));
        out += ':';
        write_json(member, out);
    }
    out += '}';
}

void write_json(const boost::json::value& value, std::string& out) {
    switch (value.kind()) {
        case boost::json::kind::double_:
            return write_double(value.get_double(), out);
        case boost::json::kind::object:
            return write_json(value.get_object(), out);
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& element : value.get_array()) {
                if (!first) out += ',';
                first = false;
                write_json(element, out);
            }
            out += ']';
            return;
        }
        default:
            out += boost::json::serialize(value);  // strings, integers, booleans, null
            return;
    }
}

std::string write_json(const boost::json::value& value) {
    std::string out;
    write_json(value, out);
    return out;
}

std::string write_json(const boost::json::object& object) {
    std::string out;
    write_json(object, out);
    return out;
}

}  // namespace tickerd
