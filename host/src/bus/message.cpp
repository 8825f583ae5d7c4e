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

std::shared_ptr<Message> new_message(std::string channel, const std::string& symbol, uint64_t seq,
                                     std::chrono::system_clock::time_point now) {
    auto msg = std::make_shared<Message>();
    msg->channel = std::move(channel);
    msg->symbol = symbol;
    msg->seq = seq;
    msg->id = make_id(now, seq);
    msg->timestamp = now;
    return msg;
}

// The StreamMessage object (CONTRACT.md §3), written once, and its frames.
void write_body(Message& msg, std::string_view type, json::object data, const std::string& vendor,
                json::object metadata) {
    json::object body{
        {"id", msg.id},
        {"channel", msg.channel},
        {"data_type", type},
        {"update_type", "snapshot"},
        {"timestamp", iso8601_utc(msg.timestamp)},
        {"symbol", msg.symbol},
        {"data", std::move(data)},
        {"vendor", vendor},
        {"metadata", std::move(metadata)},
    };
    msg.json = write_json(body);
    frame(msg);
}

}  // namespace

MessagePtr make_message(const Envelope& envelope, uint64_t seq,
                        std::chrono::system_clock::time_point now) {
    auto msg =
        new_message(channel_name(envelope.data_type, envelope.symbol), envelope.symbol, seq, now);
    json::object data = envelope.data;
    if (!data.contains("symbol")) data["symbol"] = envelope.symbol;
    json::object metadata{{"worker_id", worker_id(envelope.data_type)},
                          {"seq", seq},
                          {"retry_count", envelope.retry_count},
                          {"fallback_used", envelope.fallback_used},
                          {"latency_ms", std::round(envelope.latency_ms * 10) / 10}};
    if (!envelope.instance.empty()) metadata["instance"] = envelope.instance;
    // Only made-up data says anything: a real message is as it always was.
    if (envelope.simulated) metadata["simulated"] = true;
    write_body(*msg, to_string(envelope.data_type), std::move(data), envelope.vendor,
               std::move(metadata));
    return msg;
}

MessagePtr make_message(const Publication& publication, uint64_t seq,
                        std::chrono::system_clock::time_point now) {
    const auto& symbol = publication.channel.symbol;
    auto msg = new_message(publication.channel.name(), symbol, seq, now);
    json::object data = publication.data;
    if (!data.contains("symbol")) data["symbol"] = symbol;
    // "seq" stays the last member: the Redis bus splices the number Redis gives there.
    write_body(*msg, publication.channel.type, std::move(data), publication.publisher,
               {{"published", true}, {"seq", seq}});
    return msg;
}

MessagePtr make_message(const Derived& derived, uint64_t seq,
                        std::chrono::system_clock::time_point now) {
    auto msg = new_message(derived.channel.name(), derived.channel.symbol, seq, now);
    json::object metadata{{"worker_id", worker_id(derived.source)}};
    if (!derived.instance.empty()) metadata["instance"] = derived.instance;
    metadata["seq"] = seq;
    write_body(*msg, derived.channel.type, derived.data, "tickerd", std::move(metadata));
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

MessagePtr with_body(const Message& message, const json::object& body) {
    auto copy = std::make_shared<Message>();
    copy->channel = message.channel;
    copy->symbol = message.symbol;
    copy->seq = message.seq;
    copy->id = message.id;
    copy->timestamp = message.timestamp;
    copy->json = write_json(body);
    frame(*copy);
    return copy;
}

MessagePtr unrecovered(const Message& message) {
    auto value = json::parse(message.json);
    auto& metadata = value.as_object()["metadata"];
    if (!metadata.is_object()) metadata = json::object();
    metadata.as_object()["recovered"] = false;
    return with_body(message, value.as_object());
}

std::optional<uint64_t> seq_of_id(std::string_view id) {
    auto dash = id.find('-');
    if (dash == std::string_view::npos || dash == 0) return std::nullopt;
    auto digits = [](std::string_view text) {
        return !text.empty() && text.size() <= 19 &&
               text.find_first_not_of("0123456789") == std::string_view::npos;
    };
    auto ms = id.substr(0, dash), seq = id.substr(dash + 1);
    if (!digits(ms) || !digits(seq)) return std::nullopt;
    return std::strtoull(std::string(seq).c_str(), nullptr, 10);
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

Result<std::string> Bus::publish_numbered(const Publication& publication,
                                          std::chrono::seconds ttl) {
    return sequencer_.publish_next(publication.channel.name(), [&](uint64_t seq) {
        auto message = make_message(publication, seq, std::chrono::system_clock::now());
        publish(message, ttl);
        return message->id;
    });
}

}  // namespace tickerd::bus
