// redacted_target(): the target of a request as logged never shows the access_token the
// stream routes read (query_param), wherever it sits in the query. Found by
// tests/fuzz/http_request_fuzz.cpp.
#define BOOST_TEST_MODULE gateway_redaction
#include <boost/test/unit_test.hpp>

#include "gateway/gate.hpp"

using tickerd::gateway::redacted_target;

BOOST_AUTO_TEST_CASE(every_access_token_parameter_is_redacted_and_nothing_else) {
    BOOST_TEST(redacted_target("/streaming/ws?channels=a&access_token=SECRET") ==
               "/streaming/ws?channels=a&access_token=…");
    BOOST_TEST(redacted_target("/streaming/ws?access_token=SECRET&channels=a") ==
               "/streaming/ws?access_token=…&channels=a");
    BOOST_TEST(redacted_target("/streaming/ws?access_token=ONE&access_token=TWO") ==
               "/streaming/ws?access_token=…&access_token=…");
    BOOST_TEST(redacted_target("/streaming/latest/x") == "/streaming/latest/x");
    BOOST_TEST(redacted_target("/x?access_token") == "/x?access_token");
}

BOOST_AUTO_TEST_CASE(
    a_value_that_merely_contains_access_token_hides_nothing_and_keeps_the_token_hidden) {
    // The first "access_token=" in the text was redacted, and the real one logged.
    BOOST_TEST(
        redacted_target("/streaming/subscribe/sse?channels=x_access_token=a&access_token=SECRET") ==
        "/streaming/subscribe/sse?channels=x_access_token=a&access_token=…");
    BOOST_TEST(redacted_target("/streaming/ws?my_access_token=a&access_token=SECRET") ==
               "/streaming/ws?my_access_token=a&access_token=…");
    BOOST_TEST(redacted_target("/access_token=a/x?b=1&access_token=SECRET") ==
               "/access_token=a/x?b=1&access_token=…");
}
