// Access control from outside (CONTRACT.md §6): API keys and JWTs with their scopes against
// every route family, 401 and 403 as a client sees them, tokens minted for browsers and
// used as ?access_token= on SSE and WebSocket, channel limits, expiry (a WebSocket closed
// 4001, an SSE stream ended), keys reloaded on SIGHUP, tokens forged, expired, for another
// audience or signed the wrong way, and protected mode.
#define BOOST_TEST_MODULE daemon_access
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <jwt.h>

#include <csignal>
#include <cstdlib>
#include <limits>
#include <memory>

using namespace tickerd::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string kAapl = "stream:market_data:AAPL";
const std::string kMsft = "stream:market_data:MSFT";
const std::string kSecret = "an HS256 secret that is long enough for the test";
const std::string kAdminKey = "admin-key-0123456789abcdef";
const std::string kReadKey = "read-key-0123456789abcdef";
const std::string kPublishKey = "publish-key-0123456789abcdef";

Headers bearer(const std::string& credential) {
    return {{"Authorization", "Bearer " + credential}};
}

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A token signed as an application backend would sign one.
std::string sign(const json::object& claims, jwt_alg_t alg, const std::string& key) {
    jwt_t* jwt = nullptr;
    BOOST_REQUIRE(jwt_new(&jwt) == 0);
    auto text = json::serialize(claims);
    BOOST_REQUIRE(jwt_add_grants_json(jwt, text.c_str()) == 0);
    const auto* bytes = key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data());
    BOOST_REQUIRE(jwt_set_alg(jwt, alg, bytes, static_cast<int>(key.size())) == 0);
    char* encoded = jwt_encode_str(jwt);
    std::string token = encoded ? encoded : "";
    std::free(encoded);
    jwt_free(jwt);
    return token;
}

json::object claims(std::string scope, int64_t ttl = 60, std::string aud = "tickerd") {
    return {{"sub", "app"}, {"aud", aud}, {"exp", unix_now() + ttl}, {"scope", scope}};
}

// A daemon with auth on: three keys (one in a key file), an HS256 secret, AAPL and MSFT
// polled every 0.2 s by the mock.
struct AuthDaemon {
    TempDir files{"tickerd-access"};
    std::filesystem::path key_file = files.write("read.key", kReadKey + "\n");
    std::filesystem::path secret_file = files.write("jwt.secret", kSecret + "\n");
    std::unique_ptr<DaemonProcess> daemon;

    explicit AuthDaemon(json::object extra = {}) {
        json::object config{
            {"vendors", {{{"name", "mock"}, {"plugin", "mock"}}}},
            {"instruments",
             {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}},
              {{"symbol", "MSFT"}, {"data_types", {"market_data"}}}}},
            {"cadences", {{"market_data", {{"interval_seconds", 0.2}}}}},
            {"auth",
             {{"enabled", true},
              {"keys",
               {{{"name", "ops"}, {"sha256", sha256_hex(kAdminKey)}, {"scopes", {"admin"}}},
                {{"name", "ui"}, {"key_file", key_file.string()}, {"scopes", {"read"}}},
                {{"name", "feeder"},
                 {"sha256", sha256_hex(kPublishKey)},
                 {"scopes", {"publish"}}}}},
              {"jwt", {{"hs256_secret_file", secret_file.string()}, {"token_ttl_seconds", 600}}}}}};
        for (auto& [key, value] : extra)
            config[key] = value;
        DaemonOptions options;
        options.config_file = write_config(files, config);
        options.env = {{"AUTO_START_WORKERS", "true"}};
        daemon = std::make_unique<DaemonProcess>(options);
        daemon->wait_ready();
    }
    HttpClient http() const { return HttpClient("127.0.0.1", daemon->port()); }
};

AuthDaemon& shared() {
    static AuthDaemon instance;
    return instance;
}

HttpResponse call(const std::string& method, const std::string& target,
                  const std::string& credential, const std::string& body = {}) {
    auto http = shared().http();
    return http.request(method, target, body, "application/json",
                        credential.empty() ? Headers{} : bearer(credential));
}

