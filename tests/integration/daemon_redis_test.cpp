// The daemon against real redis-server processes on free loopback ports: the Redis contract
// (channels, payloads, latest: keys with a TTL), an outage in the middle of a stream, and
// one worker feeding two edge instances.
#define BOOST_TEST_MODULE daemon_redis
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <set>

namespace json = boost::json;
using namespace tickerd::testing;
using namespace std::chrono_literals;

namespace {

const std::string& kChannel = kRedisTestChannel;

// The instruments an instance has; empty while it does not answer (wait_until asks again).
std::set<std::string> configured_symbols(HttpClient& http) {
    std::set<std::string> out;
    auto reply = http.get("/streaming/config/instruments");
    if (reply.status != 200) return out;
    auto list = reply.json();  // iterated below: it must outlive the loop
    for (const auto& instrument : list.as_array())
        out.insert(std::string(instrument.at("symbol").as_string()));
    return out;
}

// GET / shows, within 10 s, a config change pending that Redis refuses in `words`.
void shows_a_pending_config_refused(HttpClient& http, const DaemonProcess& daemon,
                                    const std::string& words) {
    json::object status;
    BOOST_TEST_REQUIRE(wait_until(
                           [&] {
                               status = redis_status(http);
                               return status.at("config_refusal").is_string();
                           },
                           10s),
                       daemon.log_tail());
    BOOST_TEST(status.at("config_pending").as_bool());
    BOOST_TEST(text_at(json::value(status), "/config_refusal").find(words) != std::string::npos,
               json::serialize(status));
}

}  // namespace

BOOST_AUTO_TEST_CASE(messages_reach_redis_as_the_contract_says) {
    RedisServer redis;
    RedisClient watcher(redis.port());
    watcher.subscribe(kChannel);
    TempDir files("tickerd-redis-contract");
    auto daemon = start_redis_daemon(files, redis);
    HttpClient http("127.0.0.1", daemon->port());

    auto payload = watcher.next_message(10s);
    BOOST_TEST_REQUIRE(payload.has_value(), daemon->log_tail());
    auto message = json::parse(*payload).as_object();
    BOOST_TEST(message.at("channel").as_string() == kChannel);
    BOOST_TEST(message.at("data_type").as_string() == "market_data");
    BOOST_TEST(message.at("symbol").as_string() == "AAPL");
    BOOST_TEST(message.at("vendor").as_string() == "mock");
    check_schema("market_data", message.at("data").as_object());

    // The latest: key holds a whole StreamMessage and expires.
    RedisClient reader(redis.port());
    auto latest = reader.get("latest:" + kChannel);
    BOOST_TEST_REQUIRE(latest.has_value());
    BOOST_TEST(json::parse(*latest).at("channel").as_string() == kChannel);
    auto ttl = reader.ttl("latest:" + kChannel);
    BOOST_TEST(ttl > 0);
    BOOST_TEST(ttl <= 300);  // the cache_ttl_seconds floor (default 300)

    // A client of the daemon gets the very bytes Redis carried.
    SseClient sse("127.0.0.1", daemon->port());
    BOOST_TEST_REQUIRE(sse.open_get("/streaming/subscribe/sse?channels=" + kChannel).status == 200);
    auto event = sse.next_data_event(10s);
    BOOST_TEST_REQUIRE(event.has_value());
    std::optional<std::string> same;
    for (int i = 0; i < 50 && !same; ++i) {
        auto next = watcher.next_message(5s);
        BOOST_TEST_REQUIRE(next.has_value());
        auto from_sse = sse.next_data_event(5s);
        BOOST_TEST_REQUIRE(from_sse.has_value());
        // Both follow the same channel; line them up by id and compare bytes.
        while (from_sse && json::parse(*from_sse->data).at("id") != json::parse(*next).at("id")) {
            if (seq_of(json::parse(*from_sse->data)) > seq_of(json::parse(*next))) break;
            from_sse = sse.next_data_event(5s);
        }
        if (from_sse && *from_sse->data == *next) same = next;
    }
    BOOST_TEST(same.has_value());

    auto status = redis_status(http);
    BOOST_TEST(status.at("connected").as_bool());
    BOOST_TEST(status.at("last_error").is_null());
    BOOST_TEST(status.at("published").to_number<int64_t>() > 0);
    BOOST_TEST(http.get("/").json().at("bus").as_string() == "redis");
    auto from_api = http.get("/streaming/latest/" + kChannel).json();
    BOOST_TEST(from_api.at("message").at("channel").as_string() == kChannel);
}

