#include "simulated_data.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace mock {

namespace {

namespace json = boost::json;

constexpr int64_t kDayMs = 24 * 3600 * 1000;

std::string iso8601(int64_t unix_ms) {
    std::time_t seconds = unix_ms / 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[40];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    char with_ms[48];
    std::snprintf(with_ms, sizeof with_ms, "%s.%03dZ", text, static_cast<int>(unix_ms % 1000));
    return with_ms;
}

std::string date_of(int64_t unix_ms) {
    return iso8601(unix_ms).substr(0, 10);
}

double cents(double value) {
    return std::round(value * 100.0) / 100.0;
}

// Alpha Vantage's bands, which the schema's labels follow.
const char* sentiment_label(double score) {
    if (score <= -0.35) return "Bearish";
    if (score <= -0.15) return "Somewhat-Bearish";
    if (score < 0.15) return "Neutral";
    if (score < 0.35) return "Somewhat-Bullish";
    return "Bullish";
}

}  // namespace

uint64_t stable_hash(std::string_view text) {
    uint64_t hash = 1469598103934665603ull;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 1099511628211ull;
    }
    return hash;
}

SymbolWalk::SymbolWalk(std::string_view symbol, uint64_t seed)
    : symbol_(symbol), rng_(stable_hash(symbol) ^ (seed * 0x9e3779b97f4a7c15ull)) {
    open_ = cents(uniform(20.0, 500.0));
    previous_close_ = cents(open_ * uniform(0.97, 1.03));
    price_ = high_ = low_ = open_;
}

double SymbolWalk::uniform(double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(rng_);
}

json::object SymbolWalk::next(std::string_view data_type, int64_t now_unix_ms) {
    ++steps_;
    if (data_type == "market_data") return market_data(now_unix_ms);
    if (data_type == "news") return news(now_unix_ms);
    if (data_type == "fundamentals") return fundamentals();
    if (data_type == "analytics") return analytics(now_unix_ms);
    if (data_type == "insider_data") return insider_data(now_unix_ms);
    return {};
}

json::object SymbolWalk::market_data(int64_t now_unix_ms) {
    // A multiplicative step of at most ±0.5 % keeps the price positive and plausible.
    price_ = std::max(0.01, cents(price_ * (1.0 + uniform(-0.005, 0.005))));
    high_ = std::max(high_, price_);
    low_ = std::min(low_, price_);
    volume_ += static_cast<int64_t>(uniform(100, 10000));
    double change = cents(price_ - previous_close_);
    return json::object{
        {"symbol", symbol_},  {"price", price_},
        {"open", open_},      {"high", high_},
        {"low", low_},        {"previous_close", previous_close_},
        {"change", change},   {"change_percent", std::round(change / previous_close_ * 1e6) / 1e4},
        {"volume", volume_},  {"currency", "USD"},
        {"exchange", "MOCK"}, {"market_time", iso8601(now_unix_ms)},
    };
}

json::object SymbolWalk::news(int64_t now_unix_ms) {
    json::array items;
    for (int i = 0; i < 3; ++i) {
        std::string id = symbol_ + "-" + std::to_string(steps_) + "-" + std::to_string(i);
        double score = std::round(uniform(-1.0, 1.0) * 1000) / 1000;
        items.push_back(json::object{
            {"id", id},
            {"title", symbol_ + " simulated headline " + std::to_string(steps_ * 3 + i)},
            {"publisher", "Mock Wire"},
            {"url", "https://example.invalid/news/" + id},
            {"published_at", iso8601(now_unix_ms - i * 3600 * 1000)},
            {"summary", "Simulated news item for " + symbol_ + "."},
            {"sentiment", score},
            {"sentiment_label", sentiment_label(score)},
        });
    }
    return json::object{{"symbol", symbol_}, {"items", std::move(items)}};
}

