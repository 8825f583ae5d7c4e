// hiredis's async context asks its event loop for four things — watch the socket for
// reading, stop that, watch it for writing, stop that — and to forget the socket when it
// closes it. Here those are persistent waits on an Asio descriptor that re-arm themselves
// while wanted. The descriptor never owns the fd: hiredis opened it and hiredis closes it.
#include "bus/redis_link.hpp"

#include "bus/redis_cluster.hpp"
#include "core/backoff.hpp"
#include "core/log.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <hiredis/async.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <mutex>
#include <random>
#include <span>
#include <unordered_map>

namespace tickerd::bus {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds kFirstRetry{100};
// Clients must get messages again within 5 s of Redis returning; 2 s keeps well inside it.
constexpr std::chrono::milliseconds kMaxRetry{2000};
constexpr std::chrono::milliseconds kConnectTimeout{2000};
// A reading link on the primary (no healthy replica was found) looks for one again after
// this, and twice as long each time none is found, up to the cap.
constexpr std::chrono::seconds kFirstReplicaLookup{5};
constexpr std::chrono::seconds kMaxReplicaLookup{60};
// The longest command sent (EVAL script 1 key instance ms) has six.
constexpr std::size_t kMaxArguments = 8;

}  // namespace

std::string HostPort::describe() const {
    return host + ":" + std::to_string(port);
}

std::string RedisAddress::describe() const {
    if (!sentinels.empty()) {
        std::string text = "master '" + master_name + "' of sentinels ";
        for (const auto& sentinel : sentinels)
            text += (&sentinel == &sentinels.front() ? "" : ",") + sentinel.describe();
        return text;
    }
    if (cluster()) {
        std::string text = "cluster ";
        for (const auto& node : cluster_nodes)
            text += (&node == &cluster_nodes.front() ? "" : ",") + node.describe();
        return text;
    }
    if (!socket.empty()) return "unix:" + socket;
    return HostPort{host, port}.describe();
}

std::string ReadFrom::describe() const {
    switch (node) {
        case Node::replica_at:
            return replica.describe();
        case Node::any_replica:
            return "replica";
        case Node::primary:
            break;
    }
    return "primary";
}

namespace {

// The string fields of a flat field/value array (SENTINEL REPLICAS gives one per replica).
std::unordered_map<std::string_view, std::string_view> fields_of(const redisReply* reply) {
    std::unordered_map<std::string_view, std::string_view> fields;
    for (std::size_t k = 0; k + 1 < reply->elements; k += 2) {
        const auto* name = reply->element[k];
        const auto* value = reply->element[k + 1];
        if (name->type == REDIS_REPLY_STRING && value->type == REDIS_REPLY_STRING)
            fields.emplace(std::string_view(name->str, name->len),
                           std::string_view(value->str, value->len));
    }
    return fields;
}

// SENTINEL REPLICAS: the healthy ones are neither down nor disconnected, and their link to
// the master is up.
std::vector<HostPort> healthy_replicas_of_sentinel(const redisReply* reply) {
    std::vector<HostPort> replicas;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) return replicas;
    for (std::size_t i = 0; i < reply->elements; ++i) {
        if (reply->element[i]->type != REDIS_REPLY_ARRAY) continue;
        auto fields = fields_of(reply->element[i]);
        auto flags = fields["flags"];
        bool down = flags.find("s_down") != std::string_view::npos ||
                    flags.find("o_down") != std::string_view::npos ||
                    flags.find("disconnected") != std::string_view::npos;
        if (down || fields["master-link-status"] != "ok") continue;
        replicas.push_back(
            {std::string(fields["ip"]), std::atoi(std::string(fields["port"]).c_str())});
    }
    return replicas;
}

