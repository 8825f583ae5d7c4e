/*
 * One small C plugin, compiled once per ABI test case with a different FIXTURE_* define, so
 * each .so breaks exactly one rule of the plugin boundary (or, for "good", none). Written in plain
 * C on purpose: the ABI must not need C++ on the plugin side.
 */
#include <tickerd/abi.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FIXTURE_NAME
#define FIXTURE_NAME "abi_good"
#endif
#ifndef FIXTURE_VERSION
#define FIXTURE_VERSION "0.0.1"
#endif
/* The descriptor flags; FIXTURE_SIMULATED declares made-up data, FIXTURE_THREADSAFE takes
 * max_concurrency calls at once. */
#ifdef FIXTURE_SIMULATED
#define FIXTURE_SIMULATED_FLAG TICKERD_PLUGIN_SIMULATED
#else
#define FIXTURE_SIMULATED_FLAG 0
#endif
#ifdef FIXTURE_THREADSAFE
#define FIXTURE_THREADSAFE_FLAG TICKERD_PLUGIN_THREADSAFE
#else
#define FIXTURE_THREADSAFE_FLAG 0
#endif
#define FIXTURE_FLAGS (FIXTURE_SIMULATED_FLAG | FIXTURE_THREADSAFE_FLAG)

#ifdef FIXTURE_BAD_TYPE
static const char* const data_types[] = {"market_data", "quotes"};
#else
static const char* const data_types[] = {"market_data", "news"};
#endif

typedef struct fixture_instance {
    const tickerd_host_api* host;
    char name[64];
} fixture_instance;

static fixture_instance the_instance;

static tickerd_status fixture_create(const tickerd_host_api* host, tickerd_str instance_name,
                                     tickerd_str settings_json, void** instance, char* error,
                                     size_t error_size) {
    (void)settings_json;
#ifdef FIXTURE_FAILING_CREATE
    (void)host;
    (void)instance_name;
    (void)instance;
    snprintf(error, error_size, "settings.api_key is required");
    return TICKERD_E_AUTH;
#else
    (void)error;
    (void)error_size;
    size_t len = instance_name.len < sizeof the_instance.name - 1 ? instance_name.len
                                                                  : sizeof the_instance.name - 1;
    memcpy(the_instance.name, instance_name.ptr, len);
    the_instance.name[len] = '\0';
    the_instance.host = host;
    *instance = &the_instance;
    return TICKERD_OK;
#endif
}

static void fixture_destroy(void* instance) {
    (void)instance;
}

#ifdef FIXTURE_UNRESOLVED
/* Never defined anywhere: loading with RTLD_NOW must fail cleanly. */
extern int tickerd_fixture_symbol_nobody_defines(void);
#endif

static tickerd_status fixture_fetch(void* instance, const tickerd_request* request,
                                    tickerd_result* result) {
    fixture_instance* self = (fixture_instance*)instance;
#ifdef FIXTURE_UNRESOLVED
    if (tickerd_fixture_symbol_nobody_defines()) return TICKERD_E_PERMANENT;
#endif
#ifdef FIXTURE_HANG
    /* Never returns and never looks at the cancel flag: blocked for good, as on a lost lock. */
    for (;;)
        sleep(3600);
#endif
#ifdef FIXTURE_SPIN
    /* Never returns and burns its CPU: an infinite loop. */
    for (volatile unsigned long spins = 0;; ++spins) {
    }
#endif
#ifdef FIXTURE_SEGV_AT
    /* Crashes on its Nth call (counted from its load): a null pointer written through. */
    static volatile int calls = 0;
    if (++calls == FIXTURE_SEGV_AT) {
        volatile int* nowhere = NULL;
        *nowhere = 1;
    }
#endif
#ifdef FIXTURE_ABORT
    abort(); /* a failed assertion */
#endif
#ifdef FIXTURE_BALLOON
    /* Allocates (and touches) without bound, until there is no more: then gives up as a
     * C++ plugin's std::bad_alloc would. Never run without a memory limit. */
    for (;;) {
        char* block = malloc(16u << 20);
        if (block == NULL) abort();
        memset(block, 1, 16u << 20);
    }
#endif
#ifdef FIXTURE_GARBAGE
    /* Garbage on stdout, some of it shaped like a protocol frame, then a good answer. */
    static const char garbage[] = "\x05\x00\x00\x00\x05hello\xff\xfe garbage on stdout\n";
    fwrite(garbage, 1, sizeof garbage - 1, stdout);
    fflush(stdout);
#endif
#ifdef FIXTURE_WIRE
    /* Writes into the runner's protocol socket (fd 3 in a runner): a frame of an unknown
     * type. In process, fd 3 is whatever the daemon has there, so this one runs isolated only. */
    static const char frame[] = "\x01\x00\x00\x00\x4d!";
    if (write(3, frame, sizeof frame - 1) < 0) (void)0;
#endif
#ifdef FIXTURE_FAILING_FETCH
    (void)self;
    snprintf(result->message, sizeof result->message, "upstream unreachable");
    result->status = TICKERD_E_TRANSIENT;
    return TICKERD_E_TRANSIENT;
#endif
    char json[256];
    int len = snprintf(
        json, sizeof json,
        "{\"plugin\":\"%s\",\"version\":\"%s\",\"instance\":\"%s\",\"symbol\":\"%.*s\"}",
        FIXTURE_NAME, FIXTURE_VERSION, self->name, (int)request->symbol.len, request->symbol.ptr);
    tickerd_str text = {json, (size_t)len};
    self->host->set_result_json(request->host_call, text);
    result->status = TICKERD_OK;
    return TICKERD_OK;
}

/* A descriptor from a later minor version: the 1.0 fields, then fields this host does not
 * know about. The host must refuse it: the plugin may count on services the host lacks. */
typedef struct fixture_descriptor {
    tickerd_plugin base;
    uint64_t future_fields[4];
} fixture_descriptor;

static const fixture_descriptor descriptor = {
    {
#if defined(FIXTURE_SMALL_STRUCT)
        16,
#elif defined(FIXTURE_NEWER_MINOR)
        sizeof(fixture_descriptor),
#else
        sizeof(tickerd_plugin),
#endif
#if defined(FIXTURE_WRONG_MAJOR)
        (uint32_t)((2u << 16) | 0u),
#elif defined(FIXTURE_NEWER_MINOR)
        (uint32_t)((TICKERD_ABI_MAJOR << 16) | 7u),
#elif defined(FIXTURE_ABI_MINOR) /* a plugin built with an older SDK */
        (uint32_t)((TICKERD_ABI_MAJOR << 16) | FIXTURE_ABI_MINOR),
#else
        TICKERD_ABI_VERSION,
#endif
        FIXTURE_NAME,
        FIXTURE_VERSION,
        "ABI test fixture",
        7,
        FIXTURE_FLAGS,
        data_types,
        sizeof data_types / sizeof data_types[0],
        fixture_create,
        fixture_destroy,
#ifdef FIXTURE_INCOMPLETE
        NULL,
#else
        fixture_fetch,
#endif
    },
    {0, 0, 0, 0},
};

#ifndef FIXTURE_NO_ENTRY
__attribute__((visibility("default"))) const tickerd_plugin* tickerd_plugin_entry(
    uint32_t host_abi_version) {
    (void)host_abi_version;
#ifdef FIXTURE_ENTRY_NULL
    return NULL;
#else
    return &descriptor.base;
#endif
}
#else
__attribute__((visibility("default"))) const tickerd_plugin* some_other_function(void) {
    return &descriptor.base;
}
#endif
