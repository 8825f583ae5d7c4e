// libFuzzer target for the vendor parsers (scripts/fuzz.sh builds and runs it with clang):
// any bytes in, a classified answer out — never a crash, a hang, a sanitizer report, an
// "ok" answer missing its schema's keys, or an error without a message.
#include "chart.hpp"
#include "news.hpp"
#include "parsers.hpp"
#include "quote_summary.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace {

void expect(const vendorkit::Answer& answer, std::initializer_list<std::string_view> keys) {
    if (answer.status != TICKERD_OK) {
        if (answer.message.empty()) __builtin_trap();
        return;
    }
    for (auto key : keys) {
        if (!answer.data.contains(key)) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto chart = yfinance::parse_chart(body, "FUZZ");
    expect(chart, {"price", "market_time"});
    if (chart.status == TICKERD_OK && !chart.data.at("price").is_number()) __builtin_trap();
    expect(yfinance::parse_analytics(body, "FUZZ"), {"as_of", "sma_200", "rsi_14", "atr_14"});
    expect(yfinance::parse_news(body, "FUZZ"), {"items"});
    expect(yfinance::parse_quote(body, "FUZZ"), {"price", "change_percent"});
    expect(yfinance::parse_fundamentals(body, "FUZZ"), {"name", "market_cap", "pe_ratio"});
    expect(yfinance::parse_insider(body, "FUZZ"), {"transactions", "sentiment"});
    expect(alphavantage::parse_global_quote(body, "FUZZ"), {"price"});
    expect(alphavantage::parse_news_sentiment(body, "FUZZ"), {"items"});
    expect(alphavantage::parse_overview(body, "FUZZ"), {"name", "market_cap"});
    expect(alphavantage::parse_insider_transactions(body, "FUZZ"), {"transactions"});
    expect(alphavantage::parse_daily_series(body, "FUZZ"), {"as_of", "macd", "bollinger_upper"});
    expect(alphavantage::parse_technical_indicator(body, "FUZZ"), {"indicator", "value"});
    return 0;
}