// ROLE on the primary: ["master", offset, [[ip, port, offset], …]], the replicas connected
// to it now.
std::vector<HostPort> replicas_of_primary(const redisReply* reply) {
    std::vector<HostPort> replicas;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[2]->type != REDIS_REPLY_ARRAY)
        return replicas;
    const auto* listed = reply->element[2];
    for (std::size_t i = 0; i < listed->elements; ++i) {
        const auto* replica = listed->element[i];
        if (replica->type != REDIS_REPLY_ARRAY || replica->elements < 2 ||
            replica->element[0]->type != REDIS_REPLY_STRING ||
            replica->element[1]->type != REDIS_REPLY_STRING)
            continue;
        replicas.push_back({replica->element[0]->str, std::atoi(replica->element[1]->str)});
    }
    return replicas;
}

// ROLE says "master" — or, for `replica`, "slave" with its link to the master connected (a
// replica that lost its master serves an old copy).
bool role_fits(const redisReply* reply, bool replica) {
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return false;
    std::string_view role = reply->element[0]->str;
    if (!replica) return role == "master";
    return role == "slave" && reply->elements >= 4 &&
           reply->element[3]->type == REDIS_REPLY_STRING &&
           std::string_view(reply->element[3]->str) == "connected";
}

}  // namespace

struct RedisLink::Impl : std::enable_shared_from_this<Impl> {
    // The socket of one connection as the event hooks see it.
    struct Watch {
        Impl* owner;  // outlives the watch's use: every handler checks `closed` first
        asio::posix::stream_descriptor descriptor;
        // What hiredis wants watched, each way, and whether a wait is armed for it.
        struct Interest {
            bool wanted = false;
            bool waiting = false;
        };
        Interest read, write;
        bool closed = false;
        Watch(Impl* impl, int fd) : owner(impl), descriptor(impl->strand, fd) {}
    };

    // With Sentinel every connection to the primary starts at a sentinel, which names the
    // master; the master is then checked with ROLE (a failover may have turned it into a
    // replica). A reading link starts at its replica, or first asks the sentinels (without
    // them, the primary) which replicas there are; a replica is checked with ROLE too. In a
    // cluster every connection starts at a node that is asked for the shards (CLUSTER
    // SHARDS); the primary serving the link's slot is then checked with ROLE.
    enum class Stage { ask_sentinel, ask_cluster, use_master, list_replicas, use_replica };

    Impl(asio::io_context& io, RedisAddress a, std::string n, Events e, ReadFrom r)
        : strand(asio::make_strand(io)),
          timer(strand),
          lookup_timer(strand),
          address(std::move(a)),
          reads(std::move(r)),
          name(std::move(n)),
          events(std::move(e)),
          stage(first_stage()),
          server{stage == Stage::use_replica             ? reads.replica
                 : uses_sentinels() || address.cluster() ? HostPort{}
                                                         : HostPort{address.host, address.port}},
          seeds(address.cluster_nodes),
          followed_slot(address.cluster_slot) {}

    ~Impl() {
        if (context) redisAsyncFree(context);  // stop() did not run: free what is left
    }

    asio::strand<asio::io_context::executor_type> strand;
    asio::steady_timer timer;
    asio::steady_timer lookup_timer;  // a reading link's next look for a replica
    std::chrono::seconds lookup_delay = kFirstReplicaLookup;
    RedisAddress address;
    ReadFrom reads;
    std::string name;
    Events events;
    ReplyHandler on_message;
    std::mutex refusal_mutex;
    RedisLink::Refusals refusals;
    std::mutex failure_mutex;
    std::string failure;
    redisAsyncContext* context = nullptr;
    std::shared_ptr<Watch> watch;    // of the current context
    std::atomic<bool> ready{false};  // read by other threads for health reports
    bool stopping = false;
    std::atomic<bool> stopped{false};
    Backoff backoff{kFirstRetry, kMaxRetry};
    std::mt19937 rng{std::random_device{}()};  // picks a replica
    Stage stage;
    std::size_t next_sentinel = 0;
    mutable std::mutex server_mutex;  // read by other threads for health reports
    HostPort server;                  // the Redis to use: host/port, the master named, or a replica
    HostPort last_failed;  // a reading link's replica that failed last: not picked again next
    // In a cluster: the nodes asked for the shards in turn, the configured ones first, then
    // every node the last answer named (so the link finds the cluster while its seeds are down).
    std::vector<HostPort> seeds;
    std::size_t next_seed = 0;
    uint16_t followed_slot;  // one its primary serves (cluster::follow)
    // Once up, a link with a message handler reads every reply itself and hands it over
    // (subscriptions): hiredis 0.14 knows SUBSCRIBE but not the sharded SSUBSCRIBE, whose
    // messages it would take for replies nobody asked for.
    bool raw = false;

