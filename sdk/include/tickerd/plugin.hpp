// Header-only C++ layer over abi.h: write a class, declare it, and the C boundary is done.
//
//   class Echo {
//   public:
//       Echo(const tickerd::sdk::Host& host, std::string_view name, std::string_view settings);
//       tickerd::sdk::Outcome fetch(const tickerd::sdk::Call& call);
//   };
//   TICKERD_DECLARE_PLUGIN(Echo, "echo", "1.0.0", "Echoes the symbol", 50,
//                          TICKERD_PLUGIN_THREADSAFE, "market_data")
//
// The constructor may throw (the message becomes the refusal reason in the daemon log);
// fetch may throw too (reported as a permanent error). Nothing escapes into the host.
//
// The flags are abi.h's TICKERD_PLUGIN_*, or-ed: TICKERD_PLUGIN_THREADSAFE when fetch may run
// concurrently on one instance; TICKERD_PLUGIN_SIMULATED (ABI 1.2) when the data is made up
// (the daemon then runs the plugin only where its config names it, and marks its messages
// "simulated"), e.g. TICKERD_PLUGIN_THREADSAFE | TICKERD_PLUGIN_SIMULATED.
#ifndef TICKERD_PLUGIN_HPP
#define TICKERD_PLUGIN_HPP

#include <tickerd/abi.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickerd::sdk {

inline std::string_view view(tickerd_str s) {
    return {s.ptr ? s.ptr : "", s.len};
}
inline tickerd_str borrow(std::string_view s) {
    return {s.data(), s.size()};
}

// The services the daemon offers, wrapped for C++.
class Host {
  public:
    explicit Host(const tickerd_host_api* api) : api_(api) {}

    void log(int32_t level, std::string_view message) const {
        api_->log(api_->host, level, borrow(message));
    }
    void debug(std::string_view m) const { log(TICKERD_LOG_DEBUG, m); }
    void info(std::string_view m) const { log(TICKERD_LOG_INFO, m); }
    void warning(std::string_view m) const { log(TICKERD_LOG_WARNING, m); }
    void error(std::string_view m) const { log(TICKERD_LOG_ERROR, m); }
    int64_t now_unix_ms() const { return api_->now_unix_ms(api_->host); }
    const tickerd_host_api* api() const { return api_; }

  private:
    const tickerd_host_api* api_;
};

// An HTTP request made through the host (ABI 1.1).
struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    int32_t timeout_ms = 0;  // 0 = until the fetch's deadline
    int32_t connect_timeout_ms = 0;
};

// The answer. `outcome` is TICKERD_OK when a response arrived (look at `status` for the HTTP
// code); otherwise a transient or permanent failure with `error` saying why. The views
// point into host memory that lives until the fetch returns.
struct HttpResponse {
    tickerd_status outcome = TICKERD_E_PERMANENT;
    int32_t status = 0;
    std::string_view body;
    std::string_view headers;
    std::string error;

    bool ok() const { return outcome == TICKERD_OK; }
    // The first header with this name (case-insensitive), or "".
    std::string_view header(std::string_view name) const {
        std::string_view found;
        for_each_header(name, [&](std::string_view value) {
            found = value;
            return false;
        });
        return found;
    }
    // Every header with this name, in order (Set-Cookie comes several times).
    std::vector<std::string_view> header_values(std::string_view name) const {
        std::vector<std::string_view> values;
        for_each_header(name, [&](std::string_view value) {
            values.push_back(value);
            return true;
        });
        return values;
    }

  private:
    static char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

    // Calls `visit(value)` for each header named `name` until it returns false.
    template <class Visit>
    void for_each_header(std::string_view name, Visit visit) const {
        std::string_view rest = headers;
        while (!rest.empty()) {
            auto end = rest.find("\r\n");
            std::string_view line = rest.substr(0, end);
            rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
            auto colon = line.find(':');
            if (colon == std::string_view::npos || colon != name.size()) continue;
            bool same = true;
            for (size_t i = 0; i < colon && same; ++i)
                same = lower(line[i]) == lower(name[i]);
            if (!same) continue;
            auto value = line.substr(colon + 1);
            while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
                value.remove_prefix(1);
            if (!visit(value)) return;
        }
    }
};

// One fetch in progress.
class Call {
  public:
    Call(const tickerd_host_api* api, const tickerd_request* request)
        : api_(api), request_(request) {}

    std::string_view data_type() const { return view(request_->data_type); }
    std::string_view symbol() const { return view(request_->symbol); }
    int64_t deadline_unix_ms() const { return request_->deadline_unix_ms; }
    // True once the host has given up on this call; long work should stop early.
    bool cancelled() const { return api_->is_cancelled(request_->host_call) != 0; }

    // Whether this host offers HTTP (ABI 1.1 and later).
    bool has_http() const { return TICKERD_HOST_HAS(api_, http); }
    // Performs the request through the host. A host without HTTP answers permanent.
    HttpResponse http(const HttpRequest& request) const {
        HttpResponse response;
        if (!has_http()) {
            response.error = "this tickerd offers no HTTP service (needs ABI 1.1)";
            return response;
        }
        std::vector<tickerd_http_header> headers;
        headers.reserve(request.headers.size());
        for (const auto& [name, value] : request.headers)
            headers.push_back({borrow(name), borrow(value)});
        tickerd_http_request c_request{sizeof(tickerd_http_request),
                                       borrow(request.method),
                                       borrow(request.url),
                                       headers.data(),
                                       static_cast<uint32_t>(headers.size()),
                                       borrow(request.body),
                                       request.timeout_ms,
                                       request.connect_timeout_ms};
        tickerd_http_response c_response{};
        c_response.struct_size = sizeof(tickerd_http_response);
        response.outcome = api_->http(request_->host_call, &c_request, &c_response);
        response.status = c_response.status_code;
        response.body = view(c_response.body);
        response.headers = view(c_response.headers);
        c_response.error[sizeof c_response.error - 1] = '\0';
        response.error = c_response.error;
        return response;
    }

