// libcurl easy handles, pooled: a handle keeps its connections (and DNS cache) alive, so a
// vendor polled every second talks over one kept-alive TLS connection instead of
// handshaking each time.
#include "webclient/webclient.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

namespace tickerd::webclient {

namespace {

void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// What one exchange accumulates; reached from libcurl's callbacks.
struct Exchange {
    Response& response;
    std::size_t max_bytes;
    const std::function<bool()>& cancelled;
    bool too_large = false;
    bool was_cancelled = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto& exchange = *static_cast<Exchange*>(user);
    std::size_t bytes = size * count;
    if (exchange.response.body.size() + bytes > exchange.max_bytes) {
        exchange.too_large = true;
        return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    exchange.response.body.append(data, bytes);
    return bytes;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto& exchange = *static_cast<Exchange*>(user);
    std::size_t bytes = size * count;
    std::string_view line(data, bytes);
    // A new status line starts a new response (after a redirect or a 100 Continue): keep
    // only the last one's headers.
    if (line.starts_with("HTTP/")) {
        exchange.response.headers.clear();
        return bytes;
    }
    if (line != "\r\n") exchange.response.headers.append(line);
    return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto& exchange = *static_cast<Exchange*>(user);
    if (exchange.cancelled && exchange.cancelled()) {
        exchange.was_cancelled = true;
        return 1;  // aborts the transfer
    }
    return 0;
}

Outcome classify(CURLcode code) {
    switch (code) {
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
        case CURLE_FILESIZE_EXCEEDED:
        case CURLE_TOO_MANY_REDIRECTS:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
            return Outcome::permanent;
        default:
            return Outcome::transient;
    }
}

}  // namespace

struct Client::Pool {
    std::mutex mutex;
    std::vector<CURL*> idle;

    CURL* take() {
        {
            std::lock_guard lock(mutex);
            if (!idle.empty()) {
                CURL* handle = idle.back();
                idle.pop_back();
                return handle;
            }
        }
        return curl_easy_init();
    }

    void give_back(CURL* handle, std::size_t max_idle) {
        curl_easy_reset(handle);  // forgets options, keeps connections and caches
        std::lock_guard lock(mutex);
        if (idle.size() < max_idle) {
            idle.push_back(handle);
            return;
        }
        curl_easy_cleanup(handle);
    }

    ~Pool() {
        for (CURL* handle : idle)
            curl_easy_cleanup(handle);
    }
};

Client::Client(Limits limits) : limits_(limits), pool_(std::make_unique<Pool>()) {
    init_curl_once();
}

Client::~Client() = default;

Counters Client::counters() const {
    return {requests_.load(), failures_.load(), bytes_received_.load()};
}

Response Client::perform(const Request& request, const std::function<bool()>& cancelled) {
    Response response;
    ++requests_;
    CURL* handle = pool_->take();
    if (handle == nullptr) {
        ++failures_;
        response.outcome = Outcome::transient;
        response.error = "cannot create an HTTP handle";
        return response;
    }
    Exchange exchange{response, limits_.max_response_bytes, cancelled};
    char error_detail[CURL_ERROR_SIZE] = {};
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers)
        headers = curl_slist_append(headers, (name + ": " + value).c_str());

    auto connect_timeout =
        request.connect_timeout.count() > 0 ? request.connect_timeout : limits_.connect_timeout;
    auto timeout = std::max(request.timeout, std::chrono::milliseconds(1));
    curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);         // threads: no SIGALRM for DNS timeouts
    curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl decodes
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(limits_.max_response_bytes));
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "tickerd/" TICKERD_VERSION);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &exchange);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &exchange);
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &exchange);
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_detail);
    const std::string method = request.method.empty() ? "GET" : request.method;
    if (!request.body.empty()) {
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
    }
    if (method == "HEAD") {
        curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
    } else if (method != "GET" || !request.body.empty()) {
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method.c_str());
    }

    CURLcode code = curl_easy_perform(handle);
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    pool_->give_back(handle, limits_.max_idle_handles);

    response.status = static_cast<int>(status);
    bytes_received_ += response.body.size();
    if (code == CURLE_OK) {
        response.outcome = Outcome::ok;
        return response;
    }
    ++failures_;
    if (exchange.too_large || code == CURLE_FILESIZE_EXCEEDED) {
        response.outcome = Outcome::permanent;
        response.error =
            "response larger than " + std::to_string(limits_.max_response_bytes) + " bytes";
    } else if (exchange.was_cancelled) {
        response.outcome = Outcome::transient;
        response.error = "cancelled";
    } else {
        response.outcome = classify(code);
        response.error = error_detail[0] ? error_detail : curl_easy_strerror(code);
    }
    response.body.clear();
    return response;
}

}  // namespace tickerd::webclient