    bool uses_sentinels() const { return !address.sentinels.empty(); }
    bool reads_replicas() const { return reads.node != ReadFrom::Node::primary; }
    HostPort current_server() const {
        std::lock_guard lock(server_mutex);
        return server;
    }
    void set_server(HostPort next) {
        std::lock_guard lock(server_mutex);
        server = std::move(next);
    }
    // A stage that starts at a sentinel.
    bool at_sentinel() const {
        return stage == Stage::ask_sentinel || (stage == Stage::list_replicas && uses_sentinels());
    }

    Stage first_stage() const {
        if (address.cluster()) return Stage::ask_cluster;  // reads from primaries only
        switch (reads.node) {
            case ReadFrom::Node::replica_at:
                return Stage::use_replica;
            case ReadFrom::Node::any_replica:
                return Stage::list_replicas;
            case ReadFrom::Node::primary:
                break;
        }
        return uses_sentinels() ? Stage::ask_sentinel : Stage::use_master;
    }

    // ---- event hooks (called by hiredis on the strand) ----
    static Watch& of(void* privdata) { return *static_cast<Watch*>(privdata); }

    // hiredis reads and calls the handlers of what was asked; in raw mode every reply goes to
    // the message handler instead.
    static void handle_read(redisAsyncContext* c) {
        auto* self = static_cast<Impl*>(c->data);
        if (!self->raw) {
            redisAsyncHandleRead(c);
            return;
        }
        if (redisBufferRead(&c->c) != REDIS_OK) {
            self->drop(c->c.errstr[0] ? c->c.errstr : "lost");
            return;
        }
        void* reply = nullptr;
        while (self->context == c && redisGetReply(&c->c, &reply) == REDIS_OK && reply) {
            std::unique_ptr<redisReply, decltype(&freeReplyObject)> owned(
                static_cast<redisReply*>(reply), freeReplyObject);
            if (self->on_message) self->on_message(owned.get());
        }
        if (self->context == c && c->c.err) self->drop(c->c.errstr);
    }

    // Waits for the socket to be ready one way while hiredis wants that way watched, and
    // lets hiredis handle it each time it is.
    template <Watch::Interest Watch::*kWay, asio::posix::descriptor_base::wait_type kWait,
              void (*kHandle)(redisAsyncContext*)>
    static void arm(const std::shared_ptr<Watch>& w) {
        auto& way = (*w).*kWay;
        if (w->closed || way.waiting || !way.wanted) return;
        way.waiting = true;
        w->descriptor.async_wait(kWait, [w](const boost::system::error_code& ec) {
            auto& way = (*w).*kWay;
            way.waiting = false;
            if (ec || w->closed || !way.wanted) return;
            kHandle(w->owner->context);
            arm<kWay, kWait, kHandle>(w);
        });
    }
    static constexpr auto arm_read =
        &arm<&Watch::read, asio::posix::descriptor_base::wait_read, &handle_read>;
    static constexpr auto arm_write =
        &arm<&Watch::write, asio::posix::descriptor_base::wait_write, &redisAsyncHandleWrite>;

