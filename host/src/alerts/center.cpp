// The alert center: runs the rules, publishes what they raise on `stream:alerts:*` and hands
// it to the webhooks. A raised alert goes to the webhooks at once and to the bus through a
// queue of its own, so a Redis outage (itself an alert) delays the stream, not the webhooks.
#include "alerts/alerts.hpp"

#include "alerts/webhook_sender.hpp"
#include "config/json_text.hpp"
#include "core/backoff.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <random>
#include <thread>

namespace tickerd::alerts {

namespace json = boost::json;

namespace {

constexpr std::chrono::seconds kEvaluateEvery{1};
// Alerts waiting to be published (while Redis is away); then the oldest is dropped.
constexpr std::size_t kPublishQueue = 10000;
constexpr std::chrono::seconds kPublishRetryMax{30};
// How long an alerts channel's latest message is kept: a day, so that a client subscribing
// gets the last alert, not nothing, long after it fired.
constexpr std::chrono::seconds kAlertTtl{86400};

std::string delivery_id() {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    char text[20];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(random()));
    return text;
}

std::string read_secret(const WebhookSettings& webhook, std::size_t index) {
    if (!webhook.secret.empty()) return webhook.secret;
    auto where = "alerts.webhooks[" + std::to_string(index) + "].secret_file";
    auto text = config::detail::read_text_file(webhook.secret_file, where);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
    if (text.empty())
        throw config::ConfigError(where + ": " + webhook.secret_file.string() + " is empty");
    return text;
}

}  // namespace

std::vector<std::string> secret_problems(const AlertSettings& settings) {
    std::vector<std::string> problems;
    for (std::size_t i = 0; i < settings.webhooks.size(); ++i) {
        try {
            read_secret(settings.webhooks[i], i);
        } catch (const config::ConfigError& e) {
            problems.emplace_back(e.what());
        }
    }
    return problems;
}

struct AlertCenter::Impl {
    Impl(bus::Bus& bus, config::StateStore& state, const AlertSettings& settings,
         std::string instance)
        : bus(bus), state(state), system(settings, std::move(instance)) {}

    void evaluate_loop(Sources sources);
    void evaluate_system(const Sources& sources);
    void reload_rules();
    void raise(std::vector<Alert> alerts);
    void publish_loop();
    void count(const Alert& alert);

    bus::Bus& bus;
    config::StateStore& state;
    std::thread evaluator;  // the system rules, every kEvaluateEvery

    std::mutex rules_mutex;  // the rules and what they remember
    SystemRules system;
    PriceRuleBook book;
    std::map<std::string, PriceRule> rules;  // what the book was built from
    std::atomic<std::size_t> rule_count{0};

    std::vector<std::unique_ptr<detail::WebhookSender>> webhooks;

    std::mutex queue_mutex;  // the alerts waiting to be published
    std::condition_variable wake;
    struct Queued {
        uint64_t number;
        Alert alert;
    };
    std::deque<Queued> queue;
    uint64_t queued = 0;    // numbers the queue's entries
    bool stopping = false;  // both threads end
    std::condition_variable stop_evaluating;
    std::thread publisher;

    telemetry::Counter system_fired, system_resolved, price_fired, published, dropped,
        publish_failures;
};

AlertCenter::AlertCenter(bus::Bus& bus, config::StateStore& state, const AlertSettings& settings,
                         std::string instance)
    : impl_(std::make_shared<Impl>(bus, state, settings, std::move(instance))) {
    for (std::size_t i = 0; i < settings.webhooks.size(); ++i) {
        const auto& webhook = settings.webhooks[i];
        impl_->webhooks.push_back(std::make_unique<detail::WebhookSender>(
            webhook, read_secret(webhook, i), settings.webhook_queue,
            settings.webhook_max_backoff));
    }
    impl_->reload_rules();
    std::weak_ptr<Impl> weak = impl_;
    state.on_change([weak] {
        if (auto impl = weak.lock()) impl->reload_rules();
    });
    impl_->publisher = std::thread([impl = impl_.get()] { impl->publish_loop(); });
}

AlertCenter::~AlertCenter() {
    stop();
}

