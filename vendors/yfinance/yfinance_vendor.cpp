// The Yahoo Finance vendor: no API key. market_data comes from the v8 chart API and news from
// the v1 search API; the other data types follow (fundamentals and insider data from
// quoteSummary with its cookie + crumb handshake, analytics computed from daily bars).
#include "chart.hpp"
#include "news.hpp"
#include "settings.hpp"

#include <tickerd/plugin.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace {

using tickerd::sdk::Call;
using tickerd::sdk::Host;
using tickerd::sdk::HttpRequest;
using tickerd::sdk::Outcome;

class Yfinance {
  public:
    Yfinance(const Host& host, std::string_view, std::string_view settings)
        : settings_(yfinance::parse_settings(settings)) {
        host.debug("yfinance: using " + settings_.base_url);
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
    // GETs base_url + path and hands a 200's body (or a 404's, which says why) to `parse`.
    template <class Parse>
    Outcome get(const Call& call, const std::string& path, Parse parse) const {
        HttpRequest request;
        request.url = settings_.base_url + path;
        request.headers = {{"Accept", "application/json"}};
        request.timeout_ms = settings_.timeout_ms;
        auto response = call.http(request);
        if (!response.ok()) return Outcome::error(response.outcome, "yfinance: " + response.error);

        vendorkit::Answer answer;
        if (response.status == 200) {
            answer = parse(response.body);
        } else if (response.status == 404) {
            // Yahoo's 404s say why ({"chart":{"error":{"code":"Not Found",…}}}); whatever the
            // body holds, the class is not found.
            auto parsed = parse(response.body);
            answer = vendorkit::Answer::error(
                TICKERD_E_NOT_FOUND, parsed.status == TICKERD_OK ? "HTTP 404" : parsed.message);
        } else {
            answer =
                vendorkit::classify_http_status(response.status, response.header("Retry-After"));
        }
        if (answer.status == TICKERD_OK && settings_.include_raw) {
            boost::system::error_code ec;
            answer.data["raw"] = boost::json::parse(response.body, ec);
        }
        return vendorkit::to_outcome(std::move(answer), "yfinance", response.status);
    }

    const yfinance::Settings settings_;
};

}  // namespace

TICKERD_DECLARE_PLUGIN(Yfinance, "yfinance", "0.1.0", "Yahoo Finance (no API key)", 10,
                       TICKERD_PLUGIN_THREADSAFE, "market_data", "news")
