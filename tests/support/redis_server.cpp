#include "support/redis_server.hpp"

#include "support/daemon.hpp"

#include <hiredis/hiredis.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tickerd::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

unsigned short free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("no free port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

namespace {

redisContext* connect(unsigned short port) {
    timeval timeout{5, 0};
    auto* context = redisConnectWithTimeout("127.0.0.1", port, timeout);
    if (!context || context->err) {
        std::string why = context ? context->errstr : "cannot allocate";
        if (context) redisFree(context);
        throw std::runtime_error("redis connect: " + why);
    }
    redisSetTimeout(context, timeout);
    return context;
}

// Runs one command; the reply, which the caller frees.
redisReply* command(redisContext* context, const std::vector<std::string>& argv) {
    std::vector<const char*> pointers;
    std::vector<size_t> lengths;
    for (const auto& arg : argv) {
        pointers.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(argv.size()), pointers.data(), lengths.data()));
    if (!reply) throw std::runtime_error(std::string("redis: ") + context->errstr);
    return reply;
}

bool answers(unsigned short port) {
    return wait_until(
        [&] {
            try {
                RedisClient probe(port);
                probe.call({"PING"});
                return true;
            } catch (const std::exception&) {
                return false;
            }
        },
        10s, 20ms);
}

}  // namespace

std::string redis_server_binary() {
    for (const char* path : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
        if (::access(path, X_OK) == 0) return path;
    }
    return "";
}

RedisServer::RedisServer(std::vector<std::string> extra)
    : port_(free_port()), extra_(std::move(extra)) {
    start();
}

RedisServer::~RedisServer() {
    kill();
}

void RedisServer::start() {
    auto binary = redis_server_binary();
    if (binary.empty()) throw std::runtime_error("redis-server is not installed");
    std::vector<std::string> argv{binary,
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--dir",
                                  dir_.path().string(),
                                  "--daemonize",
                                  "no"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    pid_ = spawn_process(argv, {}, dir_.path() / "redis.log");
    if (!answers(port_)) throw std::runtime_error("redis-server did not start:\n" + log());
}

void RedisServer::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap_process(pid_, 10s);
    pid_ = -1;
}

void RedisServer::restart() {
    kill();
    start();
}

std::string RedisServer::log() const {
    return read_file(dir_.path() / "redis.log");
}

RedisSentinel::RedisSentinel(const std::string& master_name, unsigned short master_port)
    : master_name_(master_name), port_(free_port()) {
    // The sentinel rewrites its config file, so it gets one of its own.
    auto config = dir_.path() / "sentinel.conf";
    std::ofstream(config) << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_.path().string()
                          << "\nsentinel monitor " << master_name << " 127.0.0.1 " << master_port
                          << " 1\nsentinel down-after-milliseconds " << master_name
                          << " 500\nsentinel failover-timeout " << master_name << " 5000\n";
    pid_ = spawn_process({redis_server_binary(), config.string(), "--sentinel"}, {},
                         dir_.path() / "sentinel.log");
    if (!answers(port_)) throw std::runtime_error("redis sentinel did not start:\n" + log());
}

RedisSentinel::~RedisSentinel() {
    ::kill(pid_, SIGKILL);
    reap_process(pid_, 10s);
}

unsigned short RedisSentinel::master_port() {
    RedisClient client(port_);
    auto reply = client.call({"SENTINEL", "get-master-addr-by-name", master_name_});
    auto newline = reply.find('\n');
    if (newline == std::string::npos) return 0;
    return static_cast<unsigned short>(std::stoi(reply.substr(newline + 1)));
}

std::size_t RedisSentinel::replicas() {
    RedisClient client(port_);
    auto reply = client.call({"SENTINEL", "replicas", master_name_});
    // One flat field/value list per replica, each starting with "name".
    std::size_t count = 0;
    for (std::size_t at = 0; (at = reply.find("name\n", at)) != std::string::npos; ++at)
        if (at == 0 || reply[at - 1] == '\n') ++count;
    return count;
}

