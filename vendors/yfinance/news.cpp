// Yahoo's search answer carries news next to quote matches. An item without an id or a title
// is skipped rather than failing the whole answer; Yahoo gives no summary or sentiment, so
// those are null in the normalised schema.
#include "news.hpp"

#include "json_read.hpp"

#include <boost/json/parse.hpp>

namespace yfinance {

namespace json = boost::json;
using namespace vendorkit;

namespace {

std::optional<json::object> news_item(const json::value& value) {
    if (!value.is_object()) return std::nullopt;
    const auto& item = value.get_object();
    auto id = text(item, "uuid");
    auto title = text(item, "title");
    if (id.empty() || title.empty()) return std::nullopt;
    return json::object{
        {"id", id},
        {"title", title},
        {"publisher", text_or_null(item, "publisher")},
        {"url", text_or_null(item, "link")},
        {"published_at", unix_seconds_to_iso(item.if_contains("providerPublishTime"))},
        {"summary", nullptr},
        {"sentiment", nullptr},
        {"sentiment_label", nullptr},
    };
}

}  // namespace

Answer parse_news(std::string_view body, std::string_view symbol, std::size_t max_items) {
    boost::system::error_code ec;
    json::value root = json::parse(body, ec);
    if (ec || !root.is_object())
        return Answer::error(TICKERD_E_TRANSIENT, "search: malformed JSON");
    const auto* news = array_at(root.get_object(), "news");
    if (!news) return Answer::error(TICKERD_E_TRANSIENT, "search: no 'news' array");

    std::vector<json::object> items;
    for (const auto& value : *news) {
        if (auto item = news_item(value)) items.push_back(std::move(*item));
    }
    return Answer::ok(json::object{
        {"symbol", symbol}, {"items", newest_first(std::move(items), "published_at", max_items)}});
}

}  // namespace yfinance
