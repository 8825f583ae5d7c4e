// The JSON writer: doubles in their shortest round-trip form, everything else as Boost.JSON
// writes it, and the text parses back to the same value.
#define BOOST_TEST_MODULE core_json_writer
#include <boost/test/unit_test.hpp>

#include "core/json_writer.hpp"

#include <boost/json.hpp>

#include <limits>

namespace json = boost::json;
using tickerd::write_json;

BOOST_AUTO_TEST_CASE(doubles_are_written_as_people_write_them) {
    BOOST_TEST(write_json(json::value(255.85)) == "255.85");
    BOOST_TEST(write_json(json::value(0.1)) == "0.1");
    BOOST_TEST(write_json(json::value(-3.5)) == "-3.5");
    BOOST_TEST(write_json(json::value(150.0)) == "150");
    BOOST_TEST(write_json(json::value(225.6999969482422)) == "225.6999969482422");
}

BOOST_AUTO_TEST_CASE(non_finite_numbers_become_null) {
    BOOST_TEST(write_json(json::value(std::numeric_limits<double>::quiet_NaN())) == "null");
    BOOST_TEST(write_json(json::value(std::numeric_limits<double>::infinity())) == "null");
}

BOOST_AUTO_TEST_CASE(structure_strings_and_integers_are_kept) {
    json::value value = {{"symbol", "BRK-B"},
                         {"quote", "say \"hi\"\n"},
                         {"volume", 123456789},
                         {"big", std::numeric_limits<uint64_t>::max()},
                         {"ok", true},
                         {"none", nullptr},
                         {"prices", {1.25, 2, 3.5e21}}};
    auto text = write_json(value);
    BOOST_TEST(text.find("E") == std::string::npos, text);
    BOOST_TEST(json::parse(text) == value, text);
}
