// The Alpha Vantage vendor (API key required). market_data comes from GLOBAL_QUOTE; news,
// fundamentals, insider transactions and indicators follow. Limits and errors arrive as
// HTTP 200 bodies, so every answer goes through envelope_error first.
#include "global_quote.hpp"
#include "settings.hpp"

#include <tickerd/plugin.hpp>

#include <cstdlib>

namespace {

using tickerd::sdk::Call;
using tickerd::sdk::Host;
using tickerd::sdk::Outcome;

class AlphaVantage {
  public:
    AlphaVantage(const Host& host, std::string_view, std::string_view settings)
        : settings_(alphavantage::parse_settings(settings, std::getenv("ALPHAVANTAGE_API_KEY"))) {
        host.debug("alphavantage: using " + settings_.http.base_url);
    }

    Outcome fetch(const Call& call) {
        if (call.data_type() != "market_data") {
            return Outcome::unsupported("alphavantage: " + std::string(call.data_type()) +
                                        " is not served yet");
        }
        std::string symbol(call.symbol());
        return vendorkit::get_json(
            call, settings_.http,
            settings_.http.base_url +
                "/query?function=GLOBAL_QUOTE&symbol=" + vendorkit::percent_encoded(symbol) +
                "&apikey=" + vendorkit::percent_encoded(settings_.api_key),
            "alphavantage",
            [&](std::string_view body) { return alphavantage::parse_global_quote(body, symbol); });
    }

  private:
    const alphavantage::Settings settings_;
};

}  // namespace

TICKERD_DECLARE_PLUGIN(AlphaVantage, "alphavantage", "0.1.0", "Alpha Vantage (API key)", 20,
                       TICKERD_PLUGIN_THREADSAFE, "market_data")
