/*
 * tickerd plugin ABI — the whole boundary between the daemon and a vendor plugin.
 *
 * Plain C on purpose: only fixed-width integers, pointers and {ptr,len} strings cross it, so a
 * plugin built with another compiler or standard library still works, and nothing can throw
 * across it. Rules for growing it are in sdk/README.md; in short, every struct starts with its
 * own size and new fields are only ever appended.
 */
#ifndef TICKERD_ABI_H
#define TICKERD_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TICKERD_ABI_MAJOR 1
#define TICKERD_ABI_MINOR 2
#define TICKERD_ABI_VERSION ((uint32_t)((TICKERD_ABI_MAJOR << 16) | TICKERD_ABI_MINOR))
#define TICKERD_ABI_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define TICKERD_ABI_VERSION_MINOR(v) ((uint32_t)(v)&0xffffu)

/* The one symbol a plugin exports. */
#define TICKERD_PLUGIN_ENTRY_SYMBOL "tickerd_plugin_entry"

/* Result of a plugin call. 0 is success; the scheduler owns what each error class means. */
typedef int32_t tickerd_status;
#define TICKERD_OK 0
#define TICKERD_E_TRANSIENT 1    /* network trouble, timeout, 5xx: retry later            */
#define TICKERD_E_RATE_LIMITED 2 /* vendor quota hit: bench this vendor until retry_after  */
#define TICKERD_E_NOT_FOUND 3    /* unknown symbol at this vendor: try the next vendor     */
#define TICKERD_E_UNSUPPORTED 4  /* data type not offered by this vendor                   */
#define TICKERD_E_AUTH 5         /* missing or rejected credentials: do not retry here     */
#define TICKERD_E_PERMANENT 6    /* anything else that retrying will not fix               */

/* Log levels for tickerd_host_api.log. */
#define TICKERD_LOG_DEBUG 0
#define TICKERD_LOG_INFO 1
#define TICKERD_LOG_WARNING 2
#define TICKERD_LOG_ERROR 3

/* Descriptor flags. A host ignores a flag it does not know. */
#define TICKERD_PLUGIN_THREADSAFE 1u /* fetch may run concurrently on one instance */
/* ABI 1.2: the data is made up (a mock, a replay, a simulator). The host runs such a plugin
 * only where the config names it, never by default or as a fallback, and marks every message
 * it produces "metadata": {"simulated": true}. */
#define TICKERD_PLUGIN_SIMULATED 2u

/* A string borrowed for the duration of one call; not NUL-terminated. */
typedef struct tickerd_str {
    const char* ptr;
    size_t len;
} tickerd_str;

/* One fetch: what to get. Owned by the host, valid until fetch returns. */
typedef struct tickerd_request {
    uint32_t struct_size;
    tickerd_str data_type; /* "market_data", "news", "fundamentals", "analytics", "insider_data" */
    tickerd_str symbol;    /* upper-case, validated by the host */
    int64_t deadline_unix_ms; /* the host stops waiting at this time; give up by then */
    void* host_call;          /* opaque; pass to is_cancelled / set_result_json */
} tickerd_request;

/* Where a fetch puts its outcome. Owned by the host and zeroed (but struct_size) before
 * every call; the plugin fills it and returns the same status it stores here. */
typedef struct tickerd_result {
    uint32_t struct_size;
    tickerd_status status;
    int64_t retry_after_ms; /* for TICKERD_E_RATE_LIMITED; 0 = host default */
    int32_t http_status;    /* the vendor's HTTP status when there was one, else 0 */
    char message[256];      /* NUL-terminated error detail for logs and telemetry */
} tickerd_result;

/* One HTTP header, borrowed for the duration of a call. */
typedef struct tickerd_http_header {
    tickerd_str name;
    tickerd_str value;
} tickerd_http_header;