std::string mint(const std::string& credential, const json::object& request) {
    auto response = call("POST", "/streaming/tokens", credential, json::serialize(request));
    BOOST_REQUIRE_MESSAGE(response.status == 200u, response.body);
    return std::string(response.json().at("token").as_string());
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_scope_against_every_route_family) {
    struct Case {
        std::string method, target, body;
        unsigned admin, read, publish;
    };
    const std::string instrument = R"({"symbol":"TSLA","data_types":["market_data"]})";
    const std::vector<Case> cases = {
        {"GET", "/", "", 200, 200, 403},
        {"GET", "/streaming/channels", "", 200, 200, 403},
        {"GET", "/streaming/latest/" + kAapl, "", 200, 200, 403},
        {"GET", "/streaming/config/instruments", "", 200, 200, 403},
        {"GET", "/streaming/config/workers", "", 200, 200, 403},
        {"GET", "/streaming/config/telemetry/market_data?limit=1", "", 200, 200, 403},
        {"GET", "/streaming/config/vendors", "", 200, 200, 403},
        {"POST", "/streaming/config/instruments", instrument, 201, 403, 403},
        {"PUT", "/streaming/config/cadences/news", R"({"interval_seconds":300})", 200, 403, 403},
        {"PUT", "/streaming/config/config", R"({"max_retries":3})", 200, 403, 403},
        {"POST", "/streaming/config/workers/worker_news/start", "", 204, 403, 403},
        {"POST", "/streaming/config/vendors/reload", "", 200, 403, 403},
        {"DELETE", "/streaming/config/instruments/TSLA", "", 204, 403, 403},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.method << " " << c.target) {
            // The read and publish keys first: what they are refused must not have happened.
            BOOST_TEST(call(c.method, c.target, kReadKey, c.body).status == c.read);
            BOOST_TEST(call(c.method, c.target, kPublishKey, c.body).status == c.publish);
            auto admin = call(c.method, c.target, kAdminKey, c.body);
            BOOST_TEST(admin.status == c.admin, admin.body);
        }
    }
    auto refused = call("POST", "/streaming/config/workers/stop-all", kReadKey);
    BOOST_TEST(refused.status == 403u);
    BOOST_TEST(refused.json().at("detail").as_string() ==
               "this credential lacks the 'admin' scope");
    // The open route answers anyone.
    BOOST_TEST(call("GET", "/livez", "").status == 200u);
    BOOST_TEST(call("GET", "/readyz", "").status != 401u);
}

BOOST_AUTO_TEST_CASE(missing_and_unknown_credentials_are_401_with_a_challenge) {
    auto missing = call("GET", "/streaming/channels", "");
    BOOST_TEST(missing.status == 401u);
    BOOST_TEST(missing.header("www-authenticate") == "Bearer realm=\"tickerd\"");
    auto unknown = call("GET", "/streaming/channels", "not-a-key-of-ours-at-all");
    BOOST_TEST(unknown.status == 401u);
    BOOST_TEST(unknown.header("www-authenticate") ==
               "Bearer realm=\"tickerd\", error=\"invalid_token\"");
    BOOST_TEST(unknown.json().at("detail").as_string() == "unknown API key");
    // The scheme's name is case-insensitive (RFC 7235); anything else is no credential.
    auto http = shared().http();
    BOOST_TEST(
        http.request("GET", "/", {}, "application/json", {{"Authorization", "bearer " + kReadKey}})
            .status == 200u);
    BOOST_TEST(
        http.request("GET", "/", {}, "application/json", {{"Authorization", "Basic " + kReadKey}})
            .status == 401u);
    // A key is never accepted in the query of a REST route, where URLs end up in logs.
    BOOST_TEST(call("GET", "/streaming/channels?access_token=" + kReadKey, "").status == 401u);
}