void AlertCenter::on_market_data(const std::string& symbol, const json::object& data, SysTime at) {
    // Most daemons have no price rules: the hot path then takes no lock.
    if (impl_->rule_count.load(std::memory_order_relaxed) == 0) return;
    std::vector<Alert> raised;
    {
        std::lock_guard lock(impl_->rules_mutex);
        raised = impl_->book.on_market_data(symbol, data, at);
    }
    if (!raised.empty()) impl_->raise(std::move(raised));
}

// Off the I/O threads: with thousands of failing symbols an evaluation takes milliseconds.
void AlertCenter::start(Sources sources) {
    std::lock_guard lock(impl_->queue_mutex);
    if (impl_->stopping || impl_->evaluator.joinable()) return;
    impl_->evaluator = std::thread([impl = impl_.get(), sources] { impl->evaluate_loop(sources); });
}

void AlertCenter::stop() {
    auto& impl = *impl_;
    {
        std::lock_guard lock(impl.queue_mutex);
        if (impl.stopping) return;
        impl.stopping = true;
    }
    impl.wake.notify_all();
    impl.stop_evaluating.notify_all();
    if (impl.evaluator.joinable()) impl.evaluator.join();
    if (impl.publisher.joinable()) impl.publisher.join();
    if (!impl.queue.empty()) {
        BOOST_LOG_TRIVIAL(warning)
            << "alerts: " << impl.queue.size() << " alert(s) not published at shutdown";
    }
    for (auto& webhook : impl.webhooks) {
        if (auto left = webhook->stop(); left > 0) {
            BOOST_LOG_TRIVIAL(warning) << "alerts: " << left << " alert(s) not delivered to "
                                       << webhook->shown_url() << " at shutdown";
        }
    }
}

void AlertCenter::Impl::evaluate_loop(Sources sources) {
    std::unique_lock lock(queue_mutex);
    while (!stop_evaluating.wait_for(lock, kEvaluateEvery, [this] { return stopping; })) {
        lock.unlock();
        evaluate_system(sources);
        lock.lock();
    }
}

void AlertCenter::Impl::evaluate_system(const Sources& sources) {
    auto view = probe(sources, bus);
    std::vector<Alert> changes;
    {
        std::lock_guard lock(rules_mutex);
        changes = system.evaluate(view, std::chrono::system_clock::now());
    }
    if (!changes.empty()) raise(std::move(changes));
}

void AlertCenter::Impl::reload_rules() {
    auto snapshot = state.snapshot();
    std::lock_guard lock(rules_mutex);
    if (snapshot->price_rules == rules) return;
    rules = snapshot->price_rules;
    book.set_rules(rules);
    rule_count.store(rules.size(), std::memory_order_relaxed);
}

void AlertCenter::Impl::count(const Alert& alert) {
    if (alert.symbol != kSystemAlerts) {
        price_fired.add();
    } else if (alert.firing) {
        system_fired.add();
    } else {
        system_resolved.add();
    }
}

void AlertCenter::Impl::raise(std::vector<Alert> alerts) {
    for (const auto& alert : alerts) {
        count(alert);
        BOOST_LOG_TRIVIAL(info) << "alert " << (alert.firing ? "firing" : "resolved") << " ["
                                << alert.key << "]: " << alert.summary;
        std::string body;
        for (auto& webhook : webhooks) {
            if (!webhook->wants(alert.rule)) continue;
            if (body.empty()) {
                body = write_json(json::object{{"delivery", delivery_id()},
                                               {"channel", channel_of(alert)},
                                               {"alert", to_json(alert)}});
            }
            webhook->send(body);
        }
    }
    {
        std::lock_guard lock(queue_mutex);
        if (stopping) return;
        for (auto& alert : alerts) {
            if (queue.size() >= kPublishQueue) {
                queue.pop_front();
                dropped.add();
            }
            queue.push_back({queued++, std::move(alert)});
        }
    }
    wake.notify_one();
}

