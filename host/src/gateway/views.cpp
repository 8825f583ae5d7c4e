#include "gateway/views.hpp"

#include "bus/subscriber_table.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tickerd::gateway {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxFields = 100;
constexpr std::size_t kMaxConditions = 20;
constexpr std::string_view kOperators[] = {">=", "<=", "==", "!=", ">", "<"};

std::vector<std::string_view> split_list(std::string_view text) {
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
        auto end = text.find(',', start);
        auto part = text.substr(start, end - start);
        while (!part.empty() && part.front() == ' ')
            part.remove_prefix(1);
        while (!part.empty() && part.back() == ' ')
            part.remove_suffix(1);
        parts.push_back(part);
        if (end == std::string_view::npos) return parts;
        start = end + 1;
    }
}

bool is_field_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

Result<std::vector<std::string>> parse_fields(std::string_view text) {
    std::vector<std::string> fields;
    for (auto name : split_list(text)) {
        if (!is_field_name(name)) {
            return Error::invalid(
                "fields", "'" + std::string(name) + "' is not a field name (letters, digits, _)");
        }
        fields.emplace_back(name);
    }
    std::sort(fields.begin(), fields.end());
    fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
    if (fields.size() > kMaxFields) {
        return Error::invalid("fields", "at most " + std::to_string(kMaxFields) + " fields");
    }
    return fields;
}

Result<ViewSpec::Condition> parse_condition(std::string_view text) {
    auto at = text.find_first_of("<>=!");
    if (at == std::string_view::npos) {
        return Error::invalid(
            "where", "'" + std::string(text) + "' has no operator (one of > >= < <= == !=)");
    }
    ViewSpec::Condition condition;
    condition.field = std::string(text.substr(0, at));
    while (!condition.field.empty() && condition.field.back() == ' ')
        condition.field.pop_back();
    if (!is_field_name(condition.field)) {
        return Error::invalid("where", "'" + condition.field + "' in '" + std::string(text) +
                                           "' is not a field name");
    }
    auto rest = text.substr(at);
    auto op = std::find_if(std::begin(kOperators), std::end(kOperators),
                           [&](std::string_view candidate) { return rest.starts_with(candidate); });
    auto end_of_op = rest.find_first_not_of("<>=!");
    auto written = rest.substr(0, end_of_op);
    if (op == std::end(kOperators) || written != *op) {
        return Error::invalid("where", "'" + std::string(written) + "' in '" + std::string(text) +
                                           "' is not an operator (one of > >= < <= == !=)");
    }
    condition.op = std::string(*op);
    auto number = rest.substr(op->size());
    while (!number.empty() && number.front() == ' ')
        number.remove_prefix(1);
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), condition.value);
    if (number.empty() || ec != std::errc() || end != number.data() + number.size() ||
        !std::isfinite(condition.value)) {
        return Error::invalid("where", "'" + std::string(number) + "' in '" + std::string(text) +
                                           "' is not a number");
    }
    return condition;
}

bool holds(const ViewSpec::Condition& condition, const json::object& data) {
    auto x = number_at(data, condition.field);  // absent or not a number: not met
    return x && compare(*x, condition.op, condition.value);
}

bool passes(const ViewSpec& view, const json::object& data) {
    return std::all_of(view.where.begin(), view.where.end(),
                       [&](const auto& condition) { return holds(condition, data); });
}

// The data with only the view's fields (and the symbol, always).
json::object project(const ViewSpec& view, const json::object& data) {
    if (view.fields.empty()) return data;
    json::object kept;
    if (const auto* symbol = data.if_contains("symbol")) kept["symbol"] = *symbol;
    for (const auto& field : view.fields) {
        if (const auto* value = data.if_contains(field)) kept[field] = *value;
    }
    return kept;
}

bool contains_null(const json::value& value) {
    if (value.is_null()) return true;
    if (!value.is_object()) return false;
    const auto& object = value.get_object();
    return std::any_of(object.begin(), object.end(),
                       [](const auto& member) { return contains_null(member.value()); });
}

}  // namespace

// ---- The view's text forms ----------------------------------------------------------

std::string ViewSpec::key() const {
    std::string key = delta ? "delta|" : "full|";
    for (const auto& field : fields)
        key += field + ",";
    key += "|";
    for (const auto& condition : where)
        key += condition.field + condition.op + json::serialize(json::value(condition.value)) + ",";
    return key;
}

