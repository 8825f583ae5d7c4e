// What the system rules read, gathered from the parts' status calls (none waits on the
// network): the running workers' failing symbols, each data type's vendors and how their
// last calls went, the request budgets, Redis, the refused plugin files.
#include "alerts/alerts.hpp"

#include <algorithm>

namespace tickerd::alerts {

namespace {

// A vendor's calls for a data type are judged by the newest this many records.
constexpr std::size_t kRecordsRead = 200;

SystemView::VendorsOfType vendors_of(DataType type, const Sources& sources,
                                     const std::map<std::string, scheduler::VendorHealth>& health) {
    SystemView::VendorsOfType of_type{type, {}, {}};
    auto records = sources.telemetry.newest(type, kRecordsRead);  // newest first
    for (const auto& instance : sources.plugins.ranked_for(type)) {
        const auto& name = instance->name();
        of_type.vendors.push_back(name);
        if (auto found = health.find(name); found != health.end() && found->second.benched) {
            of_type.failing[name] = "benched: " + found->second.benched->detail;
            continue;
        }
        auto last =
            std::find_if(records.begin(), records.end(),
                         [&](const telemetry::Record& record) { return record.vendor == name; });
        if (last != records.end() && !last->success)
            of_type.failing[name] = last->error.value_or("failed");
    }
    return of_type;
}

// "5 of 5 calls this minute" for the first window whose limit is reached.
std::optional<std::string> spent_window(const boost::json::object& budget) {
    for (auto [limit_key, used_key, window] :
         {std::tuple{"per_minute", "used_last_minute", "minute"},
          std::tuple{"per_hour", "used_last_hour", "hour"},
          std::tuple{"per_day", "used_last_day", "day"}}) {
        const auto* limit = budget.if_contains(limit_key);
        const auto* used = budget.if_contains(used_key);
        if (!limit || !used || !limit->is_int64() || !used->is_int64()) continue;
        if (limit->get_int64() > 0 && used->get_int64() >= limit->get_int64()) {
            return std::to_string(used->get_int64()) + " of " + std::to_string(limit->get_int64()) +
                   " calls this " + window;
        }
    }
    return std::nullopt;
}

}  // namespace

SystemView probe(const Sources& sources, bus::Bus& bus) {
    SystemView view;
    auto health = sources.workers.vendor_health();
    for (auto& status : sources.workers.statuses()) {
        if (status.status == scheduler::WorkerState::stopped) continue;
        // Every vendor failing shows in failing polls; a worker whose polls succeed (or that
        // polls nothing) has no vendor outage, whatever its old records say.
        if (!status.failing_symbols.empty())
            view.vendors.push_back(vendors_of(status.data_type, sources, health));
        view.workers.push_back(
            {status.data_type, std::move(status.failing_symbols), std::move(status.last_error)});
    }
    for (const auto& instance : sources.plugins.instances()) {
        if (!instance.budget) continue;
        if (auto spent = spent_window(*instance.budget))
            view.spent_budgets.push_back({instance.name, *spent});
    }
    auto bus_health = bus.health();
    view.redis_enabled = sources.redis_enabled;
    view.redis_connected = bus_health.connected;
    view.redis_error = bus_health.last_error;
    for (const auto& plugin : sources.plugins.plugins()) {
        if (plugin.refusal)
            view.refused_plugins[plugin.file] = plugin.refusal->detail;
        else if (plugin.update_refused)
            view.refused_plugins[plugin.file] = plugin.update_refused->refusal.detail;
    }
    return view;
}

}  // namespace tickerd::alerts