BOOST_AUTO_TEST_CASE(an_outage_loses_nothing_below_the_buffer_bound) {
    RedisServer redis;
    TempDir files("tickerd-redis-outage");
    auto daemon = start_redis_daemon(files, redis, "all", 0.1);
    HttpClient http("127.0.0.1", daemon->port());
    SeqStream stream(daemon->port());
    auto& seqs = stream.seqs;
    BOOST_TEST_REQUIRE(stream.receive_until([&] { return seqs.size() >= 5; }, 10s),
                       daemon->log_tail());

    redis.kill();
    BOOST_TEST_REQUIRE(
        wait_until([&] { return !redis_status(http).at("connected").as_bool(); }, 5s));
    auto down = redis_status(http);
    BOOST_TEST(down.at("last_error").is_string());
    std::this_thread::sleep_for(2s);  // about 20 polls go into the buffer
    BOOST_TEST(redis_status(http).at("buffered").to_number<int64_t>() > 5);
    BOOST_TEST(daemon->running());
    BOOST_TEST(!stream.sse.ended());  // the client stays connected through the outage

    int64_t last_before = seqs.back();
    auto back_at = std::chrono::steady_clock::now();
    redis.restart();
    BOOST_TEST_REQUIRE(stream.receive_until([&] { return seqs.back() > last_before; }, 10s),
                       daemon->log_tail());
    auto waited = std::chrono::steady_clock::now() - back_at;
    BOOST_TEST(waited < 5s,
               "receiving again took " << std::chrono::duration<double>(waited).count() << " s");
    stream.receive_until([&] { return seqs.back() > last_before + 25; }, 10s);

    // In order and without a gap: what was polled during the outage was kept and flushed.
    for (std::size_t i = 1; i < seqs.size(); ++i)
        BOOST_TEST(seqs[i] == seqs[i - 1] + 1, "seq " << seqs[i - 1] << " then " << seqs[i]);
    auto status = redis_status(http);
    BOOST_TEST(status.at("connected").as_bool());
    BOOST_TEST(status.at("dropped").to_number<int64_t>() == 0);
}

BOOST_AUTO_TEST_CASE(one_worker_feeds_two_edges) {
    RedisServer redis;
    TempDir files("tickerd-redis-scale");
    auto edge_a = start_redis_daemon(files, redis, "edge");
    auto edge_b = start_redis_daemon(files, redis, "edge");
    std::vector<std::unique_ptr<SseClient>> clients;
    for (auto* edge : {edge_a.get(), edge_b.get()}) {
        clients.push_back(std::make_unique<SseClient>("127.0.0.1", edge->port()));
        BOOST_TEST_REQUIRE(
            clients.back()->open_get("/streaming/subscribe/sse?channels=" + kChannel).status ==
            200);
    }
    auto worker = start_redis_daemon(files, redis, "worker");

    std::vector<std::set<int64_t>> seen(2);
    for (std::size_t i = 0; i < clients.size(); ++i) {
        while (seen[i].size() < 5) {
            auto event = clients[i]->next_data_event(10s);
            BOOST_TEST_REQUIRE(event.has_value(), "edge " << i << "\n" << worker->log_tail());
            BOOST_TEST(event->json().at("vendor").as_string() == "mock");
            seen[i].insert(seq_of(event->json()));
        }
    }
    // Edges poll nothing: every message came from the worker.
    HttpClient edge_http("127.0.0.1", edge_a->port());
    auto status = edge_http.get("/").json();
    BOOST_TEST(status.at("role").as_string() == "edge");
    BOOST_TEST(status.at("plugins").at("loaded").to_number<int>() == 0);
    // An edge none of whose clients follows the channel answers /latest from Redis.
    auto edge_c = start_redis_daemon(files, redis, "edge");
    HttpClient quiet("127.0.0.1", edge_c->port());
    auto latest = quiet.get("/streaming/latest/" + kChannel);
    BOOST_TEST_REQUIRE(latest.status == 200);
    BOOST_TEST_REQUIRE(latest.json().at("message").is_object(), latest.body);
    BOOST_TEST(latest.json().at("message").at("vendor").as_string() == "mock");
    BOOST_TEST(seq_of(latest.json().at("message")) >= 5);
}

