// Internal to the gateway: the boundary between the HTTP side (listener, sessions, REST
// router) and the streaming side (SSE and WebSocket sessions). Not used outside gateway/.
#pragma once

#include "gateway/gateway.hpp"
#include "gateway/timer_wheel.hpp"
#include "gateway/transport.hpp"
#include "gateway/views.hpp"
#include "gateway/writer_wakeups.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/field.hpp>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tickerd::gateway {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

// RFC 3986 percent-decoding of a path segment or query value; nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view text);

// The channels a subscription asks for: the union of explicit channels and
// data_types × symbols, validated and de-duplicated, in a stable order (explicit channels
// first, as given; then each data type with each symbol).
using ChannelSet = std::vector<std::string>;

// An SSE stream without channels is refused (400); a WebSocket may start empty and
// subscribe later.
enum class EmptyChannels { refuse, allow };

// A channel with its symbol upper-cased, when it is well-formed and of a type `types` serves.
std::optional<ChannelKey> normalize_channel(std::string_view text, const ChannelTypes& types);

// `types`: the channel types served (the five polled ones, and the config's published ones).
Result<ChannelSet> resolve_channels(const std::vector<std::string>& channels,
                                    const std::vector<std::string>& data_types,
                                    const std::vector<std::string>& symbols,
                                    std::size_t max_channels,
                                    EmptyChannels empty = EmptyChannels::refuse,
                                    const ChannelTypes& types = {});
// From a query string ("channels=a,b&data_types=..&symbols=..", already split from the path).
// Values are comma-separated and percent-decoded; other parameters are ignored (browsers
// and proxies add cache busters).
Result<ChannelSet> resolve_channels_from_query(std::string_view query, std::size_t max_channels,
                                               EmptyChannels empty = EmptyChannels::refuse,
                                               const ChannelTypes& types = {});
// From a POST body {"channels":[..],"data_types":[..],"symbols":[..]}. Every field is an
// optional array of strings; any other field is a 422 naming it.
Result<ChannelSet> resolve_channels_from_body(const boost::json::value& body,
                                              std::size_t max_channels,
                                              EmptyChannels empty = EmptyChannels::refuse,
                                              const ChannelTypes& types = {});

// Where a resuming client left each channel: the seq of the last message it has of it.
using ResumePositions = std::unordered_map<std::string, uint64_t>;

// An SSE stream's resume point, from its Last-Event-ID (or `?last_event_id=`): for a
// one-channel stream a message id ("<unix ms>-<seq>", the ids it sends); for several channels
// one seq per channel joined by '.' in the stream's channel order (the ids such a stream
// sends: "12.0.7"; 0 = nothing of that channel yet). A 400 names what does not fit.
Result<ResumePositions> parse_last_event_id(std::string_view id, const ChannelSet& channels);

// The three lists of a subscription request, read but not yet validated.
struct ChannelRequest {
    std::vector<std::string> channels;
    std::vector<std::string> data_types;
    std::vector<std::string> symbols;
};
// Reads the lists from a JSON object. `other_keys` are keys the caller handles itself (the
// WebSocket actions' "action" and "id"); any key not known is a 422 naming it.
Result<ChannelRequest> read_channel_request(
    const boost::json::object& object, std::initializer_list<std::string_view> other_keys = {});

// Something that can be closed when the server stops.
class Closable {
  public:
    virtual ~Closable() = default;
    // SSE: end the body; WS: close 1001 "going away"; an idle HTTP connection: close it.
    virtual void close_for_shutdown() = 0;
};

// What Server::stop() closes: the open streams, the HTTP connections. Held weakly: each
// one's lifetime belongs to its own async operations.
class ClosableRegistry {
  public:
    void add(const std::shared_ptr<Closable>& closable);
    void close_all();
    std::size_t open_count();

  private:
    std::mutex mutex_;
    std::vector<std::weak_ptr<Closable>> entries_;
    std::size_t prune_at_ = 0;  // entries_'s size at which add() drops the expired ones
};

struct StreamContext {
    Services& services;
    const Limits& limits;
    ClosableRegistry& registry;
    access::Principal principal;                                          // who opened the stream
    std::vector<std::pair<boost::beast::http::field, std::string>> cors;  // response headers
    std::shared_ptr<void> slot;  // the connection's place in the count of open connections
    // Where bus calls that may wait on Redis run (a resume's history); none: on the strand.
    boost::asio::any_io_executor bus_threads{};
    ResumePositions resume_from{};     // SSE: where the client left off (Last-Event-ID)
    std::shared_ptr<ViewHub> views{};  // filtered and delta views (none: plain streams only)
    ViewSpec view{};                   // SSE: how the stream shows its channels
    // Every stream's keepalive and deadline clock (one per gateway).
    std::shared_ptr<TimerWheel> wheel{};
    // Starts the writers a publish gave work, a list per I/O thread (one per gateway).
    std::shared_ptr<WriterWakeups> wakeups{};
};

// 403 naming the first channel `principal` may not read.
Result<void> authorize_channels(const access::Principal& principal, const ChannelSet& channels);

// Take over a connection whose request asked for an event stream / a WebSocket upgrade.
// The HTTP side has already validated the route; these own the connection from now on.
// An accepted WebSocket opening handshake (RFC 6455 §4.2.2): the 101, and whether
// permessage-deflate (RFC 7692) was agreed, and how.
struct WebSocketAccept {
    std::string greeting;
    bool deflate = false;
    bool client_no_context_takeover = false;  // the client compresses each message alone
};
// Or why not: 400, or 426 for another protocol version.
Result<WebSocketAccept> accept_websocket(const Request& request);
// `gzip`: the client accepts a gzip stream (Accept-Encoding).
void start_sse(std::unique_ptr<Transport> transport, ChannelSet channels, StreamContext context,
               bool gzip = false);
// `query` holds the channels to start with.
void start_websocket(std::unique_ptr<Transport> transport, std::string_view query,
                     WebSocketAccept accepted, StreamContext context);

}  // namespace tickerd::gateway
