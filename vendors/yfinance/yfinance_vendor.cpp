// The Yahoo Finance vendor: no API key. market_data comes from the v8 chart API and news from
// the v1 search API; the other data types follow (fundamentals and insider data from
// quoteSummary with its cookie + crumb handshake, analytics computed from daily bars).
#include "chart.hpp"
#include "news.hpp"
#include "settings.hpp"

#include <tickerd/plugin.hpp>

namespace {

using tickerd::sdk::Call;
using tickerd::sdk::Host;
using tickerd::sdk::Outcome;

class Yfinance {
  public:
    Yfinance(const Host& host, std::string_view, std::string_view settings)
        : settings_(yfinance::parse_settings(settings)) {
        host.debug("yfinance: using " + settings_.http.base_url);
    }

    Outcome fetch(const Call& call) {
        std::string symbol(call.symbol());
        if (call.data_type() == "market_data") {
            return get(
                call,
                "/v8/finance/chart/" + vendorkit::percent_encoded(symbol) + "?range=1d&interval=1d",
                [&](std::string_view body) { return yfinance::parse_chart(body, symbol); });
        }
        if (call.data_type() == "news") {
            return get(call,
                       "/v1/finance/search?q=" + vendorkit::percent_encoded(symbol) +
                           "&quotesCount=0&newsCount=10",
                       [&](std::string_view body) { return yfinance::parse_news(body, symbol); });
        }
        return Outcome::unsupported("yfinance: " + std::string(call.data_type()) +
                                    " is not served yet");
    }

  private:
    template <class Parse>
    Outcome get(const Call& call, const std::string& path, Parse parse) const {
        return vendorkit::get_json(call, settings_.http, settings_.http.base_url + path, "yfinance",
                                   parse);
    }

    const yfinance::Settings settings_;
};

}  // namespace

TICKERD_DECLARE_PLUGIN(Yfinance, "yfinance", "0.1.0", "Yahoo Finance (no API key)", 10,
                       TICKERD_PLUGIN_THREADSAFE, "market_data", "news")