bool replica_linked(unsigned short port) {
    RedisClient client(port);
    return client.call({"ROLE"}).find("\nconnected\n") != std::string::npos;
}

std::size_t RedisSentinel::linked_replicas() {
    RedisClient client(port_);
    auto reply = client.call({"SENTINEL", "replicas", master_name_});
    return count_occurrences(reply, "\nmaster-link-status\nok\n");
}

std::string RedisSentinel::log() const {
    return read_file(dir_.path() / "sentinel.log");
}

RedisClient::RedisClient(unsigned short port) : context_(connect(port)) {}

RedisClient::~RedisClient() {
    if (context_) redisFree(context_);
}

std::optional<std::string> RedisClient::get(const std::string& key) {
    auto* reply = command(context_, {"GET", key});
    std::optional<std::string> value;
    if (reply->type == REDIS_REPLY_STRING) value = std::string(reply->str, reply->len);
    freeReplyObject(reply);
    return value;
}

long long RedisClient::ttl(const std::string& key) {
    auto* reply = command(context_, {"TTL", key});
    long long value = reply->type == REDIS_REPLY_INTEGER ? reply->integer : -3;
    freeReplyObject(reply);
    return value;
}

std::vector<std::string> RedisClient::keys(const std::string& pattern) {
    auto* reply = command(context_, {"KEYS", pattern});
    std::vector<std::string> out;
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; ++i)
        out.emplace_back(reply->element[i]->str, reply->element[i]->len);
    freeReplyObject(reply);
    return out;
}

long long RedisClient::publish(const std::string& channel, const std::string& payload) {
    auto* reply = command(context_, {"PUBLISH", channel, payload});
    long long receivers = reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    freeReplyObject(reply);
    return receivers;
}

std::string RedisClient::call(const std::vector<std::string>& argv) {
    auto* reply = command(context_, argv);
    std::function<std::string(const redisReply*)> text = [&](const redisReply* r) {
        switch (r->type) {
            case REDIS_REPLY_STRING:
            case REDIS_REPLY_STATUS:
                return std::string(r->str, r->len);
            case REDIS_REPLY_ERROR:
                return "ERR: " + std::string(r->str, r->len);
            case REDIS_REPLY_INTEGER:
                return std::to_string(r->integer);
            case REDIS_REPLY_ARRAY: {
                std::string joined;
                for (size_t i = 0; i < r->elements; ++i)
                    joined += (i ? "\n" : "") + text(r->element[i]);
                return joined;
            }
            default:
                return std::string();
        }
    };
    auto out = text(reply);
    freeReplyObject(reply);
    return out;
}

void RedisClient::subscribe(const std::string& channel) {
    freeReplyObject(command(context_, {"SUBSCRIBE", channel}));
}

void RedisClient::psubscribe(const std::string& pattern) {
    freeReplyObject(command(context_, {"PSUBSCRIBE", pattern}));
}

std::optional<std::string> RedisClient::next_message(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    timeval step{0, 100'000};
    redisSetTimeout(context_, step);
    while (std::chrono::steady_clock::now() < deadline) {
        void* raw = nullptr;
        if (redisGetReply(context_, &raw) != REDIS_OK) {
            if (context_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                context_->err = 0;  // a read timeout: keep waiting
                continue;
            }
            throw std::runtime_error(std::string("redis: ") + context_->errstr);
        }
        auto* reply = static_cast<redisReply*>(raw);
        std::optional<std::string> payload;
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 3) {
            std::string_view kind(reply->element[0]->str, reply->element[0]->len);
            const auto* last = reply->element[reply->elements - 1];
            if (kind == "message" || kind == "pmessage")
                payload = std::string(last->str, last->len);
        }
        freeReplyObject(reply);
        if (payload) return payload;
    }
    return std::nullopt;
}

}  // namespace tickerd::testing