  private:
    const tickerd_host_api* api_;
    const tickerd_request* request_;
};

// What a fetch produced: a JSON object on success, a classified error otherwise.
struct Outcome {
    tickerd_status status = TICKERD_OK;
    std::string json;     // the `data` object on success
    std::string message;  // error detail
    int64_t retry_after_ms = 0;
    int32_t http_status = 0;

    static Outcome ok(std::string json) { return {TICKERD_OK, std::move(json), {}, 0, 0}; }
    static Outcome transient(std::string why) { return error(TICKERD_E_TRANSIENT, std::move(why)); }
    static Outcome rate_limited(int64_t retry_after_ms, std::string why) {
        Outcome o = error(TICKERD_E_RATE_LIMITED, std::move(why));
        o.retry_after_ms = retry_after_ms;
        return o;
    }
    static Outcome not_found(std::string why) { return error(TICKERD_E_NOT_FOUND, std::move(why)); }
    static Outcome unsupported(std::string why) {
        return error(TICKERD_E_UNSUPPORTED, std::move(why));
    }
    static Outcome auth(std::string why) { return error(TICKERD_E_AUTH, std::move(why)); }
    static Outcome permanent(std::string why) { return error(TICKERD_E_PERMANENT, std::move(why)); }
    static Outcome error(tickerd_status status, std::string why) {
        return {status, {}, std::move(why), 0, 0};
    }
};

namespace detail {

inline void copy_message(char* out, size_t size, std::string_view text) {
    if (!out || size == 0) return;
    const size_t n = text.size() < size - 1 ? text.size() : size - 1;
    std::memcpy(out, text.data(), n);
    out[n] = '\0';
}

template <class Impl>
struct Instance {
    const tickerd_host_api* api;
    Impl impl;
};

// C trampolines: every path out of the plugin is a status code, never an exception.
template <class Impl>
struct Trampolines {
    static tickerd_status create(const tickerd_host_api* api, tickerd_str name,
                                 tickerd_str settings, void** out, char* error, size_t error_size) {
        try {
            *out = new Instance<Impl>{api, Impl(Host(api), view(name), view(settings))};
            return TICKERD_OK;
        } catch (const std::exception& e) {
            copy_message(error, error_size, e.what());
        } catch (...) {
            copy_message(error, error_size, "unknown exception in plugin constructor");
        }
        return TICKERD_E_PERMANENT;
    }

    static void destroy(void* instance) noexcept {
        try {
            delete static_cast<Instance<Impl>*>(instance);
        } catch (...) {
        }
    }

    static tickerd_status fetch(void* instance, const tickerd_request* request,
                                tickerd_result* result) noexcept {
        auto* self = static_cast<Instance<Impl>*>(instance);
        Outcome outcome;
        try {
            outcome = self->impl.fetch(Call(self->api, request));
        } catch (const std::exception& e) {
            outcome = Outcome::permanent(std::string("plugin threw: ") + e.what());
        } catch (...) {
            outcome = Outcome::permanent("plugin threw a non-standard exception");
        }
        result->status = outcome.status;
        result->retry_after_ms = outcome.retry_after_ms;
        result->http_status = outcome.http_status;
        copy_message(result->message, sizeof result->message, outcome.message);
        if (outcome.status == TICKERD_OK) {
            self->api->set_result_json(request->host_call, borrow(outcome.json));
        }
        return outcome.status;
    }
};

}  // namespace detail
}  // namespace tickerd::sdk

#define TICKERD_EXPORT extern "C" __attribute__((visibility("default")))

// Declares the descriptor and the exported entry point for plugin class Impl.
#define TICKERD_DECLARE_PLUGIN(Impl, name_, version_, description_, priority_, flags_, ...)   \
    namespace {                                                                               \
    const char* const tickerd_data_types_[] = {__VA_ARGS__};                                  \
    const tickerd_plugin tickerd_descriptor_ = {                                              \
        sizeof(tickerd_plugin),                                                               \
        TICKERD_ABI_VERSION,                                                                  \
        name_,                                                                                \
        version_,                                                                             \
        description_,                                                                         \
        priority_,                                                                            \
        flags_,                                                                               \
        tickerd_data_types_,                                                                  \
        sizeof(tickerd_data_types_) / sizeof(tickerd_data_types_[0]),                         \
        &::tickerd::sdk::detail::Trampolines<Impl>::create,                                   \
        &::tickerd::sdk::detail::Trampolines<Impl>::destroy,                                  \
        &::tickerd::sdk::detail::Trampolines<Impl>::fetch,                                    \
    };                                                                                        \
    }                                                                                         \
    TICKERD_EXPORT const tickerd_plugin* tickerd_plugin_entry(uint32_t host_abi_version) {    \
        if (TICKERD_ABI_VERSION_MAJOR(host_abi_version) != TICKERD_ABI_MAJOR) return nullptr; \
        return &tickerd_descriptor_;                                                          \
    }

#endif  // TICKERD_PLUGIN_HPP
