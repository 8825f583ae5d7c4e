// libFuzzer target for the vendor parsers (scripts/fuzz.sh builds and runs it with clang):
// any bytes in, a classified answer out — never a crash, a hang, a sanitizer report, or an
// "ok" answer missing the schema's keys.
#include "chart.hpp"
#include "news.hpp"
#include "parsers.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto chart = yfinance::parse_chart(body, "FUZZ");
    if (chart.status == TICKERD_OK &&
        !(chart.data.contains("price") && chart.data.at("price").is_number() &&
          chart.data.contains("market_time"))) {
        __builtin_trap();
    }
    auto news = yfinance::parse_news(body, "FUZZ");
    if (news.status == TICKERD_OK && !news.data.at("items").is_array()) __builtin_trap();
    auto quote = alphavantage::parse_global_quote(body, "FUZZ");
    if (quote.status == TICKERD_OK && !quote.data.at("price").is_number()) __builtin_trap();
    return 0;
}