    static std::shared_ptr<Watch> current(void* privdata) {
        auto& impl = *of(privdata).owner;
        return impl.watch;
    }
    static void add_read(void* p) {
        auto w = current(p);
        w->read.wanted = true;
        arm_read(w);
    }
    static void del_read(void* p) { of(p).read.wanted = false; }
    static void add_write(void* p) {
        auto w = current(p);
        w->write.wanted = true;
        arm_write(w);
    }
    static void del_write(void* p) { of(p).write.wanted = false; }
    static void cleanup(void* p) {
        auto& w = of(p);
        w.closed = true;
        w.read.wanted = w.write.wanted = false;
        boost::system::error_code ignored;
        w.descriptor.cancel(ignored);
        w.descriptor.release();  // hiredis closes the fd itself
    }

    // ---- connection life ----
    void connect() {
        if (stopping) return;
        raw = false;
        if (stage == Stage::ask_cluster) {
            const auto& seed = seeds[next_seed % seeds.size()];
            context = redisAsyncConnect(seed.host.c_str(), seed.port);
        } else if (at_sentinel()) {
            const auto& sentinel = address.sentinels[next_sentinel % address.sentinels.size()];
            context = redisAsyncConnect(sentinel.host.c_str(), sentinel.port);
        } else if (!address.socket.empty() && stage != Stage::use_replica) {
            context = redisAsyncConnectUnix(address.socket.c_str());  // the primary's
        } else if (stage == Stage::list_replicas) {
            context = redisAsyncConnect(address.host.c_str(), address.port);  // the primary
        } else {
            auto target = current_server();
            context = redisAsyncConnect(target.host.c_str(), target.port);
        }
        if (!context || context->err) {
            std::string why = context ? context->errstr : "cannot allocate a connection";
            if (context) redisAsyncFree(context);
            context = nullptr;
            retry(why);
            return;
        }
        context->data = this;
        watch = std::make_shared<Watch>(this, context->c.fd);
        context->ev.data = watch.get();
        context->ev.addRead = &add_read;
        context->ev.delRead = &del_read;
        context->ev.addWrite = &add_write;
        context->ev.delWrite = &del_write;
        context->ev.cleanup = &cleanup;
        redisAsyncSetConnectCallback(context, &on_connect);
        redisAsyncSetDisconnectCallback(context, &on_disconnect);
        // A connect that never completes (a black-holed address) is cut here.
        timer.expires_after(kConnectTimeout);
        timer.async_wait([self = shared_from_this(), attempt = context](auto ec) {
            if (!ec && self->context == attempt && !self->ready) self->drop("connect timed out");
        });
    }

    static void on_connect(const redisAsyncContext* c, int status) {
        auto* self = static_cast<Impl*>(c->data);
        if (status != REDIS_OK) {
            // hiredis frees the context after this callback.
            self->context = nullptr;
            self->retry(c->errstr[0] ? c->errstr : "connect failed");
            return;
        }
        self->timer.cancel();
        self->handshake();
    }

    static void on_disconnect(const redisAsyncContext* c, int status) {
        auto* self = static_cast<Impl*>(c->data);
        self->context = nullptr;  // hiredis frees it after this callback
        bool was_ready = self->ready.exchange(false);
        std::string why = status == REDIS_OK ? "closed" : (c->errstr[0] ? c->errstr : "lost");
        if (was_ready && self->events.disconnected) self->events.disconnected(why);
        self->retry(why);
    }

    // AUTH with `password` when there is one, then `next`; a refusal drops the connection.
    void authenticate(const std::string& password, std::string what, std::function<void()> next) {
        if (password.empty()) {
            next();
            return;
        }
        send({"AUTH", password}, [self = shared_from_this(), what, next](redisReply* reply) {
            if (!reply || reply->type == REDIS_REPLY_ERROR) {
                self->drop(reply ? what + ": " + reply->str : "lost during " + what);
                return;
            }
            next();
        });
    }

    // Asks the sentinel connected to for the master's address, then connects to that.
    void ask_for_master() {
        authenticate(address.sentinel_password, "sentinel AUTH", [self = shared_from_this()] {
            self->send({"SENTINEL", "get-master-addr-by-name", self->address.master_name},
                       [self](redisReply* reply) { self->on_master_address(reply); });
        });
    }