Result<ViewSpec> parse_view(std::optional<std::string_view> mode,
                            std::optional<std::string_view> fields,
                            std::optional<std::string_view> where) {
    ViewSpec view;
    if (mode && *mode != "full") {
        if (*mode != "delta") {
            return Error::invalid("mode", "'" + std::string(*mode) + "' is not one of full, delta");
        }
        view.delta = true;
    }
    if (fields) {
        auto parsed = parse_fields(*fields);
        if (!parsed) return parsed.error();
        view.fields = std::move(*parsed);
    }
    if (where) {
        auto conditions = split_list(*where);
        if (conditions.size() > kMaxConditions) {
            return Error::invalid("where",
                                  "at most " + std::to_string(kMaxConditions) + " conditions");
        }
        for (auto text : conditions) {
            auto condition = parse_condition(text);
            if (!condition) return condition.error();
            view.where.push_back(std::move(*condition));
        }
        std::sort(view.where.begin(), view.where.end(), [](const auto& a, const auto& b) {
            return std::tie(a.field, a.op, a.value) < std::tie(b.field, b.op, b.value);
        });
    }
    return view;
}

// ---- Merge patches (RFC 7386) --------------------------------------------------------

std::optional<json::object> merge_patch(const json::object& before, const json::object& after) {
    json::object patch;
    for (const auto& [key, value] : after) {
        const auto* old = before.if_contains(key);
        if (old && *old == value) continue;
        if (value.is_null()) return std::nullopt;  // null would remove the key, not set it
        if (old && old->is_object() && value.is_object()) {
            auto nested = merge_patch(old->get_object(), value.get_object());
            if (!nested) return std::nullopt;
            patch[key] = std::move(*nested);
            continue;
        }
        // An object set whole is applied onto {} by the client: its nulls would vanish.
        if (value.is_object() && contains_null(value)) return std::nullopt;
        patch[key] = value;
    }
    for (const auto& [key, value] : before) {
        if (!after.contains(key)) patch[key] = nullptr;  // removed
    }
    return patch;
}

void apply_merge_patch(json::object& target, const json::object& patch) {
    for (const auto& [key, value] : patch) {
        if (value.is_null()) {
            target.erase(key);
        } else if (value.is_object()) {
            auto& slot = target[key];
            if (!slot.is_object()) slot = json::object();
            apply_merge_patch(slot.get_object(), value.get_object());
        } else {
            target[key] = value;
        }
    }
}

// ---- One view of one channel ---------------------------------------------------------

class ViewChannel final : public bus::Subscriber {
  public:
    ViewChannel(ViewSpec view, std::size_t snapshot_every)
        : view_(std::move(view)), snapshot_every_(std::max<std::size_t>(snapshot_every, 1)) {}

    // From the bus, one message of the channel at a time, in order. Its view is made once
    // and handed to every subscriber under the lock, so a subscriber joining meanwhile gets
    // exactly the snapshot the next delta follows.
    void deliver(const bus::MessagePtr& source) override {
        std::lock_guard lock(mutex_);
        auto out = next(source);
        if (!out) return;
        bool gone = false;
        for (const auto& entry : subscribers_.entries()) {
            auto subscriber = entry.subscriber.lock();
            if (subscriber) subscriber->deliver(out);
            gone = gone || !subscriber;
        }
        if (gone) subscribers_.forget_expired();
    }

    void add(const std::shared_ptr<bus::Subscriber>& subscriber) {
        std::lock_guard lock(mutex_);
        subscribers_.add(subscriber);
        if (auto snapshot = snapshot_locked()) subscriber->deliver(snapshot);
    }

    // Whether none is left.
    bool remove(const bus::Subscriber* subscriber) {
        std::lock_guard lock(mutex_);
        subscribers_.remove(subscriber);
        return subscribers_.empty();
    }

    bool empty() {
        std::lock_guard lock(mutex_);
        return subscribers_.empty();
    }

    bus::MessagePtr latest() {
        std::lock_guard lock(mutex_);
        return snapshot_locked();
    }