json::object SymbolWalk::fundamentals() {
    double eps = cents(uniform(0.5, 12.0));
    double shares = std::round(uniform(1e8, 1e10));
    return json::object{
        {"symbol", symbol_},
        {"name", symbol_ + " Simulated Inc."},
        {"description", "A simulated company for tests and demos."},
        {"sector", "Technology"},
        {"industry", "Simulation Software"},
        {"country", "United States"},
        {"exchange", "MOCK"},
        {"currency", "USD"},
        {"market_cap", static_cast<int64_t>(std::round(price_ * shares))},
        {"pe_ratio", cents(price_ / eps)},
        {"forward_pe", cents(price_ / (eps * 1.1))},
        {"eps", eps},
        {"forward_eps", cents(eps * 1.1)},
        {"price_to_book", cents(uniform(1, 20))},
        {"dividend_yield", std::round(uniform(0.0, 0.04) * 1e4) / 1e4},
        {"beta", cents(uniform(0.5, 1.8))},
        {"fifty_two_week_high", cents(price_ * 1.25)},
        {"fifty_two_week_low", cents(price_ * 0.75)},
        {"shares_outstanding", static_cast<int64_t>(shares)},
        {"profit_margin", std::round(uniform(0.02, 0.3) * 1e4) / 1e4},
        {"revenue_ttm", static_cast<int64_t>(std::round(price_ * shares * 0.2))},
        {"ebitda", static_cast<int64_t>(std::round(price_ * shares * 0.05))},
        {"employees", static_cast<int64_t>(std::round(uniform(100, 100000)))},
    };
}

json::object SymbolWalk::analytics(int64_t now_unix_ms) {
    double macd = cents(uniform(-3, 3));
    double signal = cents(macd + uniform(-0.5, 0.5));
    double sma20 = cents(price_ * uniform(0.98, 1.02));
    double band = cents(price_ * 0.04);
    return json::object{
        {"symbol", symbol_},
        {"as_of", date_of(now_unix_ms)},
        {"close", price_},
        {"bars", 250},
        {"sma_50", cents(price_ * uniform(0.95, 1.05))},
        {"sma_200", cents(price_ * uniform(0.9, 1.1))},
        {"ema_10", cents(price_ * uniform(0.99, 1.01))},
        {"rsi_14", cents(uniform(20, 80))},
        {"macd", macd},
        {"macd_signal", signal},
        {"macd_histogram", cents(macd - signal)},
        {"bollinger_upper", cents(sma20 + band)},
        {"bollinger_middle", sma20},
        {"bollinger_lower", cents(sma20 - band)},
        {"atr_14", cents(price_ * uniform(0.01, 0.03))},
    };
}

json::object SymbolWalk::insider_data(int64_t now_unix_ms) {
    static const char* const kInsiders[] = {"Jane Doe", "John Roe", "Alex Poe"};
    static const char* const kRelations[] = {"CEO", "CFO", "Director"};
    json::array transactions;
    int64_t bought = 0, sold = 0, buys = 0, sells = 0;
    for (int i = 0; i < 3; ++i) {
        bool buy = uniform(0, 1) < 0.5;
        auto shares = static_cast<int64_t>(uniform(100, 50000));
        transactions.push_back(json::object{
            {"insider", kInsiders[i]},
            {"relation", kRelations[i]},
            {"date", date_of(now_unix_ms - (i + 1) * 7 * kDayMs)},
            {"type", buy ? "acquisition" : "disposal"},
            {"description", buy ? "Purchase" : "Sale"},
            {"shares", shares},
            {"price", price_},
            {"value", cents(static_cast<double>(shares) * price_)},
        });
        (buy ? bought : sold) += shares;
        ++(buy ? buys : sells);
    }
    return json::object{
        {"symbol", symbol_},
        {"transactions", std::move(transactions)},
        {"sentiment", json::object{{"period", "6m"},
                                   {"buy_count", buys},
                                   {"sell_count", sells},
                                   {"buy_shares", bought},
                                   {"sell_shares", sold},
                                   {"net_shares", bought - sold},
                                   {"net_percent_insider_shares", nullptr}}},
    };
}

}  // namespace mock