    // Asks the cluster node connected to for the shards, then connects to the primary
    // serving the link's slot.
    void ask_for_slot_owner() {
        authenticate(address.password, "AUTH", [self = shared_from_this()] {
            self->send({"CLUSTER", "SHARDS"},
                       [self](redisReply* reply) { self->on_shards(reply); });
        });
    }

    void on_shards(redisReply* reply) {
        auto asked = seeds[next_seed % seeds.size()].describe();
        if (!reply || reply->type == REDIS_REPLY_ERROR) {
            drop("CLUSTER SHARDS at " + asked +
                 (reply ? std::string(": ") + reply->str : ": no answer"));
            return;
        }
        auto shards = cluster::parse_shards(reply);
        if (!shards) {
            drop(shards.error().detail + " (from " + asked + ")");
            return;
        }
        learn_nodes(*shards);
        auto server = current_server();
        auto next = cluster::follow(cluster::SlotMap(*shards),
                                    server.host.empty() ? std::nullopt : std::optional(server),
                                    followed_slot);
        if (!next) {
            drop(asked + " names no primary for slot " + std::to_string(followed_slot));
            return;
        }
        followed_slot = next->slot;
        set_server(std::move(next->primary));
        stage = Stage::use_master;
        close_quietly();
        // Not from inside hiredis's callback: the connection is freed after it.
        asio::post(strand, [self = shared_from_this()] { self->connect(); });
    }

    void learn_nodes(const std::vector<cluster::Shard>& shards) {
        auto learn = [this](const HostPort& node) {
            if (std::find(seeds.begin(), seeds.end(), node) == seeds.end()) seeds.push_back(node);
        };
        for (const auto& shard : shards) {
            if (shard.primary) learn(*shard.primary);
            for (const auto& replica : shard.replicas)
                learn(replica);
        }
    }

    // Asks the sentinel (or the primary) connected to for the replicas, then connects to one.
    void list_replicas() {
        auto self = shared_from_this();
        if (uses_sentinels()) {
            authenticate(address.sentinel_password, "sentinel AUTH", [self] {
                self->send({"SENTINEL", "REPLICAS", self->address.master_name},
                           [self](redisReply* reply) {
                               if (reply) self->on_replicas(healthy_replicas_of_sentinel(reply));
                           });
            });
            return;
        }
        authenticate(address.password, "AUTH", [self] {
            self->send({"ROLE"}, [self](redisReply* reply) {
                if (reply) self->on_replicas(replicas_of_primary(reply));
            });
        });
    }

    // Picks one of `replicas` at random (edges spread over them), not the one that failed
    // last; with none, the primary is the last resort.
    void on_replicas(std::vector<HostPort> replicas) {
        std::erase(replicas, last_failed);
        if (!replicas.empty() || !uses_sentinels()) close_quietly();
        if (replicas.empty()) {
            BOOST_LOG_TRIVIAL(warning)
                << "redis " << name << ": no healthy replica; reading from the primary";
            if (uses_sentinels()) {
                ask_for_master();  // on this sentinel connection
                return;
            }
            set_server({address.host, address.port});
            stage = Stage::use_master;
        } else {
            std::uniform_int_distribution<std::size_t> any(0, replicas.size() - 1);
            set_server(replicas[any(rng)]);
            stage = Stage::use_replica;
        }
        // Not from inside hiredis's callback: the connection is freed after it.
        asio::post(strand, [self = shared_from_this()] { self->connect(); });
    }

