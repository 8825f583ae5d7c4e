// The Yahoo Finance vendor: no API key. market_data comes from the v8 chart API; the other
// data types follow (news from search, fundamentals and insider data from quoteSummary with
// its cookie + crumb handshake, analytics computed from daily bars).
#include "chart.hpp"
#include "settings.hpp"

#include <tickerd/plugin.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>

namespace {

using tickerd::sdk::Call;
using tickerd::sdk::Host;
using tickerd::sdk::HttpRequest;
using tickerd::sdk::Outcome;

// Symbols such as ^GSPC and EURUSD=X go into the path percent-encoded.
std::string path_segment(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

Outcome to_outcome(yfinance::Answer answer, int http_status) {
    Outcome outcome = answer.status == TICKERD_OK
                          ? Outcome::ok(boost::json::serialize(answer.data))
                          : Outcome::error(answer.status, "yfinance: " + answer.message);
    outcome.retry_after_ms = answer.retry_after_ms;
    outcome.http_status = http_status;
    return outcome;
}

class Yfinance {
  public:
    Yfinance(const Host& host, std::string_view, std::string_view settings)
        : settings_(yfinance::parse_settings(settings)) {
        host.debug("yfinance: using " + settings_.base_url);
    }

    Outcome fetch(const Call& call) {
        if (call.data_type() != "market_data") {
            return Outcome::unsupported("yfinance: " + std::string(call.data_type()) +
                                        " is not served yet");
        }
        HttpRequest request;
        request.url = settings_.base_url + "/v8/finance/chart/" + path_segment(call.symbol()) +
                      "?range=1d&interval=1d";
        request.headers = {{"Accept", "application/json"}};
        request.timeout_ms = settings_.timeout_ms;
        auto response = call.http(request);
        if (!response.ok()) return Outcome::error(response.outcome, "yfinance: " + response.error);

        yfinance::Answer answer;
        if (response.status == 200 || response.status == 404) {
            // A 404 carries {"chart":{"error":{"code":"Not Found",…}}}: the parser says which.
            answer = yfinance::parse_chart(response.body, call.symbol());
            if (response.status == 404 && answer.status == TICKERD_OK) {
                answer = yfinance::classify_http_status(404, "");
            } else if (response.status == 404 && answer.status != TICKERD_E_NOT_FOUND) {
                answer = yfinance::Answer::error(TICKERD_E_NOT_FOUND, answer.message);
            }
        } else {
            answer =
                yfinance::classify_http_status(response.status, response.header("Retry-After"));
        }
        if (answer.status == TICKERD_OK && settings_.include_raw) {
            boost::system::error_code ec;
            answer.data["raw"] = boost::json::parse(response.body, ec);
        }
        return to_outcome(std::move(answer), response.status);
    }

  private:
    const yfinance::Settings settings_;
};

}  // namespace

TICKERD_DECLARE_PLUGIN(Yfinance, "yfinance", "0.1.0", "Yahoo Finance (no API key)", 10,
                       TICKERD_PLUGIN_THREADSAFE, "market_data")