// Publishes the queue's head, in order; while the bus refuses (Redis away) it waits about
// 1 s, 2 s … up to kPublishRetryMax and tries again.
void AlertCenter::Impl::publish_loop() {
    Backoff backoff(std::chrono::seconds(1), kPublishRetryMax);
    std::unique_lock lock(queue_mutex);
    while (true) {
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (stopping) return;
        auto [number, head] = queue.front();  // a copy: a full queue may drop it meanwhile
        lock.unlock();
        bus::Publication publication{ChannelKey{std::string(kAlertsType), head.symbol}, "tickerd",
                                     to_json(head)};
        auto id = bus.publish_numbered(publication, kAlertTtl);
        lock.lock();
        if (id) {
            published.add();
            backoff.reset();
            if (!queue.empty() && queue.front().number == number) queue.pop_front();
            continue;
        }
        publish_failures.add();
        if (!backoff.backing_off()) {
            BOOST_LOG_TRIVIAL(warning) << "alerts: cannot publish on " << channel_of(head) << ": "
                                       << id.error().detail << " (retrying)";
        }
        wake.wait_for(lock, backoff.next(), [this] { return stopping; });
    }
}

json::object AlertCenter::status() const {
    auto& impl = *impl_;
    json::array firing;
    std::size_t rules = 0;
    {
        std::lock_guard lock(impl.rules_mutex);
        for (const auto& [key, alert] : impl.system.firing())
            firing.push_back(to_json(alert));
        rules = impl.book.size();
    }
    std::size_t waiting = 0;
    {
        std::lock_guard lock(impl.queue_mutex);
        waiting = impl.queue.size();
    }
    json::array webhooks;
    for (const auto& webhook : impl.webhooks)
        webhooks.push_back(webhook->status());
    return {{"firing", std::move(firing)},
            {"price_rules", rules},
            {"raised",
             {{"system_firing", impl.system_fired.value()},
              {"system_resolved", impl.system_resolved.value()},
              {"price", impl.price_fired.value()}}},
            {"published", impl.published.value()},
            {"publish_failures", impl.publish_failures.value()},
            {"unpublished", waiting},
            {"dropped", impl.dropped.value()},
            {"webhooks", std::move(webhooks)}};
}

void AlertCenter::write_metrics(telemetry::Exposition& out) const {
    auto& impl = *impl_;
    out.family("tickerd_alerts_total", "counter", "Alerts raised, by kind and state");
    out.sample("tickerd_alerts_total", {{"kind", "system"}, {"state", "firing"}},
               static_cast<double>(impl.system_fired.value()));
    out.sample("tickerd_alerts_total", {{"kind", "system"}, {"state", "resolved"}},
               static_cast<double>(impl.system_resolved.value()));
    out.sample("tickerd_alerts_total", {{"kind", "price"}, {"state", "firing"}},
               static_cast<double>(impl.price_fired.value()));
    std::size_t firing = 0;
    std::size_t rules = 0;
    {
        std::lock_guard lock(impl.rules_mutex);
        firing = impl.system.firing().size();
        rules = impl.book.size();
    }
    out.family("tickerd_alerts_firing", "gauge", "System alerts firing now");
    out.sample("tickerd_alerts_firing", {}, static_cast<double>(firing));
    out.family("tickerd_alert_price_rules", "gauge", "Price alert rules kept");
    out.sample("tickerd_alert_price_rules", {}, static_cast<double>(rules));
    out.family("tickerd_alert_webhook_deliveries_total", "counter",
               "Webhook delivery outcomes: delivered, retried (a failed attempt), rejected "
               "(a 4xx, not retried), dropped (the queue was full)");
    std::vector<std::pair<std::string, detail::WebhookSender::Counts>> counts;
    for (const auto& webhook : impl.webhooks)
        counts.emplace_back(webhook->shown_url(), webhook->counts());
    for (const auto& [url, of] : counts) {
        for (auto [result, value] :
             {std::pair{"delivered", of.delivered}, std::pair{"retried", of.failed_attempts},
              std::pair{"rejected", of.rejected}, std::pair{"dropped", of.dropped}}) {
            out.sample("tickerd_alert_webhook_deliveries_total",
                       {{"webhook", url}, {"result", result}}, static_cast<double>(value));
        }
    }
    out.family("tickerd_alert_webhook_queue", "gauge", "Alerts waiting for a webhook");
    for (const auto& [url, of] : counts)
        out.sample("tickerd_alert_webhook_queue", {{"webhook", url}},
                   static_cast<double>(of.queued));
}

}  // namespace tickerd::alerts
