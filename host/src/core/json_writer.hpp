// JSON text as people expect to read it. Boost.JSON 1.81 writes every double in exponent
// form (255.85 becomes 2.5585E2): valid, but not what a user of a price feed wants to see in
// curl. This writer prints doubles in their shortest round-trip form (255.85, 0.1, 1e+21)
// and is otherwise Boost.JSON's serializer.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace tickerd {

std::string write_json(const boost::json::value& value);
void write_json(const boost::json::value& value, std::string& out);  // appends
std::string write_json(const boost::json::object& object);
void write_json(const boost::json::object& object, std::string& out);  // appends

}  // namespace tickerd