    void on_master_address(redisReply* reply) {
        auto sentinel = address.sentinels[next_sentinel % address.sentinels.size()].describe();
        if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
            reply->element[0]->type != REDIS_REPLY_STRING ||
            reply->element[1]->type != REDIS_REPLY_STRING) {
            drop("sentinel " + sentinel + " does not name a master '" + address.master_name + "'" +
                 (reply && reply->type == REDIS_REPLY_ERROR ? std::string(": ") + reply->str : ""));
            return;
        }
        HostPort master{reply->element[0]->str, std::atoi(reply->element[1]->str)};
        BOOST_LOG_TRIVIAL(debug) << "redis " << name << ": sentinel " << sentinel
                                 << " names master '" << address.master_name << "' at "
                                 << master.describe();
        set_server(std::move(master));
        stage = Stage::use_master;
        close_quietly();
        // Not from inside hiredis's callback: the sentinel's connection is freed after it.
        asio::post(strand, [self = shared_from_this()] { self->connect(); });
    }

    // With Sentinel, the master must say it is one before it is used; a replica, that it is
    // one linked to its master.
    void check_role(std::function<void()> next) {
        bool replica = stage == Stage::use_replica;
        if (!uses_sentinels() && !address.cluster() && !replica) {
            next();
            return;
        }
        send({"ROLE"}, [self = shared_from_this(), next, replica](redisReply* reply) {
            if (!role_fits(reply, replica)) {
                self->drop(self->current_server().describe() +
                           (replica ? " is not a replica linked to its master"
                            : self->address.cluster()
                                ? " is not a primary (any more); asking the cluster again"
                                : " is not the master (any more); asking the sentinels again"));
                return;
            }
            next();
        });
    }

    // What the link is connected to, for the log.
    std::string describe_node() const {
        if (stage == Stage::use_replica) return current_server().describe() + " (a replica)";
        if (address.cluster()) {
            return current_server().describe() + " (a cluster primary; followed through slot " +
                   std::to_string(followed_slot) + ")";
        }
        if (uses_sentinels()) return current_server().describe() + " (" + address.describe() + ")";
        return address.describe();
    }

    // AUTH, ROLE (with Sentinel, or of a replica) and SELECT, then ready.
    void handshake() {
        if (stage == Stage::ask_sentinel) {
            ask_for_master();
            return;
        }
        if (stage == Stage::ask_cluster) {
            ask_for_slot_owner();
            return;
        }
        if (stage == Stage::list_replicas) {
            list_replicas();
            return;
        }
        auto after_select = [self = shared_from_this()](redisReply* reply) {
            if (!reply || reply->type == REDIS_REPLY_ERROR) {
                self->drop(reply ? std::string("SELECT: ") + reply->str : "lost during SELECT");
                return;
            }
            self->become_ready();
        };
        auto select = [self = shared_from_this(), after_select] {
            self->check_role([self, after_select] {
                if (self->address.cluster()) {
                    self->become_ready();  // a cluster has database 0 only
                    return;
                }
                std::string db = std::to_string(self->address.db);
                self->send({"SELECT", db}, after_select);
            });
        };
        authenticate(address.password, "AUTH", select);
    }

    void become_ready() {
        ready = true;
        raw = static_cast<bool>(on_message);
        backoff.reset();
        set_failure({});
        BOOST_LOG_TRIVIAL(info) << "redis " << name << ": connected to " << describe_node();
        look_for_replica_later();
        if (events.connected) events.connected();
    }

    // On the primary as its last resort, a reading link looks for a healthy replica again
    // later: it reconnects (its subscriber catches up from the history), and lands on the
    // primary again when there still is none.
    void look_for_replica_later() {
        if (!reads_replicas() || stage != Stage::use_master) {
            lookup_delay = kFirstReplicaLookup;
            return;
        }
        lookup_timer.expires_after(lookup_delay);
        lookup_delay = std::min(lookup_delay * 2, kMaxReplicaLookup);
        lookup_timer.async_wait([self = shared_from_this(), attempt = context](auto ec) {
            if (ec || self->context != attempt || !self->ready) return;
            self->last_failed = {};  // it may be healthy again
            self->drop("reading from the primary: looking for a healthy replica again");
        });
    }

    void drop(const std::string& why) {
        if (!context) return;
        BOOST_LOG_TRIVIAL(warning) << "redis " << name << ": " << why;
        bool was_ready = ready.exchange(false);
        close_quietly();
        if (was_ready && events.disconnected) events.disconnected(why);
        retry(why);
    }

    // Frees the context without its disconnect callback (the caller reports and retries).
    // Inside a hiredis callback the free happens when that callback returns.
    void close_quietly() {
        auto* c = context;
        context = nullptr;
        c->onDisconnect = nullptr;
        redisAsyncFree(c);
    }

    // Why the link is down, as the last attempt learnt it (Redis's own words when it gave
    // some: WRONGPASS, NOAUTH, …); empty once it is up.
    void set_failure(std::string why) {
        std::lock_guard lock(failure_mutex);
        failure = std::move(why);
    }

    void retry(const std::string& why) {
        set_failure(why);
        if (stopping) return;
        stage = next_stage();
        // Jittered, so several instances do not reconnect in step after an outage.
        auto delay = backoff.next();
        BOOST_LOG_TRIVIAL(debug) << "redis " << name << ": " << why << "; retrying in "
                                 << delay.count() << " ms";
        timer.expires_after(delay);
        timer.async_wait([self = shared_from_this()](auto ec) {
            if (!ec) self->connect();
        });
    }

    // Where to go after a failure. A failing sentinel gives way to the next; a lost master is
    // asked for again. A reading link tries its configured replica again first, unless that
    // is the one that failed: then another one.
    Stage next_stage() {
        if (address.cluster()) {
            if (stage == Stage::ask_cluster) ++next_seed;
            return Stage::ask_cluster;  // the slot may have a new primary
        }
        if (at_sentinel()) ++next_sentinel;
        if (!reads_replicas()) return uses_sentinels() ? Stage::ask_sentinel : Stage::use_master;
        bool replica_failed = stage == Stage::use_replica;
        if (replica_failed) last_failed = current_server();
        bool configured_failed = replica_failed && current_server() == reads.replica;
        if (reads.node == ReadFrom::Node::replica_at && !configured_failed) {
            set_server(reads.replica);
            return Stage::use_replica;
        }
        return Stage::list_replicas;
    }

    static void on_reply(redisAsyncContext*, void* reply, void* privdata) {
        std::unique_ptr<ReplyHandler> handler(static_cast<ReplyHandler*>(privdata));
        (*handler)(static_cast<redisReply*>(reply));
    }

    // A reply nobody waits for (the hot path's writes): only a refusal is kept, counted.
    static void on_unwatched_reply(redisAsyncContext* c, void* reply, void*) {
        auto* self = static_cast<Impl*>(c->data);
        auto* r = static_cast<redisReply*>(reply);
        if (!self || !r || r->type != REDIS_REPLY_ERROR) return;
        std::string error(r->str, r->len);
        {
            std::lock_guard lock(self->refusal_mutex);
            ++self->refusals.count;
            self->refusals.last = error;
            self->refusals.at = std::chrono::steady_clock::now();
        }
        // In a cluster, a slot served elsewhere now: what follows in this batch is refused
        // too, so the link reconnects (the batch is not acknowledged and goes again) and
        // says so, as the slot map is stale.
        if (self->address.cluster() && cluster::parse_redirect(error)) {
            if (self->events.redirected) self->events.redirected(error);
            self->drop(error + ": asking the cluster again");
        }
    }

    // In raw mode: the command goes out with the next write; its reply comes to the message
    // handler.
    bool append_raw(std::span<const std::string_view> argv) {
        if (!context || !raw || argv.size() > kMaxArguments) return false;
        const char* pointers[kMaxArguments];
        size_t lengths[kMaxArguments];
        for (std::size_t i = 0; i < argv.size(); ++i) {
            pointers[i] = argv[i].data();
            lengths[i] = argv[i].size();
        }
        char* formatted = nullptr;
        int length =
            redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), pointers, lengths);
        if (length < 0) return false;
        bool appended = redisAppendFormattedCommand(&context->c, formatted,
                                                    static_cast<size_t>(length)) == REDIS_OK;
        redisFreeCommand(formatted);
        if (appended) add_write(watch.get());
        return appended;
    }

    // Queues `argv` with `fn` (nullptr: the reply is dropped). No allocation: the pointers
    // and lengths hiredis wants sit on the stack.
    bool submit(std::span<const std::string_view> argv, redisCallbackFn* fn, void* privdata) {
        if (!context || argv.size() > kMaxArguments) return false;
        const char* pointers[kMaxArguments];
        size_t lengths[kMaxArguments];
        for (std::size_t i = 0; i < argv.size(); ++i) {
            pointers[i] = argv[i].data();
            lengths[i] = argv[i].size();
        }
        return redisAsyncCommandArgv(context, fn, privdata, static_cast<int>(argv.size()), pointers,
                                     lengths) == REDIS_OK;
    }

    bool send(std::initializer_list<std::string_view> argv, ReplyHandler handler) {
        return send(std::span<const std::string_view>(argv), std::move(handler));
    }

    bool send(std::span<const std::string_view> argv, ReplyHandler handler) {
        auto* privdata = new ReplyHandler(std::move(handler));
        if (!submit(argv, &on_reply, privdata)) {
            delete privdata;
            return false;
        }
        return true;
    }

    void shut() {
        stopping = true;
        timer.cancel();
        lookup_timer.cancel();
        ready = false;
        if (context) close_quietly();
    }
};

