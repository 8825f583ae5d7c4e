// The system rules: each condition the daemon is in now becomes an alert with a key; a key
// that appears fires, a key that disappears resolves. What a firing alert says (its details)
// is what was true when it fired.
#include "alerts/rules.hpp"

namespace tickerd::alerts {

namespace json = boost::json;

namespace {

// A firing alert's details list at most this many symbols (a vendor outage fails them all).
constexpr std::size_t kListedSymbols = 20;

}  // namespace

json::object to_json(const Alert& alert) {
    return {{"rule", alert.rule},
            {"severity", alert.severity},
            {"state", alert.firing ? "firing" : "resolved"},
            {"key", alert.key},
            {"summary", alert.summary},
            {"since", iso8601_utc(alert.since)},
            {"details", alert.details}};
}

std::string channel_of(const Alert& alert) {
    return channel_name(kAlertsType, alert.symbol);
}

SystemRules::SystemRules(const AlertSettings& settings, std::string instance)
    : worker_failures_(settings.worker_failures),
      redis_down_(settings.redis_down),
      instance_(std::move(instance)) {}

std::vector<Alert> SystemRules::evaluate(const SystemView& view, SysTime now) {
    std::map<std::string, Alert> now_firing;
    check_workers(view, now, now_firing);
    check_vendors(view, now, now_firing);
    check_budgets(view, now, now_firing);
    check_redis(view, now, now_firing);
    check_plugins(view, now, now_firing);

    std::vector<Alert> changes;
    for (auto& [key, alert] : firing_) {
        if (now_firing.contains(key)) continue;
        Alert resolved = alert;
        resolved.firing = false;
        resolved.summary = "resolved: " + alert.summary;
        resolved.details["resolved_at"] = iso8601_utc(now);
        changes.push_back(std::move(resolved));
    }
    std::erase_if(firing_, [&](const auto& item) { return !now_firing.contains(item.first); });
    for (auto& [key, alert] : now_firing) {
        if (firing_.contains(key)) continue;
        changes.push_back(alert);
        firing_.emplace(key, std::move(alert));
    }
    return changes;
}

// One condition found: its alert, filed under its key.
void SystemRules::add(std::map<std::string, Alert>& out, std::string rule, std::string severity,
                      std::string key, std::string summary, SysTime since,
                      json::object details) const {
    if (!instance_.empty()) {
        key += "@" + instance_;
        details["instance"] = instance_;
    }
    Alert alert{std::move(rule),
                std::move(severity),
                true,
                key,
                std::string(kSystemAlerts),
                std::move(summary),
                since,
                std::move(details)};
    out.emplace(std::move(key), std::move(alert));
}

void SystemRules::check_workers(const SystemView& view, SysTime now,
                                std::map<std::string, Alert>& out) {
    for (const auto& worker : view.workers) {
        json::array symbols;
        uint64_t most = 0;
        std::size_t count = 0;
        for (const auto& [symbol, failures] : worker.failing_symbols) {
            if (failures < static_cast<uint64_t>(worker_failures_)) continue;
            ++count;
            most = std::max(most, failures);
            if (symbols.size() < kListedSymbols) symbols.emplace_back(symbol);
        }
        if (count == 0) continue;
        auto id = worker_id(worker.type);
        std::string summary = id + ": " + std::to_string(count) + " symbol(s) failed " +
                              std::to_string(worker_failures_) + " or more polls in a row";
        if (worker.last_error) summary += " (last: " + *worker.last_error + ")";
        add(out, "worker_failing", "warning",
            "worker_failing:" + std::string(to_string(worker.type)), summary, now,
            {{"worker_id", id},
             {"symbols", std::move(symbols)},
             {"failing_symbols", count},
             {"most_failures_in_a_row", most},
             {"threshold", worker_failures_}});
    }
}

void SystemRules::check_vendors(const SystemView& view, SysTime now,
                                std::map<std::string, Alert>& out) {
    for (const auto& of_type : view.vendors) {
        if (of_type.vendors.empty() || of_type.failing.size() < of_type.vendors.size()) continue;
        json::object why;
        for (const auto& [vendor, reason] : of_type.failing)
            why[vendor] = reason;
        auto type = std::string(to_string(of_type.type));
        add(out, "vendors_failing", "critical", "vendors_failing:" + type,
            "every vendor of " + type + " is failing (" + std::to_string(of_type.vendors.size()) +
                ")",
            now, {{"data_type", type}, {"vendors", std::move(why)}});
    }
}

void SystemRules::check_budgets(const SystemView& view, SysTime now,
                                std::map<std::string, Alert>& out) {
    for (const auto& spent : view.spent_budgets) {
        add(out, "budget_spent", "warning", "budget_spent:" + spent.vendor,
            "vendor " + spent.vendor + " spent its request budget: " + spent.detail, now,
            {{"vendor", spent.vendor}, {"detail", spent.detail}});
    }
}

void SystemRules::check_redis(const SystemView& view, SysTime now,
                              std::map<std::string, Alert>& out) {
    if (!view.redis_enabled || view.redis_connected) {
        redis_down_since_.reset();
        return;
    }
    if (!redis_down_since_) redis_down_since_ = now;
    if (now - *redis_down_since_ < redis_down_) return;
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - *redis_down_since_);
    std::string summary = "Redis unreachable for " + std::to_string(seconds.count()) + " s";
    if (view.redis_error) summary += ": " + *view.redis_error;
    json::object details{{"threshold_seconds", redis_down_.count()}};
    if (view.redis_error) details["error"] = *view.redis_error;
    add(out, "redis_down", "critical", "redis_down", summary, *redis_down_since_,
        std::move(details));
}

void SystemRules::check_plugins(const SystemView& view, SysTime now,
                                std::map<std::string, Alert>& out) {
    for (const auto& [file, reason] : view.refused_plugins) {
        add(out, "plugin_refused", "warning", "plugin_refused:" + file,
            "plugin " + file + " refused: " + reason, now, {{"file", file}, {"reason", reason}});
    }
}

}  // namespace tickerd::alerts