BOOST_AUTO_TEST_CASE(tokens_are_minted_within_what_their_holder_may_do) {
    auto response = call("POST", "/streaming/tokens", kReadKey, R"({"ttl_seconds": 60})");
    BOOST_REQUIRE_MESSAGE(response.status == 200u, response.body);
    auto token = std::string(response.json().at("token").as_string());
    auto expires = parse_iso8601(response.json().at("expires_at").as_string());
    BOOST_REQUIRE(expires);
    auto left = *expires - std::chrono::system_clock::now();
    BOOST_TEST((left > 50s && left <= 61s));
    BOOST_TEST(call("GET", "/streaming/channels", token).status == 200u);
    BOOST_TEST(call("POST", "/streaming/config/workers/stop-all", token).status == 403u);

    // Never more than the holder has: scopes, channels, lifetime, subject.
    BOOST_TEST(call("POST", "/streaming/tokens", kReadKey, R"({"scopes":["admin"]})").status ==
               403u);
    BOOST_TEST(call("POST", "/streaming/tokens", kReadKey, R"({"sub":"someone-else"})").status ==
               403u);
    BOOST_TEST(call("POST", "/streaming/tokens", kReadKey, R"({"ttl_seconds": 100000})").status ==
               422u);
    auto narrow = mint(kReadKey, {{"channels", {"stream:market_data:A*"}}});
    BOOST_TEST(call("POST", "/streaming/tokens", narrow, R"({"channels":["stream:*"]})").status ==
               403u);
    BOOST_TEST(
        call("POST", "/streaming/tokens", narrow, R"({"channels":["stream:market_data:AAPL"]})")
            .status == 200u);
    BOOST_TEST(call("POST", "/streaming/tokens", kAdminKey, R"({"sub":"dashboard"})").status ==
               200u);
    BOOST_TEST(call("POST", "/streaming/tokens", "", "{}").status == 401u);
    BOOST_TEST(call("POST", "/streaming/tokens", kReadKey, R"({"colour":1})").status == 422u);
}

BOOST_AUTO_TEST_CASE(access_token_opens_sse_and_websocket_limited_to_its_channels) {
    auto port = shared().daemon->port();
    auto token = mint(kReadKey, {{"channels", {kAapl}}});

    SseClient sse("127.0.0.1", port);
    auto opened =
        sse.open_get("/streaming/subscribe/sse?channels=" + kAapl + "&access_token=" + token);
    BOOST_REQUIRE_MESSAGE(opened.status == 200u, opened.error_body);
    BOOST_TEST(sse.next_data_event(10s).has_value());
    SseClient refused("127.0.0.1", port);
    auto other =
        refused.open_get("/streaming/subscribe/sse?channels=" + kMsft + "&access_token=" + token);
    BOOST_TEST(other.status == 403u);
    BOOST_TEST(other.error_body.find(kMsft) != std::string::npos, other.error_body);
    SseClient without("127.0.0.1", port);
    BOOST_TEST(without.open_get("/streaming/subscribe/sse?channels=" + kAapl).status == 401u);
    BOOST_TEST(call("GET", "/streaming/latest/" + kMsft, token).status == 403u);

    WsClient ws("127.0.0.1", port);
    ws.connect("/streaming/ws?channels=" + kAapl + "&access_token=" + token);
    BOOST_TEST(ws.next_of_type("data", 10s).has_value());
    ws.send_json({{"action", "subscribe"}, {"channels", {kMsft}}, {"id", 7}});
    auto error = ws.next_of_type("error", 10s);
    BOOST_REQUIRE(error);
    BOOST_TEST(error->at("id").as_int64() == 7);
    BOOST_TEST(std::string(error->at("detail").as_string()).find(kMsft) != std::string::npos);
    WsClient anonymous("127.0.0.1", port);
    BOOST_CHECK_THROW(anonymous.connect("/streaming/ws?channels=" + kAapl), std::exception);
    BOOST_TEST(anonymous.refused_status() == 401u);
}