BOOST_AUTO_TEST_CASE(edge_and_worker_roles_need_redis) {
    auto result = run_daemon_command({"--role", "edge"}, {{"REDIS_ENABLED", "false"}}, 20s);
    BOOST_TEST(!result.status.success());
    BOOST_TEST(result.output.find("set REDIS_ENABLED=true") != std::string::npos, result.output);
}

BOOST_AUTO_TEST_CASE(three_workers_share_sixty_instruments_and_survive_a_kill) {
    RedisServer redis;
    TempDir files("tickerd-redis-leases");
    json::array instruments;
    for (int i = 0; i < 60; ++i)
        instruments.push_back(
            {{"symbol", "S" + std::to_string(i)}, {"data_types", {"market_data"}}});
    json::value config = {{"redis", {{"lease_ms", 1000}}},
                          {"vendors", mock_vendors()},
                          {"instruments", instruments},
                          {"cadences", {{"market_data", {{"interval_seconds", 1}}}}}};
    auto config_file = write_config(files, config, "workers.json");
    std::vector<std::unique_ptr<DaemonProcess>> workers;
    for (int i = 0; i < 3; ++i) {
        DaemonOptions options;
        options.config_file = config_file;
        options.env = {{"REDIS_ENABLED", "true"},
                       {"REDIS_HOST", "127.0.0.1"},
                       {"REDIS_PORT", std::to_string(redis.port())},
                       {"TICKERD_ROLE", "worker"},
                       {"AUTO_START_WORKERS", "true"}};
        workers.push_back(std::make_unique<DaemonProcess>(options));
    }
    for (auto& worker : workers)
        worker->wait_ready();

    // Per symbol over a window: how many messages, from which instances, the highest seq.
    struct Seen {
        int messages = 0;
        std::set<std::string> instances;
        int64_t max_seq = 0;
    };
    auto watch = [&](std::chrono::milliseconds window) {
        RedisClient watcher(redis.port());
        watcher.psubscribe("stream:market_data:*");
        std::map<std::string, Seen> seen;
        auto until = std::chrono::steady_clock::now() + window;
        while (std::chrono::steady_clock::now() < until) {
            auto payload = watcher.next_message(200ms);
            if (!payload) continue;
            auto message = json::parse(*payload);
            auto& entry = seen[std::string(message.at("symbol").as_string())];
            ++entry.messages;
            entry.instances.insert(std::string(message.at("metadata").at("instance").as_string()));
            entry.max_seq = std::max(entry.max_seq, seq_of(message));
        }
        return seen;
    };

    std::this_thread::sleep_for(3s);  // leases settle
    auto before = watch(5s);
    BOOST_TEST(before.size() == 60u);  // every instrument is polled
    std::map<std::string, std::string> owner;
    std::set<std::string> instances;
    for (const auto& [symbol, entry] : before) {
        // Once a second for five seconds: one instance polls it, not two or three.
        BOOST_TEST(entry.messages <= 7, symbol << ": " << entry.messages << " messages");
        BOOST_TEST(entry.messages >= 3, symbol << ": " << entry.messages << " messages");
        BOOST_TEST(entry.instances.size() == 1u, symbol << " polled by several instances");
        owner[symbol] = *entry.instances.begin();
        instances.insert(entry.instances.begin(), entry.instances.end());
    }
    BOOST_TEST(instances.size() == 3u);  // the work is shared
    // Worker status and telemetry say which instance did what.
    HttpClient survivor("127.0.0.1", workers[1]->port());
    auto status = survivor.get("/streaming/config/workers/worker_market_data").json();
    auto name = std::string(status.at("instance").as_string());
    BOOST_TEST(name.ends_with("-" + std::to_string(workers[1]->pid())));
    BOOST_TEST(status.at("leases_held").to_number<int>() > 0);
    auto records = survivor.get("/streaming/config/telemetry/market_data?limit=5").json();
    BOOST_TEST_REQUIRE(!records.as_array().empty());
    BOOST_TEST(records.at(0).at("instance").as_string() == name);

    // kill -9 one worker: within two lease periods its share goes on elsewhere.
    auto victim = std::to_string(workers[0]->pid());
    workers[0]->kill_hard();
    std::this_thread::sleep_for(2s);
    auto after = watch(4s);
    BOOST_TEST(after.size() == 60u);
    for (const auto& [symbol, entry] : after) {
        BOOST_TEST(entry.messages >= 3, symbol << ": " << entry.messages << " messages");
        for (const auto& instance : entry.instances)
            BOOST_TEST(!instance.ends_with("-" + victim), symbol << " still from the dead one");
        // Taken over, the channel's numbering goes on: clients do not drop it as seen.
        BOOST_TEST(entry.max_seq > before[symbol].max_seq, symbol);
    }
}

