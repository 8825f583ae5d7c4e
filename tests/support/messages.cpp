#include "support/messages.hpp"

#include <boost/json.hpp>

namespace tickerd::testing {

namespace json = boost::json;

std::vector<std::string> stream_message_problems(const json::value& message,
                                                 std::string_view channel) {
    std::vector<std::string> problems;
    if (!message.is_object()) return {"not a JSON object: " + json::serialize(message)};
    auto expect_text = [&](std::string_view pointer, std::string_view expected) {
        auto actual = text_at(message, pointer);
        if (actual != expected) {
            problems.push_back(std::string(pointer) + " is '" + actual + "', expected '" +
                               std::string(expected) + "'");
        }
    };
    // "stream:<type>:<SYMBOL>"
    auto first = channel.find(':');
    auto second = channel.find(':', first + 1);
    std::string_view data_type = channel.substr(first + 1, second - first - 1);
    std::string_view symbol = channel.substr(second + 1);

    expect_text("/channel", channel);
    expect_text("/data_type", data_type);
    expect_text("/symbol", symbol);
    expect_text("/data/symbol", symbol);
    if (text_at(message, "/id").empty()) problems.push_back("id missing or empty");
    if (text_at(message, "/vendor").empty()) problems.push_back("vendor missing or empty");
    if (text_at(message, "/update_type").empty()) problems.push_back("update_type missing");
    if (!parse_iso8601(text_at(message, "/timestamp"))) {
        problems.push_back("timestamp '" + text_at(message, "/timestamp") + "' is not ISO-8601");
    }
    if (seq_of(message) < 1) problems.push_back("metadata.seq missing or < 1");
    // Bars (CONTRACT.md §8) are made by the worker of the market_data they aggregate; alerts
    // by no worker.
    std::string worker = data_type.starts_with("bars_") ? "market_data" : std::string(data_type);
    if (data_type != "alerts" && text_at(message, "/metadata/worker_id") != "worker_" + worker) {
        problems.push_back("metadata.worker_id is '" + text_at(message, "/metadata/worker_id") +
                           "'");
    }
    if (!problems.empty()) problems.push_back("in " + json::serialize(message));
    return problems;
}

std::string join(const std::vector<std::string>& problems) {
    std::string text;
    for (const auto& problem : problems)
        text += (text.empty() ? "" : "; ") + problem;
    return text;
}

std::string detail_of(const HttpResponse& response) {
    boost::system::error_code ec;
    auto body = json::parse(response.body, ec);
    if (ec || !body.is_object()) return {};
    const auto* detail = body.as_object().if_contains("detail");
    return detail && detail->is_string() ? std::string(detail->as_string()) : std::string();
}

std::vector<json::value> items_of(const json::value& body, std::string_view key) {
    if (const auto* array = body.if_array()) return {array->begin(), array->end()};
    const auto* object = body.if_object();
    if (!object) return {};
    if (const auto* under_key = object->if_contains(key)) {
        if (under_key->is_array()) {
            return {under_key->as_array().begin(), under_key->as_array().end()};
        }
        if (under_key->is_object()) return items_of(*under_key, "");
    }
    std::vector<json::value> values;
    for (const auto& entry : *object)
        values.push_back(entry.value());
    return values;
}

std::vector<json::value> items_of(const json::value& body,
                                  std::initializer_list<std::string_view> keys) {
    if (const auto* object = body.if_object()) {
        for (auto key : keys) {
            if (object->contains(key)) return items_of(body, key);
        }
    }
    return items_of(body, "");
}

int64_t seq_of(const json::value& message) {
    const auto* seq = find_path(message, "/metadata/seq");
    if (!seq) return -1;
    if (seq->is_int64()) return seq->as_int64();
    if (seq->is_uint64()) return static_cast<int64_t>(seq->as_uint64());
    return -1;
}

}  // namespace tickerd::testing
