// NEWS_SENTIMENT: {"items": "56", "feed": [{title, url, time_published: "20220914T141049",
// summary, source, overall_sentiment_score, overall_sentiment_label, ticker_sentiment: [{
// ticker, ticker_sentiment_score: "0.56613", ticker_sentiment_label}]}]}. Alpha Vantage gives
// no item id and no zone for its times; tickerd uses the URL as the id and reads times as UTC.
#include "parsers.hpp"

#include "json_read.hpp"

#include <algorithm>
#include <utility>

namespace alphavantage {

namespace json = boost::json;

namespace {

// "20220914T141049" (or without seconds) → "2022-09-14T14:10:49Z".
json::value published_at(std::string_view text) {
    if ((text.size() != 15 && text.size() != 13) || text[8] != 'T') return nullptr;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i != 8 && (text[i] < '0' || text[i] > '9')) return nullptr;
    }
    std::string iso;
    iso.append(text.substr(0, 4)).append("-").append(text.substr(4, 2)).append("-");
    iso.append(text.substr(6, 2)).append("T").append(text.substr(9, 2)).append(":");
    iso.append(text.substr(11, 2)).append(":");
    iso.append(text.size() == 15 ? text.substr(13, 2) : std::string_view("00")).append("Z");
    return json::string(iso);
}

// The score and label Alpha Vantage gives for `symbol`, else the item's overall ones.
std::pair<json::value, json::value> sentiment(const json::object& item, std::string_view symbol) {
    if (const auto* tickers = vendorkit::array_at(item, "ticker_sentiment")) {
        for (const auto& value : *tickers) {
            if (!value.is_object()) continue;
            const auto& ticker = value.get_object();
            if (vendorkit::text(ticker, "ticker") != symbol) continue;
            auto score = vendorkit::number_in_text(ticker.if_contains("ticker_sentiment_score"));
            if (!score) break;
            return {*score, vendorkit::text_or_null(ticker, "ticker_sentiment_label")};
        }
    }
    auto score = vendorkit::number_in_text(item.if_contains("overall_sentiment_score"));
    if (!score) return {nullptr, nullptr};
    return {*score, vendorkit::text_or_null(item, "overall_sentiment_label")};
}

std::optional<json::object> news_item(const json::value& value, std::string_view symbol) {
    if (!value.is_object()) return std::nullopt;
    const auto& item = value.get_object();
    auto url = vendorkit::text(item, "url");
    auto title = vendorkit::text(item, "title");
    if (url.empty() || title.empty()) return std::nullopt;
    auto [score, label] = sentiment(item, symbol);
    return json::object{
        {"id", url},
        {"title", title},
        {"publisher", vendorkit::text_or_null(item, "source")},
        {"url", url},
        {"published_at", published_at(vendorkit::text(item, "time_published"))},
        {"summary", vendorkit::text_or_null(item, "summary")},
        {"sentiment", score},
        {"sentiment_label", label},
    };
}

}  // namespace

Answer parse_news_sentiment(std::string_view body, std::string_view symbol, std::size_t max_items) {
    auto root = answer_root(body, "NEWS_SENTIMENT");
    if (auto* error = std::get_if<Answer>(&root)) return std::move(*error);
    const auto* feed = vendorkit::array_at(std::get<json::object>(root), "feed");
    if (!feed) return Answer::error(TICKERD_E_TRANSIENT, "NEWS_SENTIMENT: no 'feed'");
    std::vector<json::object> items;
    for (const auto& value : *feed) {
        if (auto item = news_item(value, symbol)) items.push_back(std::move(*item));
    }
    return Answer::ok(json::object{
        {"symbol", symbol},
        {"items", vendorkit::newest_first(std::move(items), "published_at", max_items)}});
}

}  // namespace alphavantage
