// Building a StreamMessage once, with both wire frames, so no subscriber ever serialises.
#include "bus/bus.hpp"

#include "core/json_writer.hpp"

#include <boost/json.hpp>

namespace tickerd::bus {

namespace json = boost::json;

namespace {

std::string make_id(std::chrono::system_clock::time_point now, uint64_t seq) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    return std::to_string(ms) + "-" + std::to_string(seq);
}

// Fills the frames from msg.json; the JSON text is embedded, never re-serialised.
void frame(Message& msg) {
    msg.sse_frame.reserve(msg.json.size() + msg.id.size() + 16);
    msg.sse_frame.append("id: ").append(msg.id).append("\ndata: ").append(msg.json).append("\n\n");
    msg.ws_frame.reserve(msg.json.size() + msg.channel.size() + 40);
    msg.ws_frame.append(R"({"type":"data","channel":)")
        .append(json::serialize(json::string(msg.channel)))
        .append(R"(,"message":)")
        .append(msg.json)
        .append("}");
}

}  // namespace

MessagePtr make_message(const Envelope& envelope, uint64_t seq,
                        std::chrono::system_clock::time_point now) {
    auto msg = std::make_shared<Message>();
    msg->channel = channel_name(envelope.data_type, envelope.symbol);
    msg->data_type = envelope.data_type;
    msg->symbol = envelope.symbol;
    msg->seq = seq;
    msg->id = make_id(now, seq);
    msg->timestamp = now;

    json::object data = envelope.data;
    if (!data.contains("symbol")) data["symbol"] = envelope.symbol;
    json::object body{
        {"id", msg->id},
        {"channel", msg->channel},
        {"data_type", to_string(envelope.data_type)},
        {"update_type", "snapshot"},
        {"timestamp", iso8601_utc(now)},
        {"symbol", envelope.symbol},
        {"data", std::move(data)},
        {"vendor", envelope.vendor},
        {"metadata",
         {{"worker_id", worker_id(envelope.data_type)},
          {"seq", seq},
          {"retry_count", envelope.retry_count},
          {"fallback_used", envelope.fallback_used},
          {"latency_ms", std::round(envelope.latency_ms * 10) / 10}}},
    };
    auto& metadata = body["metadata"].as_object();
    if (!envelope.instance.empty()) metadata["instance"] = envelope.instance;
    // Only made-up data says anything: a real message is as it always was.
    if (envelope.simulated) metadata["simulated"] = true;
    msg->json = write_json(body);
    frame(*msg);
    return msg;
}

Result<MessagePtr> message_from_json(std::string text) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec) return Error::malformed("not a StreamMessage: " + ec.message());
    if (!value.is_object()) return Error::malformed("not a StreamMessage: not a JSON object");
    const auto& object = value.get_object();
    const auto* channel = object.if_contains("channel");
    const auto* id = object.if_contains("id");
    const auto* metadata = object.if_contains("metadata");
    if (!channel || !channel->is_string() || !id || !id->is_string()) {
        return Error::malformed("not a StreamMessage: no channel or id");
    }
    auto key = parse_channel(channel->get_string());
    if (!key) {
        return Error::malformed("not a StreamMessage: '" + std::string(channel->get_string()) +
                                "' is not a channel");
    }

    auto msg = std::make_shared<Message>();
    msg->channel = key->name();
    msg->data_type = key->data_type;
    msg->symbol = key->symbol;
    msg->id = std::string(id->get_string());
    if (metadata && metadata->is_object()) {
        if (const auto* seq = metadata->get_object().if_contains("seq"); seq && seq->is_number()) {
            msg->seq = seq->to_number<uint64_t>();
        }
    }
    // The id starts with the publish time in Unix milliseconds.
    msg->timestamp = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(std::strtoll(msg->id.c_str(), nullptr, 10)));
    msg->json = std::move(text);
    frame(*msg);
    return MessagePtr(std::move(msg));
}

uint64_t ChannelSequencer::next(const std::string& channel) {
    std::lock_guard lock(mutex_);
    return ++last_[channel];
}

void ChannelSequencer::continue_after(const std::string& channel, uint64_t seq) {
    std::lock_guard lock(mutex_);
    auto& last = last_[channel];
    last = std::max(last, seq);
}

}  // namespace tickerd::bus
