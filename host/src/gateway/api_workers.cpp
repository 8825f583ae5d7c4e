// Workers, telemetry and the vendor list.
#include "gateway/rest.hpp"

#include <boost/json/object.hpp>

namespace tickerd::gateway {

namespace json = boost::json;

namespace {

constexpr std::size_t kDefaultTelemetryLimit = 100;

Result<DataType> worker_from_path(const RouteArgs& args) {
    auto type = parse_worker_id(args.params.at(0));
    if (!type) return Error::not_found("Worker " + args.params.at(0) + " not found");
    return *type;
}

// Starts or stops the worker the path names (both idempotent).
template <class Change>
Reply change_worker(const RouteArgs& args, Change change) {
    auto type = worker_from_path(args);
    if (!type) return error_reply(type.error());
    change(*type);
    return no_content();
}

}  // namespace

Reply list_workers(Services& services, const RouteArgs&) {
    json::array workers;
    for (const auto& status : services.workers.statuses())
        workers.push_back(to_json(status));
    return json_reply(200, workers);
}

Reply get_worker(Services& services, const RouteArgs& args) {
    auto type = worker_from_path(args);
    if (!type) return error_reply(type.error());
    return json_reply(200, to_json(services.workers.status(*type)));
}

Reply start_worker(Services& services, const RouteArgs& args) {
    return change_worker(args, [&](DataType type) { services.workers.start(type); });
}

Reply stop_worker(Services& services, const RouteArgs& args) {
    return change_worker(args, [&](DataType type) { services.workers.stop(type); });
}

Reply start_all_workers(Services& services, const RouteArgs&) {
    services.workers.start_all();
    return no_content();
}

Reply stop_all_workers(Services& services, const RouteArgs&) {
    services.workers.stop_all();
    return no_content();
}

Reply get_telemetry(Services& services, const RouteArgs& args) {
    auto type = parse_data_type(args.params.at(0));
    if (!type)
        return error_reply(Error::not_found("unknown data type '" + args.params.at(0) + "'"));
    auto limit = limit_param(args.query, kDefaultTelemetryLimit, telemetry::Store::kCapacity);
    if (!limit) return error_reply(limit.error());
    json::array records;
    for (const auto& record : services.telemetry.newest(*type, *limit)) {
        records.push_back(to_json(record));
    }
    return json_reply(200, records);
}

namespace {

json::object vendors_json(Services& services) {
    json::array plugins;
    for (const auto& plugin : services.plugins.plugins())
        plugins.push_back(to_json(plugin));
    // What the scheduler knows of each instance's health joins what the host knows of it.
    auto health = services.workers.vendor_health();
    auto now = std::chrono::system_clock::now();
    json::array instances;
    for (const auto& instance : services.plugins.instances()) {
        auto entry = plugins::to_json(instance);
        auto found = health.find(instance.name);
        scheduler::add_health(
            entry, found != health.end() ? found->second : scheduler::VendorHealth{}, now);
        instances.push_back(std::move(entry));
    }
    return {{"plugins", std::move(plugins)}, {"instances", std::move(instances)}};
}

}  // namespace

Reply list_vendors(Services& services, const RouteArgs&) {
    return json_reply(200, vendors_json(services));
}

// Rescans the plugin folders now (loading runs plugin code: a blocking route).
Reply reload_vendors(Services& services, const RouteArgs&) {
    auto report = services.plugins.rescan();
    auto body = vendors_json(services);
    body["rescan"] = plugins::to_json(report);
    return json_reply(200, body);
}

}  // namespace tickerd::gateway