RedisLink::RedisLink(asio::io_context& io, RedisAddress address, std::string name, Events events,
                     ReadFrom reads)
    : impl_(std::make_shared<Impl>(io, std::move(address), std::move(name), std::move(events),
                                   std::move(reads))) {}

RedisLink::~RedisLink() {
    stop();
}

void RedisLink::start() {
    impl_->stopped = false;
    asio::dispatch(impl_->strand, [impl = impl_] {
        impl->stopping = false;
        if (!impl->context) impl->connect();
    });
}

void RedisLink::stop() {
    if (impl_->stopped.exchange(true)) return;
    if (impl_->strand.running_in_this_thread()) {
        impl_->shut();
        return;
    }
    // Shared: if the wait below gives up, the handler may still run later.
    auto done = std::make_shared<std::promise<void>>();
    auto finished = done->get_future();
    asio::post(impl_->strand, [impl = impl_, done] {
        impl->shut();
        done->set_value();
    });
    if (finished.wait_for(std::chrono::seconds(1)) != std::future_status::ready) {
        // The io_context is not running: nothing else touches the link now.
        impl_->shut();
    }
}

bool RedisLink::connected() const {
    return impl_->ready;
}

bool RedisLink::command(const std::vector<std::string_view>& argv, ReplyHandler handler) {
    if (!impl_->ready) return false;
    return impl_->send(argv, std::move(handler));
}

