// One vendor instance and the host services its plugin calls back into. Everything here is
// reached from plugin code, so nothing may throw out of the callbacks.
#include "plugins/module.hpp"

#include "core/log.hpp"

#include <array>
#include <cstring>
#include <deque>

namespace tickerd::plugins {

// What the plugin's `host` pointer points to: the services table and who is calling.
struct InstanceContext {
    tickerd_host_api api{};
    std::string instance_name;
    std::shared_ptr<webclient::Client> http;
};

namespace {

// What the plugin's `host_call` pointer points to during one fetch.
struct HostCall {
    const CancelFlag& cancel;
    std::chrono::system_clock::time_point deadline;
    webclient::Client& http;
    std::string json;
    bool json_set = false;
    std::deque<webclient::Response> responses;  // the plugin reads them until fetch returns

    bool cancelled() const {
        return cancel.cancelled.load(std::memory_order_relaxed) ||
               std::chrono::system_clock::now() >= deadline;
    }
};

void host_log(void* host, int32_t level, tickerd_str message) noexcept {
    try {
        auto* context = static_cast<InstanceContext*>(host);
        isolation::log_plugin_line(context->instance_name, level,
                                   {message.ptr ? message.ptr : "", message.ptr ? message.len : 0});
    } catch (...) {
    }
}

int64_t host_now_unix_ms(void*) noexcept {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int32_t host_is_cancelled(void* host_call) noexcept {
    return static_cast<HostCall*>(host_call)->cancelled();
}

void host_set_result_json(void* host_call, tickerd_str json) noexcept {
    try {
        auto* call = static_cast<HostCall*>(host_call);
        if (call->json_set) return;  // "at most once": the first answer stands
        call->json.assign(json.ptr ? json.ptr : "", json.len);
        call->json_set = true;
    } catch (...) {
    }
}

std::string_view text_of(tickerd_str s) {
    return {s.ptr ? s.ptr : "", s.ptr ? s.len : 0};
}

// Reads the plugin's request; only the fields of ABI 1.1 exist so far.
webclient::Request read_http_request(const tickerd_http_request& in, const HostCall& call) {
    webclient::Request out;
    out.method = text_of(in.method);
    out.url = text_of(in.url);
    for (uint32_t i = 0; in.headers != nullptr && i < in.header_count; ++i)
        out.headers.emplace_back(text_of(in.headers[i].name), text_of(in.headers[i].value));
    out.body = text_of(in.body);
    // Never past the fetch's deadline, whatever the plugin asks for.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        call.deadline - std::chrono::system_clock::now());
    out.timeout =
        in.timeout_ms > 0 ? std::min(left, std::chrono::milliseconds(in.timeout_ms)) : left;
    out.connect_timeout = std::chrono::milliseconds(std::max(in.connect_timeout_ms, 0));
    return out;
}

tickerd_status host_http(void* host_call, const tickerd_http_request* request,
                         tickerd_http_response* response) noexcept {
    if (response == nullptr || response->struct_size < sizeof(tickerd_http_response)) {
        return TICKERD_E_PERMANENT;  // nowhere to put the answer
    }
    auto fail = [response](tickerd_status status, std::string_view why) {
        response->outcome = status;
        auto n = std::min(why.size(), sizeof response->error - 1);
        std::memcpy(response->error, why.data(), n);
        response->error[n] = '\0';
        return status;
    };
    if (request == nullptr || request->struct_size < sizeof(tickerd_http_request)) {
        return fail(TICKERD_E_PERMANENT, "http request struct too small for ABI 1.1");
    }
    try {
        auto* call = static_cast<HostCall*>(host_call);
        auto in = read_http_request(*request, *call);
        if (in.timeout.count() <= 0) return fail(TICKERD_E_TRANSIENT, "deadline passed");
        auto& kept = call->responses.emplace_back(
            call->http.perform(in, [call] { return call->cancelled(); }));
        response->status_code = kept.status;
        response->body = {kept.body.data(), kept.body.size()};
        response->headers = {kept.headers.data(), kept.headers.size()};
        switch (kept.outcome) {
            case webclient::Outcome::ok:
                response->outcome = TICKERD_OK;
                return TICKERD_OK;
            case webclient::Outcome::transient:
                return fail(TICKERD_E_TRANSIENT, kept.error);
            case webclient::Outcome::permanent:
                return fail(TICKERD_E_PERMANENT, kept.error);
        }
        return fail(TICKERD_E_PERMANENT, "unknown outcome");
    } catch (const std::exception& e) {
        return fail(TICKERD_E_TRANSIENT, e.what());
    } catch (...) {
        return fail(TICKERD_E_TRANSIENT, "unknown error");
    }
}

bool known_status(tickerd_status status) {
    return status >= TICKERD_OK && status <= TICKERD_E_PERMANENT;
}

int64_t unix_ms(std::chrono::system_clock::time_point when) {
    using namespace std::chrono;
    return duration_cast<milliseconds>(when.time_since_epoch()).count();
}

// Frees a slot in the instance's in-flight count however fetch leaves.
class InFlightSlot {
  public:
    explicit InFlightSlot(std::atomic<int>& count) : count_(count) {}
    ~InFlightSlot() { count_.fetch_sub(1, std::memory_order_relaxed); }
    InFlightSlot(const InFlightSlot&) = delete;
    InFlightSlot& operator=(const InFlightSlot&) = delete;

  private:
    std::atomic<int>& count_;
};

}  // namespace

std::string_view status_name(tickerd_status status) {
    // The error classes as telemetry names them, in the ABI's numbering (TICKERD_OK = 0 …).
    constexpr std::array<std::string_view, 7> kNames = {
        "ok", "transient", "rate_limited", "not_found", "unsupported", "auth", "permanent"};
    if (!known_status(status)) return "unknown";
    return kNames[static_cast<std::size_t>(status)];
}

Result<std::shared_ptr<Instance>, Refusal> Instance::create(
    std::shared_ptr<Module> module, InstanceConfig config, int priority,
    std::shared_ptr<webclient::Client> http) {
    std::shared_ptr<Instance> instance(
        new Instance(std::move(module), std::move(config), priority, std::move(http)));
    std::string settings = boost::json::serialize(instance->config_.settings);
    if (instance->config_.isolation == isolation::Isolation::process) {
        isolation::RunnerOptions options;
        options.executable = isolation::default_runner_executable();
        options.plugin_fd = instance->module_->copy_fd();
        options.instance_name = instance->config_.name;
        options.settings_json = std::move(settings);
        options.limits = instance->config_.limits;
        options.restart = instance->config_.restart;
        auto runner = isolation::Runner::start(std::move(options), instance->context_->http);
        if (!runner) return Refusal{RefusalReason::create_failed, runner.error().detail};
        instance->runner_ = std::move(*runner);
        return instance;
    }
    char error[512] = {};
    const auto& d = instance->module_->descriptor();
    tickerd_status status = d.create(&instance->context_->api, sdk_str(instance->config_.name),
                                     sdk_str(settings), &instance->handle_, error, sizeof error);
    error[sizeof error - 1] = '\0';
    if (status != TICKERD_OK || instance->handle_ == nullptr) {
        instance->handle_ = nullptr;
        return Refusal{RefusalReason::create_failed,
                       error[0] ? error : "the plugin refused to create the instance"};
    }
    return instance;
}

Instance::Instance(std::shared_ptr<Module> module, InstanceConfig config, int priority,
                   std::shared_ptr<webclient::Client> http)
    : module_(std::move(module)),
      context_(std::make_unique<InstanceContext>()),
      config_(std::move(config)),
      priority_(priority),
      concurrency_limit_(module_->thread_safe() ? std::max(config_.max_concurrency, 1) : 1),
      budget_(config_.budget) {
    context_->instance_name = config_.name;
    context_->http = std::move(http);
    context_->api.struct_size = sizeof(tickerd_host_api);
    context_->api.abi_version = TICKERD_ABI_VERSION;
    context_->api.host = context_.get();
    context_->api.log = &host_log;
    context_->api.now_unix_ms = &host_now_unix_ms;
    context_->api.is_cancelled = &host_is_cancelled;
    context_->api.set_result_json = &host_set_result_json;
    context_->api.http = &host_http;
}

Instance::~Instance() {
    runner_.reset();  // stops the runner (its process destroys the instance)
    if (handle_ != nullptr) module_->descriptor().destroy(handle_);
}

std::optional<boost::json::object> Instance::runner_json() const {
    if (!runner_) return std::nullopt;
    return runner_->status_json();
}

const std::string& Instance::plugin_name() const {
    return module_->info().name;
}

std::optional<boost::json::object> Instance::budget_json() {
    if (!budget_.budget().limited()) return std::nullopt;
    auto usage = budget_.usage(BudgetMeter::Clock::now());
    auto out = to_json(budget_.budget());
    out["used_last_minute"] = usage.minute;
    out["used_last_hour"] = usage.hour;
    out["used_last_day"] = usage.day;
    return out;
}

bool Instance::serves(DataType type) const {
    return module_->serves(type);
}

bool Instance::simulated() const {
    return module_->simulated();
}

FetchOutcome Instance::fetch(DataType type, const std::string& symbol,
                             std::chrono::system_clock::time_point deadline,
                             const CancelFlag& cancel) {
    FetchOutcome outcome;
    if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= concurrency_limit_) {
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
        outcome.status = TICKERD_E_TRANSIENT;
        outcome.message =
            "busy: " + std::to_string(concurrency_limit_) + " calls already in flight";
        return outcome;
    }
    InFlightSlot slot(in_flight_);
    if (auto refill = budget_.try_spend(BudgetMeter::Clock::now())) {
        outcome.status = TICKERD_E_RATE_LIMITED;
        outcome.retry_after_ms = refill->count();
        outcome.message = "request budget spent (" + describe(budget_.budget()) +
                          "), room again in " + std::to_string((refill->count() + 999) / 1000) +
                          " s";
        return outcome;
    }

