// A complete tickerd vendor plugin: one class, one macro. It answers market_data for any
// symbol with a fixed price taken from its settings ({"price": 42.0}); a real vendor would
// call.http(...) its service here and parse the answer (see the SDK README).
#include <tickerd/plugin.hpp>

#include <stdexcept>
#include <string>

namespace {

// The number after "price": in the settings JSON; `fallback` when absent.
double price_setting(std::string_view settings, double fallback) {
    auto at = settings.find("\"price\"");
    if (at == std::string_view::npos) return fallback;
    at = settings.find(':', at);
    if (at == std::string_view::npos) throw std::runtime_error("settings.price: expected a number");
    return std::stod(std::string(settings.substr(at + 1)));
}

}  // namespace

class Hello {
  public:
    Hello(const tickerd::sdk::Host& host, std::string_view name, std::string_view settings)
        : host_(host), price_(price_setting(settings, 42.0)) {
        host_.info("hello vendor ready as " + std::string(name));
    }

    tickerd::sdk::Outcome fetch(const tickerd::sdk::Call& call) {
        if (call.symbol() == "UNKNOWN") return tickerd::sdk::Outcome::not_found("no such symbol");
        auto price = std::to_string(price_);
        return tickerd::sdk::Outcome::ok(R"({"price": )" + price +
                                         R"(, "currency": "USD", "source": "hello"})");
    }

  private:
    tickerd::sdk::Host host_;
    double price_;
};

TICKERD_DECLARE_PLUGIN(Hello, "hello", "1.0.0", "Example third-party vendor", 5,
                       TICKERD_PLUGIN_THREADSAFE, "market_data")
