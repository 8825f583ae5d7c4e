#include "session.hpp"

#include "answer.hpp"

#include <algorithm>

namespace yfinance {

using tickerd::sdk::Outcome;

namespace {

// A crumb is a short token; anything else (an HTML consent page, an error text) is not one.
bool looks_like_crumb(std::string_view text) {
    return !text.empty() && text.size() <= 64 && std::none_of(text.begin(), text.end(), [](char c) {
        return c == '<' || c == '{' || c == ' ' || c == '\n' || c == '\r';
    });
}

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.remove_suffix(1);
    return text;
}

Outcome handshake_failure(tickerd_status status, const std::string& why, int http_status = 0) {
    auto outcome = Outcome::error(status, "yfinance: crumb handshake: " + why);
    outcome.http_status = http_status;
    return outcome;
}

}  // namespace

std::string cookies_from(const tickerd::sdk::HttpResponse& response) {
    std::string cookies;
    for (auto value : response.header_values("Set-Cookie")) {
        auto pair = value.substr(0, value.find(';'));
        if (pair.find('=') == std::string_view::npos) continue;
        if (!cookies.empty()) cookies += "; ";
        cookies += pair;
    }
    return cookies;
}

Session::Session(std::string cookie_url, std::string crumb_url, int32_t timeout_ms)
    : cookie_url_(std::move(cookie_url)),
      crumb_url_(std::move(crumb_url)),
      timeout_ms_(timeout_ms) {}

std::variant<Credentials, Outcome> Session::credentials(const tickerd::sdk::Call& call) {
    {
        std::lock_guard lock(mutex_);
        if (held_) return *held_;
    }
    // Two fetches may shake hands at once; both results are valid and the last one is kept.
    auto fresh = handshake(call);
    if (auto* credentials = std::get_if<Credentials>(&fresh)) {
        std::lock_guard lock(mutex_);
        held_ = *credentials;
    }
    return fresh;
}

void Session::forget(const Credentials& stale) {
    std::lock_guard lock(mutex_);
    if (held_ && held_->crumb == stale.crumb && held_->cookie == stale.cookie) held_.reset();
}

std::variant<Credentials, Outcome> Session::handshake(const tickerd::sdk::Call& call) const {
    tickerd::sdk::HttpRequest request;
    request.url = cookie_url_;
    request.timeout_ms = timeout_ms_;
    auto consent = call.http(request);
    if (!consent.ok()) return handshake_failure(consent.outcome, consent.error);
    Credentials credentials;
    credentials.cookie = cookies_from(consent);  // its status does not matter (404)
    if (credentials.cookie.empty()) {
        return handshake_failure(TICKERD_E_TRANSIENT, "no cookie from " + cookie_url_,
                                 consent.status);
    }

    request.url = crumb_url_;
    request.headers = {{"Cookie", credentials.cookie}};
    auto crumb = call.http(request);
    if (!crumb.ok()) return handshake_failure(crumb.outcome, crumb.error);
    if (crumb.status != 200) {
        auto answer = vendorkit::classify_http_status(crumb.status, crumb.header("Retry-After"));
        auto outcome = handshake_failure(answer.status, answer.message, crumb.status);
        outcome.retry_after_ms = answer.retry_after_ms;
        return outcome;
    }
    auto token = trimmed(crumb.body);
    if (!looks_like_crumb(token)) {
        return handshake_failure(TICKERD_E_TRANSIENT, "the crumb answer is not a crumb", 200);
    }
    credentials.crumb = token;
    return credentials;
}

}  // namespace yfinance
