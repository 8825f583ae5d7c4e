// The normalised schema of each data type (README: "Data schemas"), written once for every
// test that checks a vendor's output, so the mock, Yahoo and Alpha Vantage are held to the
// same keys.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace tickerd::testing {

// The keys of `data` for `data_type` ("market_data", …), and of the objects nested in it
// ("news.items", "insider_data.transactions", "insider_data.sentiment").
const std::vector<std::string>& schema_keys(const std::string& data_type);

// Boost.Test checks: `data` has exactly the schema's keys (plus the documented extras: "raw"
// with include_raw, the mock's "mock_call"), and so do its items, transactions, sentiment.
void check_schema(const std::string& data_type, const boost::json::object& data);

}  // namespace tickerd::testing