BOOST_AUTO_TEST_CASE(instances_share_one_config_through_redis) {
    RedisServer redis;
    TempDir files("tickerd-redis-config");
    auto first = start_redis_daemon(files, redis, "all");  // brings AAPL
    // The second comes with a config of its own; the shared one wins.
    json::value other = {{"instruments", {{{"symbol", "MSFT"}, {"data_types", {"news"}}}}}};
    DaemonOptions options;
    options.config_file = write_config(files, other, "other.json");
    options.env = {{"REDIS_ENABLED", "true"},
                   {"REDIS_HOST", "127.0.0.1"},
                   {"REDIS_PORT", std::to_string(redis.port())},
                   {"TICKERD_ROLE", "edge"}};
    DaemonProcess second(options);
    second.wait_ready();
    HttpClient a("127.0.0.1", first->port());
    HttpClient b("127.0.0.1", second.port());
    auto symbols = configured_symbols;
    BOOST_TEST(wait_until([&] { return symbols(b) == std::set<std::string>{"AAPL"}; }, 5s));

    // A change through the edge's API reaches the worker's scheduler.
    auto added = b.post("/streaming/config/instruments",
                        R"({"symbol": "TSLA", "data_types": ["market_data"]})");
    BOOST_TEST_REQUIRE(added.status == 201, added.body);
    BOOST_TEST(wait_until([&] { return symbols(a).contains("TSLA"); }, 5s));
    std::optional<json::value> polled;
    wait_until(
        [&] {
            auto reply = a.get("/streaming/latest/stream:market_data:TSLA");
            if (reply.status != 200 || !reply.json().at("message").is_object()) return false;
            polled = reply.json();
            return true;
        },
        10s);
    BOOST_TEST_REQUIRE(polled.has_value(), first->log_tail());

    // And the other way round, for a cadence.
    auto put = a.put_json("/streaming/config/cadences/news", {{"interval_seconds", 123}});
    BOOST_TEST_REQUIRE(put.status == 200, put.body);
    BOOST_TEST(wait_until(
        [&] {
            auto cadence = b.get("/streaming/config/cadences/news");
            return cadence.status == 200 &&
                   cadence.json().at("interval_seconds").to_number<double>() == 123;
        },
        5s));
    RedisClient reader(redis.port());
    auto shared = reader.get("tickerd:config");
    BOOST_TEST_REQUIRE(shared.has_value());
    BOOST_TEST(shared->find("TSLA") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(changes_made_while_redis_is_away_are_merged_when_it_returns) {
    RedisServer redis;
    TempDir files("tickerd-redis-merge");
    auto worker = start_redis_daemon(files, redis, "all");  // brings AAPL
    auto edge = start_redis_daemon(files, redis, "edge");
    HttpClient a("127.0.0.1", worker->port());
    HttpClient b("127.0.0.1", edge->port());
    auto symbols = configured_symbols;
    BOOST_TEST_REQUIRE(wait_until([&] { return symbols(b) == std::set<std::string>{"AAPL"}; }, 5s));

    redis.kill();
    BOOST_TEST_REQUIRE(wait_until([&] { return !redis_status(a).at("connected").as_bool(); }, 5s));
    // Each instance takes a different change meanwhile.
    BOOST_TEST(a.post("/streaming/config/instruments",
                      R"({"symbol": "MSFT", "data_types": ["market_data"]})")
                   .status == 201);
    BOOST_TEST(b.post("/streaming/config/instruments",
                      R"({"symbol": "TSLA", "data_types": ["market_data"]})")
                   .status == 201);
    BOOST_TEST(b.put_json("/streaming/config/cadences/news", {{"interval_seconds", 123}}).status ==
               200);
    // Nobody here follows MSFT, so only Redis could say what its latest message is.
    auto latest = a.get("/streaming/latest/stream:market_data:MSFT");
    BOOST_TEST(latest.status == 503);
    BOOST_TEST(latest.json().at("detail").as_string().find("Redis is unreachable") !=
               std::string::npos);

    redis.restart();  // empty: both instances write their changes, the second merges
    std::set<std::string> all{"AAPL", "MSFT", "TSLA"};
    auto news_interval = [](HttpClient& http) {
        auto reply = http.get("/streaming/config/cadences/news");
        return reply.status == 200 ? reply.json().at("interval_seconds").to_number<double>() : 0;
    };
    BOOST_TEST(wait_until([&] { return symbols(a) == all && symbols(b) == all; }, 10s),
               "worker " << symbols(a).size() << ", edge " << symbols(b).size() << "\n"
                         << edge->log_tail());
    BOOST_TEST(wait_until([&] { return news_interval(a) == 123; }, 5s));
    RedisClient reader(redis.port());
    auto shared = reader.get("tickerd:config");
    BOOST_TEST_REQUIRE(shared.has_value());
    for (const auto& symbol : all)
        BOOST_TEST(shared->find("\"" + symbol + "\"") != std::string::npos, symbol);
}

BOOST_AUTO_TEST_CASE(a_sentinel_failover_is_followed) {
    RedisServer master;
    RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
    BOOST_TEST_REQUIRE(wait_until([&] { return replica_linked(replica.port()); }, 10s));
    RedisSentinel sentinel("tickerd-main", master.port());
    BOOST_TEST_REQUIRE(wait_until([&] { return sentinel.replicas() == 1; }, 15s), sentinel.log());

    TempDir files("tickerd-redis-sentinel");
    // REDIS_HOST/PORT name nothing: only the sentinel knows where the master is.
    auto daemon =
        start_redis_daemon(files,
                           {{"REDIS_HOST", "127.0.0.1"},
                            {"REDIS_PORT", "1"},
                            {"REDIS_SENTINELS", "127.0.0.1:" + std::to_string(sentinel.port())},
                            {"REDIS_SENTINEL_MASTER", "tickerd-main"}},
                           "all", 0.1);
    HttpClient http("127.0.0.1", daemon->port());
    SeqStream stream(daemon->port());
    auto& seqs = stream.seqs;
    BOOST_TEST_REQUIRE(stream.receive_until([&] { return seqs.size() >= 5; }, 10s),
                       daemon->log_tail());
    auto before = redis_status(http);
    BOOST_TEST(before.at("master").as_string() == "127.0.0.1:" + std::to_string(master.port()));
    BOOST_TEST(before.at("sentinel_master").as_string() == "tickerd-main");
    BOOST_TEST(before.at("sentinels").as_array().at(0).as_string() ==
               "127.0.0.1:" + std::to_string(sentinel.port()));
    BOOST_TEST(!before.contains("password"));  // secrets are never shown

    master.kill();
    auto killed_at = std::chrono::steady_clock::now();
    BOOST_TEST_REQUIRE(wait_until([&] { return sentinel.master_port() == replica.port(); }, 30s),
                       sentinel.log());
    auto promoted_at = std::chrono::steady_clock::now();
    int64_t last_before = seqs.back();
    BOOST_TEST_REQUIRE(stream.receive_until([&] { return seqs.back() > last_before; }, 15s),
                       daemon->log_tail());
    auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
    BOOST_TEST_MESSAGE("failover: promoted "
                       << seconds(promoted_at - killed_at)
                       << " s after the kill, receiving again after "
                       << seconds(std::chrono::steady_clock::now() - killed_at) << " s");
    stream.receive_until([&] { return seqs.back() > last_before + 10; }, 10s);
    BOOST_TEST(daemon->running());
    BOOST_TEST(!stream.sse.ended());
    auto status = redis_status(http);
    BOOST_TEST(status.at("connected").as_bool());
    BOOST_TEST(status.at("master").as_string() == "127.0.0.1:" + std::to_string(replica.port()));
    BOOST_TEST(status.at("dropped").to_number<int64_t>() == 0);
    // Publishing goes to the promoted replica: its latest: key and its subscribers.
    RedisClient promoted(replica.port());
    BOOST_TEST(promoted.get("latest:" + kChannel).has_value());
    RedisClient watcher(replica.port());
    watcher.subscribe(kChannel);
    BOOST_TEST(watcher.next_message(5s).has_value());
    // In order throughout; what was polled while no master was reachable waited and came.
    for (std::size_t i = 1; i < seqs.size(); ++i)
        BOOST_TEST(seqs[i] > seqs[i - 1], "seq " << seqs[i - 1] << " then " << seqs[i]);
    BOOST_TEST(seqs.back() - seqs.front() + 1 == static_cast<int64_t>(seqs.size()),
               "missing " << seqs.back() - seqs.front() + 1 - static_cast<int64_t>(seqs.size()));
}

// Redis out of memory (maxmemory with noeviction) refuses every SET latest:… and XADD while
// PUBLISH still goes: the stream goes on, GET / counts the refusals and shows Redis's own
// words, /readyz says Redis refuses writes; given memory again, it is ready once more.
BOOST_AUTO_TEST_CASE(writes_redis_refuses_are_counted_shown_and_make_it_not_ready) {
    RedisServer redis;
    TempDir files("tickerd-redis");
    auto daemon = start_redis_daemon(files, redis);
    HttpClient http("127.0.0.1", daemon->port());
    SeqStream stream(daemon->port());
    // Messages flow (the worker holds its lease) before Redis runs out of memory.
    BOOST_REQUIRE(stream.receive_until([&] { return stream.seqs.size() >= 2; }, 10s));
    BOOST_REQUIRE(wait_until([&] { return http.get("/readyz").status == 200u; }, 10s));
    BOOST_TEST(redis_status(http).at("write_refusals").to_number<int64_t>() == 0);

    RedisClient admin(redis.port());
    admin.call({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
    admin.call({"CONFIG", "SET", "maxmemory", "1"});
    stream.seqs.clear();
    BOOST_TEST(stream.receive_until([&] { return stream.seqs.size() >= 5; }, 10s),
               "the stream stopped while Redis refused writes\n"
                   << daemon->log_tail() << json::serialize(redis_status(http)));
    json::object status;
    BOOST_REQUIRE(wait_until(
        [&] {
            status = redis_status(http);
            return status.at("write_refusals").to_number<int64_t>() > 0;
        },
        10s));
    BOOST_TEST(text_at(json::value(status), "/last_refusal").find("OOM") != std::string::npos,
               json::serialize(status));
    auto not_ready = http.get("/readyz");
    BOOST_TEST(not_ready.status == 503u);
    BOOST_TEST(not_ready.body.find("Redis refuses writes") != std::string::npos, not_ready.body);

    admin.call({"CONFIG", "SET", "maxmemory", "0"});
    BOOST_TEST(wait_until([&] { return http.get("/readyz").status == 200u; }, 20s),
               http.get("/readyz").body);
}

// A wrong password: GET / says what Redis said (WRONGPASS), not a generic reason.
BOOST_AUTO_TEST_CASE(a_refused_password_is_reported_in_redis_words) {
    RedisServer redis({"--requirepass", "secret"});
    TempDir files("tickerd-redis");
    DaemonOptions options;
    options.config_file = write_config(files, json::object{});
    options.env = {{"REDIS_ENABLED", "true"},
                   {"REDIS_HOST", "127.0.0.1"},
                   {"REDIS_PORT", std::to_string(redis.port())},
                   {"REDIS_PASSWORD", "wrong"}};
    DaemonProcess daemon(options);
    daemon.wait_ready();
    HttpClient http("127.0.0.1", daemon.port());
    std::string last_error;
    BOOST_TEST(wait_until(
                   [&] {
                       auto status = redis_status(http);
                       last_error = text_at(json::value(status), "/last_error");
                       return last_error.find("WRONGPASS") != std::string::npos;
                   },
                   10s),
               "last_error: " << last_error);
    BOOST_TEST(http.get("/readyz").status == 503u);
}

// A config change answered 201 while Redis refuses to store it (out of memory) is written
// again until it lands: GET / shows it pending with Redis's words meanwhile, and once Redis
// has memory again the shared config holds it without another change.
BOOST_AUTO_TEST_CASE(a_refused_config_write_is_retried_until_it_lands) {
    RedisServer redis;
    TempDir files("tickerd-redis-config-refused");
    auto daemon = start_redis_daemon(files, redis, "edge");
    HttpClient http("127.0.0.1", daemon->port());
    RedisClient admin(redis.port());
    BOOST_TEST_REQUIRE(wait_until([&] { return admin.get("tickerd:config").has_value(); }, 10s));
    BOOST_TEST(redis_status(http).at("config_pending").as_bool() == false);

    admin.call({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
    admin.call({"CONFIG", "SET", "maxmemory", "1"});
    auto added =
        http.post("/streaming/config/instruments", R"({"symbol": "TSLA", "data_types": ["news"]})");
    BOOST_TEST_REQUIRE(added.status == 201u, added.body);
    shows_a_pending_config_refused(http, *daemon, "OOM");
    BOOST_TEST(admin.get("tickerd:config")->find("TSLA") == std::string::npos);

    admin.call({"CONFIG", "SET", "maxmemory", "0"});
    BOOST_TEST(
        wait_until([&] { return admin.get("tickerd:config")->find("TSLA") != std::string::npos; },
                   15s),
        daemon->log_tail());
    BOOST_TEST(wait_until([&] { return !redis_status(http).at("config_pending").as_bool(); }, 5s));
    BOOST_TEST(redis_status(http).at("config_refusal").is_null());
    BOOST_TEST(count_occurrences(daemon->log(), "Redis refused the shared config") > 0);
}

// Pointed at a read-only replica, an instance cannot seed the shared config nor write a
// change (READONLY): both wait, shown pending, and land once the replica is made a primary.
BOOST_AUTO_TEST_CASE(config_writes_a_read_only_replica_refuses_land_once_it_is_a_primary) {
    RedisServer primary;
    RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(primary.port())});
    BOOST_TEST_REQUIRE(wait_until([&] { return replica_linked(replica.port()); }, 15s));
    TempDir files("tickerd-redis-config-readonly");
    auto daemon = start_redis_daemon(files, replica, "edge");
    HttpClient http("127.0.0.1", daemon->port());
    shows_a_pending_config_refused(http, *daemon, "READONLY");
    auto added =
        http.post("/streaming/config/instruments", R"({"symbol": "TSLA", "data_types": ["news"]})");
    BOOST_TEST_REQUIRE(added.status == 201u, added.body);

    RedisClient promoted(replica.port());
    promoted.call({"REPLICAOF", "NO", "ONE"});
    BOOST_TEST(wait_until(
                   [&] {
                       auto shared = promoted.get("tickerd:config");
                       return shared && shared->find("TSLA") != std::string::npos &&
                              shared->find("AAPL") != std::string::npos;
                   },
                   15s),
               daemon->log_tail());
    BOOST_TEST(wait_until([&] { return !redis_status(http).at("config_pending").as_bool(); }, 5s));
}