bool RedisLink::command(std::initializer_list<std::string_view> argv) {
    return impl_->ready && impl_->submit(argv, &Impl::on_unwatched_reply, nullptr);
}

std::optional<std::string> RedisLink::failure() const {
    std::lock_guard lock(impl_->failure_mutex);
    if (impl_->failure.empty()) return std::nullopt;
    return impl_->failure;
}

RedisLink::Refusals RedisLink::refusals() const {
    std::lock_guard lock(impl_->refusal_mutex);
    return impl_->refusals;
}

bool RedisLink::subscription_command(const std::vector<std::string_view>& argv) {
    return impl_->ready && impl_->append_raw(argv);
}

void RedisLink::set_message_handler(ReplyHandler handler) {
    impl_->on_message = std::move(handler);
}

void RedisLink::post(std::function<void()> fn) {
    asio::post(impl_->strand, std::move(fn));
}

const RedisAddress& RedisLink::address() const {
    return impl_->address;
}

HostPort RedisLink::server() const {
    return impl_->current_server();
}

std::string RedisLink::node() const {
    auto server = impl_->current_server();
    if (server.host.empty()) return {};
    const auto& address = impl_->address;
    bool primary_by_socket = !address.socket.empty() && address.sentinels.empty() &&
                             server == HostPort{address.host, address.port};
    return primary_by_socket ? "unix:" + address.socket : server.describe();
}

}  // namespace tickerd::bus