BOOST_AUTO_TEST_CASE(an_expired_token_closes_the_websocket_4001_and_ends_the_sse_stream) {
    auto port = shared().daemon->port();
    auto token = mint(kReadKey, {{"ttl_seconds", 2}});
    WsClient ws("127.0.0.1", port);
    ws.connect("/streaming/ws?channels=" + kAapl + "&access_token=" + token);
    SseClient sse("127.0.0.1", port);
    BOOST_REQUIRE(
        sse.open_get("/streaming/subscribe/sse?channels=" + kAapl + "&access_token=" + token)
            .status == 200u);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!ws.closed() && std::chrono::steady_clock::now() < deadline)
        ws.next_text(200ms);
    BOOST_TEST(ws.closed());
    BOOST_TEST(ws.close_code().value_or(0) == 4001);
    BOOST_TEST(ws.close_reason() == "token expired");
    while (!sse.ended() && std::chrono::steady_clock::now() < deadline)
        sse.next_event(200ms);
    BOOST_TEST(sse.ended());
    // And the token is refused from then on.
    auto expired = call("GET", "/streaming/channels", token);
    BOOST_TEST(expired.status == 401u);
    BOOST_TEST(expired.json().at("detail").as_string() == "the token has expired");
}

// An exp past the year 2262, where the clock's nanoseconds overflow (a backend's "never"), was
// read as a time long past: the stream closed at once, minting failed (found by
// tests/fuzz/credentials_fuzz.cpp).
BOOST_AUTO_TEST_CASE(a_token_valid_past_what_the_clock_holds_streams_and_mints) {
    auto port = shared().daemon->port();
    for (int64_t exp : {int64_t{17960137994}, std::numeric_limits<int64_t>::max()}) {
        auto far = claims("read");
        far["exp"] = exp;
        auto token = sign(far, JWT_ALG_HS256, kSecret);
        WsClient ws("127.0.0.1", port);
        ws.connect("/streaming/ws?channels=" + kAapl + "&access_token=" + token);
        BOOST_TEST(ws.next_of_type("data", 10s).has_value(), exp);
        BOOST_TEST(ws.next_of_type("data", 10s).has_value(), exp);
        BOOST_TEST(!ws.closed(), exp);
        auto minted = call("POST", "/streaming/tokens", token, R"({"ttl_seconds":60})");
        BOOST_TEST(minted.status == 200u, minted.body);
    }
}

BOOST_AUTO_TEST_CASE(forged_expired_foreign_and_confused_tokens_are_refused) {
    auto detail_of_call = [](const std::string& token) {
        auto response = call("GET", "/streaming/channels", token);
        BOOST_TEST(response.status == 401u, token);
        return std::string(response.json().at("detail").as_string());
    };
    auto good = sign(claims("read"), JWT_ALG_HS256, kSecret);
    BOOST_TEST(call("GET", "/streaming/channels", good).status == 200u);
    // One character of the signature changed.
    auto forged = good;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    BOOST_TEST(detail_of_call(forged) == "the token's signature does not verify");
    BOOST_TEST(detail_of_call(sign(claims("read"), JWT_ALG_HS256, kSecret + "x")) ==
               "the token's signature does not verify");
    BOOST_TEST(detail_of_call(sign(claims("read", -5), JWT_ALG_HS256, kSecret)) ==
               "the token has expired");
    BOOST_TEST(detail_of_call(sign(claims("read", 60, "another-service"), JWT_ALG_HS256, kSecret))
                   .find("aud") != std::string::npos);
    auto no_exp = claims("read");
    no_exp.erase("exp");
    BOOST_TEST(detail_of_call(sign(no_exp, JWT_ALG_HS256, kSecret)) == "the token has no exp");
    // alg "none" and algorithms nobody configured are refused before any verification.
    auto none = sign(claims("read"), JWT_ALG_NONE, "");
    BOOST_TEST(detail_of_call(none).find("not accepted") != std::string::npos);
    BOOST_TEST(detail_of_call(sign(claims("read"), JWT_ALG_HS512, kSecret)).find("not accepted") !=
               std::string::npos);
    // A token naming no scope it may use is a 403, not a 401: it is genuine.
    BOOST_TEST(call("GET", "/streaming/channels", sign(claims("publish"), JWT_ALG_HS256, kSecret))
                   .status == 403u);
}

