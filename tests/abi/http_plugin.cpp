// A plugin that fetches through the host's HTTP service (ABI 1.1), mapping HTTP answers to
// error classes the way the real vendors do. Settings: {"base_url": "http://127.0.0.1:P"}.
#include <tickerd/plugin.hpp>

#include <stdexcept>
#include <string>

namespace {

using tickerd::sdk::Call;
using tickerd::sdk::Host;
using tickerd::sdk::HttpRequest;
using tickerd::sdk::Outcome;

std::string base_url_of(std::string_view settings) {
    // The only setting, read without a JSON library to keep the fixture dependency-free.
    constexpr std::string_view key = "\"base_url\":\"";
    auto at = settings.find(key);
    if (at == std::string_view::npos) throw std::invalid_argument("settings.base_url is required");
    auto start = at + key.size();
    return std::string(settings.substr(start, settings.find('"', start) - start));
}

class HttpFixture {
  public:
    HttpFixture(const Host&, std::string_view, std::string_view settings)
        : base_url_(base_url_of(settings)) {}

    Outcome fetch(const Call& call) {
        HttpRequest request;
        request.url = base_url_ + "/quote/" + std::string(call.symbol());
        request.headers = {{"Accept", "application/json"}};
        auto response = call.http(request);
        if (!response.ok()) return Outcome::error(response.outcome, "http: " + response.error);
        Outcome outcome;
        if (response.status == 200) {
            outcome = Outcome::ok(std::string(response.body));
        } else if (response.status == 429) {
            auto retry_after = std::string(response.header("Retry-After"));
            outcome = Outcome::rate_limited(
                retry_after.empty() ? 0 : std::stoll(retry_after) * 1000, "HTTP 429");
        } else if (response.status == 404) {
            outcome = Outcome::not_found("HTTP 404");
        } else {
            outcome = Outcome::transient("HTTP " + std::to_string(response.status));
        }
        outcome.http_status = response.status;
        return outcome;
    }

  private:
    std::string base_url_;
};

}  // namespace

TICKERD_DECLARE_PLUGIN(HttpFixture, "abi_http", "0.0.1", "ABI test: HTTP through the host", 5,
                       TICKERD_PLUGIN_THREADSAFE, "market_data")
