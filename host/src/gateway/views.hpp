// Views of a channel (CONTRACT.md §7): what a subscription asks to receive of a channel's
// messages when not all of them whole — only those whose data passes `where`, only `fields`
// of their data, and, after a snapshot, deltas (RFC 7386 merge patches against the previous
// message's data, a snapshot again every `deltas.snapshot_every`, after a gap, and whenever a
// patch cannot say the change).
//
// One view of one channel is computed once, for every subscriber asking for it: a
// ViewChannel subscribes to the bus like a client, turns each message into the view's (one
// parse, one serialisation) and fans the result out. No per-subscriber JSON work; a plain
// subscription does not come here at all.
#pragma once

#include "bus/bus.hpp"
#include "core/result.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tickerd::gateway {

struct ViewSpec {
    struct Condition {
        std::string field;
        std::string op;  // > >= < <= == !=
        double value = 0;
        bool operator==(const Condition&) const = default;
    };
    bool delta = false;
    std::vector<std::string> fields;  // sorted, unique; empty: every field
    std::vector<Condition> where;     // all must hold
    bool plain() const { return !delta && fields.empty() && where.empty(); }
    // The same for every equal view: "delta|price,volume|price>100".
    std::string key() const;
};

// A view from its text forms: `mode` ("full" or "delta"), `fields` ("price,volume") and
// `where` ("price>100,change_percent<=-2"). A 422 names the bad field, operator or number.
Result<ViewSpec> parse_view(std::optional<std::string_view> mode,
                            std::optional<std::string_view> fields,
                            std::optional<std::string_view> where);

// The RFC 7386 merge patch that turns `before` into `after`, or nullopt when no patch can (a
// value that becomes null: in a merge patch, null removes the key).
std::optional<boost::json::object> merge_patch(const boost::json::object& before,
                                               const boost::json::object& after);
// Applies a merge patch (RFC 7386 §2), as a client does.
void apply_merge_patch(boost::json::object& target, const boost::json::object& patch);

class ViewChannel;

// Every view in use, by channel and view. Thread-safe.
class ViewHub {
  public:
    ViewHub(bus::Bus& bus, std::size_t snapshot_every);
    ~ViewHub();

    // Subscribes `s` to `channel` as `view` shows it: the view's latest message first (a
    // snapshot), then each of its messages.
    void subscribe(const std::string& channel, const ViewSpec& view,
                   const std::shared_ptr<bus::Subscriber>& s);
    void unsubscribe(const std::string& channel, const ViewSpec& view, const bus::Subscriber* s);
    // The view's latest message, whole (a snapshot); null when none has passed yet.
    bus::MessagePtr latest(const std::string& channel, const ViewSpec& view);
    // Messages of the channel's history as the view shows them whole: those that pass, with
    // their fields (what a resume replays).
    static std::vector<bus::MessagePtr> render(const ViewSpec& view,
                                               const std::vector<bus::MessagePtr>& messages);
    std::size_t size();  // views in use

  private:
    std::shared_ptr<ViewChannel> find(const std::string& channel, const ViewSpec& view);

    bus::Bus& bus_;
    const std::size_t snapshot_every_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<ViewChannel>> views_;  // channel|view key
};

}  // namespace tickerd::gateway