/* An HTTP request made through the host (ABI 1.1). Owned by the plugin. */
typedef struct tickerd_http_request {
    uint32_t struct_size;
    tickerd_str method; /* "GET" when empty */
    tickerd_str url;    /* http:// or https:// */
    const tickerd_http_header* headers;
    uint32_t header_count;
    tickerd_str body;           /* sent when non-empty */
    int32_t timeout_ms;         /* whole request; 0 = until the fetch's deadline */
    int32_t connect_timeout_ms; /* 0 = host default */
} tickerd_http_request;

/* What came back. Filled by the host; the strings are host-owned and stay valid until the
 * fetch that made the request returns. */
typedef struct tickerd_http_response {
    uint32_t struct_size;
    /* TICKERD_OK when a response arrived, whatever its status code. Otherwise why not:
     * TICKERD_E_TRANSIENT (timeout, connection refused or reset, cancelled, truncated body),
     * TICKERD_E_PERMANENT (bad URL or request, response over the host's size limit). */
    tickerd_status outcome;
    int32_t status_code;
    tickerd_str body;    /* decoded (gzip/deflate undone) */
    tickerd_str headers; /* the final response's header block, "Name: value\r\n" lines */
    char error[256];     /* NUL-terminated, when outcome is not TICKERD_OK */
} tickerd_http_response;

/* Services the host offers to plugins. Append-only: a plugin checks struct_size before
 * using a member added after ABI 1.0 (see TICKERD_HOST_HAS). */
typedef struct tickerd_host_api {
    uint32_t struct_size;
    uint32_t abi_version;
    void* host;
    /* Writes one line to the daemon log, prefixed with the instance name. Thread-safe. */
    void (*log)(void* host, int32_t level, tickerd_str message);
    /* Wall clock in Unix milliseconds (fakeable by tests). */
    int64_t (*now_unix_ms)(void* host);
    /* Non-zero once the host has stopped waiting for this call (timeout or shutdown); a
     * long-running fetch polls it and returns early. */
    int32_t (*is_cancelled)(void* host_call);
    /* Hands the host the JSON object that becomes StreamMessage.data. The host copies it
     * before returning, so the plugin may free its buffer right after. Call at most once. */
    void (*set_result_json)(void* host_call, tickerd_str json);
    /* ABI 1.1: performs one HTTP request; blocks the calling fetch until it completes, times
     * out or the fetch is cancelled. Connections are reused, TLS is verified, gzip is
     * accepted and the standard proxy variables are honoured. Returns response->outcome. */
    tickerd_status (*http)(void* host_call, const tickerd_http_request* request,
                           tickerd_http_response* response);
} tickerd_host_api;

#define TICKERD_HOST_HAS(api, member)                                                    \
    ((api)->struct_size >= offsetof(tickerd_host_api, member) + sizeof((api)->member) && \
     (api)->member != NULL)

/* What a plugin is. Static storage in the plugin, returned by the entry function. */
typedef struct tickerd_plugin {
    uint32_t struct_size;
    uint32_t abi_version; /* TICKERD_ABI_VERSION the plugin was built against */
    const char* name;     /* [a-z0-9_]+, used as the plugin name in config */
    const char* version;
    const char* description;
    int32_t default_priority; /* lower is tried first */
    uint32_t flags;           /* TICKERD_PLUGIN_* */
    const char* const* data_types;
    uint32_t data_type_count;
    /* Makes one configured instance. settings_json is the instance's "settings" object.
     * On failure writes a NUL-terminated reason into error (at most error_size bytes). */
    tickerd_status (*create)(const tickerd_host_api* host, tickerd_str instance_name,
                             tickerd_str settings_json, void** instance, char* error,
                             size_t error_size);
    void (*destroy)(void* instance);
    tickerd_status (*fetch)(void* instance, const tickerd_request* request, tickerd_result* result);
} tickerd_plugin;

/* The exported entry point. The host passes its ABI version; the plugin returns its
 * descriptor (or NULL if it cannot work with that host). */
typedef const tickerd_plugin* (*tickerd_plugin_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* TICKERD_ABI_H */