    std::string_view type_name = to_string(type);
    isolation::CallAnswer answer;
    if (runner_) {
        answer = runner_->call(type_name, symbol, deadline, cancel.cancelled);
    } else {
        HostCall call{cancel, deadline, *context_->http, {}, false, {}};
        tickerd_request request{sizeof(tickerd_request), sdk_str(type_name), sdk_str(symbol),
                                unix_ms(deadline), &call};
        tickerd_result result{};
        result.struct_size = sizeof(tickerd_result);
        answer.status = module_->descriptor().fetch(handle_, &request, &result);
        result.message[sizeof result.message - 1] = '\0';
        answer.message = result.message;
        answer.retry_after_ms = result.retry_after_ms;
        answer.http_status = result.http_status;
        answer.json_set = call.json_set;
        answer.json = std::move(call.json);
    }

    tickerd_status status = answer.status;
    outcome.message = std::move(answer.message);
    outcome.retry_after_ms = std::max<int64_t>(answer.retry_after_ms, 0);
    outcome.http_status = answer.http_status;
    outcome.status = known_status(status) ? status : TICKERD_E_PERMANENT;
    if (!known_status(status)) {
        outcome.message = "plugin returned unknown status " + std::to_string(status);
    } else if (status == TICKERD_OK && !answer.json_set) {
        outcome.status = TICKERD_E_PERMANENT;
        outcome.message = "plugin answered ok without data";
    } else if (status == TICKERD_OK) {
        outcome.json = std::move(answer.json);
    }
    return outcome;
}

}  // namespace tickerd::plugins