  private:
    // The view of `source`: nothing when it does not pass, else a snapshot or a delta.
    bus::MessagePtr next(const bus::MessagePtr& source) {
        if (source->seq != 0 && source->seq <= last_seq_) return nullptr;  // seen (a race)
        bool gap = source->seq == 0 || (last_seq_ != 0 && source->seq != last_seq_ + 1);
        last_seq_ = source->seq;
        boost::system::error_code ec;
        auto parsed = json::parse(source->json, ec);
        if (ec || !parsed.is_object()) return nullptr;
        auto& body = parsed.get_object();
        auto* data = body.if_contains("data");
        json::object projected =
            data && data->is_object() ? project(view_, data->get_object()) : json::object();
        if (data && data->is_object() && !passes(view_, data->get_object())) return nullptr;
        bool snapshot =
            !view_.delta || !last_data_ || gap || since_snapshot_ + 1 >= snapshot_every_;
        std::optional<json::object> patch;
        if (!snapshot) {
            patch = merge_patch(*last_data_, projected);
            snapshot = !patch;
        }
        body["data"] = snapshot ? projected : std::move(*patch);
        body["update_type"] = snapshot ? "snapshot" : "delta";
        auto out = bus::with_body(*source, body);
        last_data_ = std::move(projected);
        last_source_ = source;
        last_snapshot_ = snapshot ? out : nullptr;
        since_snapshot_ = snapshot ? 0 : since_snapshot_ + 1;
        return out;
    }

    // The last message that passed, whole: made once when a delta was sent for it.
    bus::MessagePtr snapshot_locked() {
        if (last_snapshot_ || !last_source_) return last_snapshot_;
        auto parsed = json::parse(last_source_->json);
        auto& body = parsed.as_object();
        body["data"] = *last_data_;
        body["update_type"] = "snapshot";
        last_snapshot_ = bus::with_body(*last_source_, body);
        return last_snapshot_;
    }

    const ViewSpec view_;
    const std::size_t snapshot_every_;
    std::mutex mutex_;
    bus::SubscriberTable subscribers_;
    uint64_t last_seq_ = 0;                  // of the last message from the bus
    bus::MessagePtr last_source_;            // the last one that passed
    std::optional<json::object> last_data_;  // its data as the view shows it
    bus::MessagePtr last_snapshot_;          // its snapshot, once made
    std::size_t since_snapshot_ = 0;         // deltas sent since the last snapshot
};

// ---- The hub -------------------------------------------------------------------------

ViewHub::ViewHub(bus::Bus& bus, std::size_t snapshot_every)
    : bus_(bus), snapshot_every_(snapshot_every) {}

// The bus is not told: it may already be gone at the very end of a shutdown (the gateway's
// state can outlive it by a few handlers), and it holds its subscribers weakly anyway.
ViewHub::~ViewHub() = default;

void ViewHub::subscribe(const std::string& channel, const ViewSpec& view,
                        const std::shared_ptr<bus::Subscriber>& s) {
    std::shared_ptr<ViewChannel> found;
    {
        std::lock_guard lock(mutex_);
        auto& slot = views_[channel + "\n" + view.key()];
        if (!slot) {
            slot = std::make_shared<ViewChannel>(view, snapshot_every_);
            bus_.subscribe(channel, slot);  // its latest comes first: the view's start
        }
        found = slot;
    }
    found->add(s);
}

void ViewHub::unsubscribe(const std::string& channel, const ViewSpec& view,
                          const bus::Subscriber* s) {
    auto key = channel + "\n" + view.key();
    std::lock_guard lock(mutex_);
    auto it = views_.find(key);
    if (it == views_.end() || !it->second->remove(s)) return;
    bus_.unsubscribe(channel, it->second.get());
    views_.erase(it);
}

bus::MessagePtr ViewHub::latest(const std::string& channel, const ViewSpec& view) {
    auto found = find(channel, view);
    return found ? found->latest() : nullptr;
}

std::shared_ptr<ViewChannel> ViewHub::find(const std::string& channel, const ViewSpec& view) {
    std::lock_guard lock(mutex_);
    auto it = views_.find(channel + "\n" + view.key());
    return it == views_.end() ? nullptr : it->second;
}

std::vector<bus::MessagePtr> ViewHub::render(const ViewSpec& view,
                                             const std::vector<bus::MessagePtr>& messages) {
    if (view.fields.empty() && view.where.empty()) return messages;  // already whole
    std::vector<bus::MessagePtr> shown;
    for (const auto& message : messages) {
        boost::system::error_code ec;
        auto parsed = json::parse(message->json, ec);
        if (ec || !parsed.is_object()) continue;
        auto& body = parsed.get_object();
        auto* data = body.if_contains("data");
        if (!data || !data->is_object() || !passes(view, data->get_object())) continue;
        body["data"] = project(view, data->get_object());
        shown.push_back(bus::with_body(*message, body));
    }
    return shown;
}

std::size_t ViewHub::size() {
    std::lock_guard lock(mutex_);
    return views_.size();
}

}  // namespace tickerd::gateway