BOOST_AUTO_TEST_CASE(rs256_tokens_verify_with_the_public_key_and_never_as_hmac) {
    TempDir keys("tickerd-access-rsa");
    auto private_key = keys / "private.pem";
    auto public_key = keys / "public.pem";
    auto command = "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                   private_key.string() + " 2>/dev/null && openssl pkey -in " +
                   private_key.string() + " -pubout -out " + public_key.string();
    BOOST_REQUIRE(std::system(command.c_str()) == 0);
    AuthDaemon daemon(
        {{"auth", {{"enabled", true}, {"jwt", {{"public_key_file", public_key.string()}}}}}});
    auto http = daemon.http();
    auto get = [&](const std::string& token) {
        return http.request("GET", "/streaming/channels", {}, "application/json", bearer(token))
            .status;
    };
    BOOST_TEST(get(sign(claims("read"), JWT_ALG_RS256, read_file(private_key))) == 200u);
    // The classic confusion: HS256 with the public key's PEM as the HMAC secret.
    BOOST_TEST(get(sign(claims("read"), JWT_ALG_HS256, read_file(public_key))) == 401u);
    // No HS256 secret here: minting is not possible, and says why.
    auto token = sign(claims("read"), JWT_ALG_RS256, read_file(private_key));
    auto mint = http.request("POST", "/streaming/tokens", "{}", "application/json", bearer(token));
    BOOST_TEST(mint.status == 501u);
}

BOOST_AUTO_TEST_CASE(keys_reload_on_sighup) {
    AuthDaemon daemon;
    auto http = daemon.http();
    auto get = [&](const std::string& key) {
        return http.request("GET", "/", {}, "application/json", bearer(key)).status;
    };
    BOOST_TEST(get(kReadKey) == 200u);
    const std::string rotated = "rotated-key-0123456789abcdef";
    daemon.files.write("read.key", rotated);
    ::kill(daemon.daemon->pid(), SIGHUP);
    BOOST_TEST(wait_until([&] { return get(rotated) == 200u; }, 5s), daemon.daemon->log_tail());
    BOOST_TEST(get(kReadKey) == 401u);
    // A key file that cannot be read keeps the keys in force, and says so.
    std::filesystem::remove(daemon.key_file);
    ::kill(daemon.daemon->pid(), SIGHUP);
    BOOST_TEST(wait_until(
        [&] {
            return daemon.daemon->log().find("access settings are refused") != std::string::npos;
        },
        5s));
    BOOST_TEST(get(rotated) == 200u);
    // Keys are never written to the log.
    BOOST_TEST(daemon.daemon->log().find(rotated) == std::string::npos);
    BOOST_TEST(daemon.daemon->log().find(kReadKey) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(protected_mode_refuses_a_remote_listener_without_auth) {
    TempDir files("tickerd-access-protected");
    auto refused =
        run_daemon_command({"--listen", "0.0.0.0:0", "--state-dir", (files / "state").string()});
    BOOST_TEST(!refused.status.success());
    BOOST_TEST(refused.output.find("auth.allow_unauthenticated_remote") != std::string::npos,
               refused.output);

    DaemonOptions options;
    options.listen = "0.0.0.0:0";
    options.config_file = write_config(files, {{"auth", {{"allow_unauthenticated_remote", true}}}});
    DaemonProcess daemon(options);
    daemon.wait_ready();
    BOOST_TEST(daemon.log().find("without auth (auth.allow_unauthenticated_remote)") !=
               std::string::npos);
    // Off loopback there is no Host check: the names clients use are not known.
    HttpClient http("127.0.0.1", daemon.port());
    BOOST_TEST(http.request("GET", "/", {}, "application/json", {{"Host", "tickerd.lan"}}).status ==
               200u);
}

BOOST_AUTO_TEST_CASE(auth_on_without_any_key_is_refused_at_start) {
    TempDir files("tickerd-access-nokeys");
    auto config = write_config(files, {{"auth", {{"enabled", true}}}});
    auto result = run_daemon_command({"--config", config.string(), "--listen", "127.0.0.1:0",
                                      "--state-dir", (files / "state").string()});
    BOOST_TEST(!result.status.success());
    BOOST_TEST(result.output.find("nobody could get in") != std::string::npos, result.output);
}
