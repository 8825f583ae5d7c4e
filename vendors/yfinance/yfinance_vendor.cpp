// The Yahoo Finance vendor: no API key. market_data comes from the v8 chart API, news from
// the v1 search API, analytics are computed from a year of daily bars (v8 chart), and
// fundamentals and insider data come from quoteSummary behind the cookie + crumb handshake.
#include "chart.hpp"
#include "news.hpp"
#include "quote_summary.hpp"
#include "session.hpp"
#include "settings.hpp"

#include <tickerd/plugin.hpp>

namespace {

using tickerd::sdk::Call;
using tickerd::sdk::Host;
using tickerd::sdk::Outcome;
using vendorkit::percent_encoded;

class Yfinance {
  public:
    Yfinance(const Host& host, std::string_view, std::string_view settings)
        : settings_(yfinance::parse_settings(settings)),
          session_(settings_.cookie_url, settings_.http.base_url + "/v1/test/getcrumb",
                   settings_.http.timeout_ms) {
        host.debug("yfinance: using " + settings_.http.base_url);
    }

    Outcome fetch(const Call& call) {
        std::string symbol(call.symbol());
        std::string chart = "/v8/finance/chart/" + percent_encoded(symbol);
        auto type = call.data_type();
        if (type == "market_data" && settings_.market_data_api == "quote") {
            return behind_crumb(
                call, "/v7/finance/quote?symbols=" + percent_encoded(symbol),
                [&](std::string_view body) { return yfinance::parse_quote(body, symbol); });
        }
        if (type == "market_data") {
            return get(call, chart + "?range=1d&interval=1d",
                       [&](std::string_view body) { return yfinance::parse_chart(body, symbol); });
        }
        if (type == "analytics") {
            return get(call, chart + "?range=1y&interval=1d", [&](std::string_view body) {
                return yfinance::parse_analytics(body, symbol);
            });
        }
        if (type == "news") {
            return get(
                call,
                "/v1/finance/search?q=" + percent_encoded(symbol) + "&quotesCount=0&newsCount=10",
                [&](std::string_view body) { return yfinance::parse_news(body, symbol); });
        }
        if (type == "fundamentals") {
            return quote_summary(call, yfinance::kFundamentalsModules, [&](std::string_view body) {
                return yfinance::parse_fundamentals(body, symbol);
            });
        }
        if (type == "insider_data") {
            return quote_summary(call, yfinance::kInsiderModules, [&](std::string_view body) {
                return yfinance::parse_insider(body, symbol);
            });
        }
        return Outcome::unsupported("yfinance: " + std::string(type) + " is not served");
    }

  private:
    template <class Parse>
    Outcome get(const Call& call, const std::string& path, Parse parse,
                const vendorkit::Headers& headers = {}) const {
        return vendorkit::get_json(call, settings_.http, settings_.http.base_url + path, "yfinance",
                                   parse, headers);
    }

    template <class Parse>
    Outcome quote_summary(const Call& call, std::string_view modules, Parse parse) {
        return behind_crumb(call,
                            "/v10/finance/quoteSummary/" + percent_encoded(call.symbol()) +
                                "?modules=" + percent_encoded(modules) + "&formatted=false",
                            parse);
    }

    // `path_and_query` with the session's crumb and cookie; a refusal (stale crumb) is
    // answered by one fresh handshake and one more try.
    template <class Parse>
    Outcome behind_crumb(const Call& call, const std::string& path_and_query, Parse parse) {
        Outcome outcome;
        for (int attempt = 0; attempt < 2; ++attempt) {
            auto held = session_.credentials(call);
            if (auto* failed = std::get_if<Outcome>(&held)) return std::move(*failed);
            const auto& credentials = std::get<yfinance::Credentials>(held);
            outcome = get(call, path_and_query + "&crumb=" + percent_encoded(credentials.crumb),
                          parse, {{"Cookie", credentials.cookie}});
            if (outcome.http_status != 401 && outcome.http_status != 403) break;
            session_.forget(credentials);
        }
        return outcome;
    }

    const yfinance::Settings settings_;
    yfinance::Session session_;
};

}  // namespace

TICKERD_DECLARE_PLUGIN(Yfinance, "yfinance", "0.2.0", "Yahoo Finance (no API key)", 10,
                       TICKERD_PLUGIN_THREADSAFE, "market_data", "news", "fundamentals",
                       "analytics", "insider_data")
