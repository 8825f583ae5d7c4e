#include "support/redis_daemons.hpp"

#include <boost/json.hpp>

namespace tickerd::testing {

namespace json = boost::json;

std::unique_ptr<DaemonProcess> start_redis_daemon(const TempDir& files, EnvVars redis_env,
                                                  const std::string& role, double interval) {
    json::value config = {{"vendors", mock_vendors()},
                          {"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
                          {"cadences", {{"market_data", {{"interval_seconds", interval}}}}}};
    DaemonOptions options;
    options.config_file = write_config(files, config, role + ".json");
    options.env = std::move(redis_env);
    options.env.insert(
        options.env.end(),
        {{"REDIS_ENABLED", "true"}, {"TICKERD_ROLE", role}, {"AUTO_START_WORKERS", "true"}});
    auto daemon = std::make_unique<DaemonProcess>(options);
    daemon->wait_ready();
    return daemon;
}

std::unique_ptr<DaemonProcess> start_redis_daemon(const TempDir& files, const RedisServer& redis,
                                                  const std::string& role, double interval) {
    return start_redis_daemon(
        files, {{"REDIS_HOST", "127.0.0.1"}, {"REDIS_PORT", std::to_string(redis.port())}}, role,
        interval);
}

json::object redis_status(HttpClient& http) {
    return http.get("/").json().at("redis").as_object();
}

SeqStream::SeqStream(unsigned short port) : sse("127.0.0.1", port) {
    if (sse.open_get("/streaming/subscribe/sse?channels=" + kRedisTestChannel).status != 200)
        throw std::runtime_error("cannot subscribe to " + kRedisTestChannel);
}

std::string seq_gaps(const std::vector<int64_t>& seqs) {
    std::string problems;
    for (std::size_t i = 1; i < seqs.size(); ++i) {
        if (seqs[i] != seqs[i - 1] + 1)
            problems +=
                "seq " + std::to_string(seqs[i - 1]) + " then " + std::to_string(seqs[i]) + "\n";
    }
    return problems;
}

}  // namespace tickerd::testing
