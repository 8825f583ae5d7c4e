// The Alpha Vantage vendor (API key required): market_data from GLOBAL_QUOTE, news from
// NEWS_SENTIMENT, fundamentals from OVERVIEW, insider data from INSIDER_TRANSACTIONS, and
// analytics computed from TIME_SERIES_DAILY — one request per poll, where Alpha Vantage's own
// indicator functions would spend seven of a 25-a-day budget. Limits and errors arrive as
// HTTP 200 bodies, so every parser goes through envelope_error first.
#include "parsers.hpp"
#include "settings.hpp"

#include <tickerd/plugin.hpp>

#include <cstdlib>

namespace {

using tickerd::sdk::Call;
using tickerd::sdk::Host;
using tickerd::sdk::Outcome;
using vendorkit::percent_encoded;

class AlphaVantage {
  public:
    AlphaVantage(const Host& host, std::string_view, std::string_view settings)
        : settings_(alphavantage::parse_settings(settings, std::getenv("ALPHAVANTAGE_API_KEY"))) {
        host.debug("alphavantage: using " + settings_.http.base_url);
    }

    Outcome fetch(const Call& call) {
        std::string symbol(call.symbol());
        std::string ticker = percent_encoded(symbol);
        auto type = call.data_type();
        if (type == "market_data") {
            return query(call, "GLOBAL_QUOTE&symbol=" + ticker, [&](std::string_view body) {
                return alphavantage::parse_global_quote(body, symbol);
            });
        }
        if (type == "news") {
            return query(call, "NEWS_SENTIMENT&sort=LATEST&limit=50&tickers=" + ticker,
                         [&](std::string_view body) {
                             return alphavantage::parse_news_sentiment(body, symbol);
                         });
        }
        if (type == "fundamentals") {
            return query(call, "OVERVIEW&symbol=" + ticker, [&](std::string_view body) {
                return alphavantage::parse_overview(body, symbol);
            });
        }
        if (type == "insider_data") {
            return query(call, "INSIDER_TRANSACTIONS&symbol=" + ticker, [&](std::string_view body) {
                return alphavantage::parse_insider_transactions(body, symbol);
            });
        }
        if (type == "analytics") return analytics(call, symbol);
        return Outcome::unsupported("alphavantage: " + std::string(type) + " is not served");
    }

  private:
    // Computed from the daily series; SMA 200 from the SMA function when the series is short.
    Outcome analytics(const Call& call, const std::string& symbol) const {
        int status = 0;
        auto answer = vendorkit::get_answer(
            call, settings_.http,
            url("TIME_SERIES_DAILY&symbol=" + percent_encoded(symbol) +
                "&outputsize=" + settings_.daily_outputsize),
            [&](std::string_view body) { return alphavantage::parse_daily_series(body, symbol); },
            {}, &status);
        if (answer.status == TICKERD_OK && answer.data["sma_200"].is_null() &&
            settings_.sma_200_request) {
            auto sma = vendorkit::get_answer(
                call, settings_.http,
                url("SMA&symbol=" + percent_encoded(symbol) +
                    "&interval=daily&time_period=200&series_type=close"),
                [&](std::string_view body) {
                    return alphavantage::parse_technical_indicator(body, symbol);
                });
            // Without it (a limit, a refusal) the rest is still worth publishing.
            if (sma.status == TICKERD_OK) answer.data["sma_200"] = sma.data["value"];
        }
        return vendorkit::to_outcome(std::move(answer), "alphavantage", status);
    }

    std::string url(const std::string& function) const {
        return settings_.http.base_url + "/query?function=" + function +
               "&apikey=" + percent_encoded(settings_.api_key);
    }

    // `function` is the query after "function=", e.g. "OVERVIEW&symbol=IBM".
    template <class Parse>
    Outcome query(const Call& call, const std::string& function, Parse parse) const {
        return vendorkit::get_json(call, settings_.http, url(function), "alphavantage", parse);
    }

    const alphavantage::Settings settings_;
};

}  // namespace

TICKERD_DECLARE_PLUGIN(AlphaVantage, "alphavantage", "0.2.0", "Alpha Vantage (API key)", 20,
                       TICKERD_PLUGIN_THREADSAFE, "market_data", "news", "fundamentals",
                       "analytics", "insider_data")
