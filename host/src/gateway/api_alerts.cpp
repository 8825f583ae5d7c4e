// Alerts: the price rules (kept with the runtime config, durably, before the answer goes out)
// and what the alerts are doing now (GET /streaming/alerts).
#include "gateway/rest.hpp"

#include "alerts/alerts.hpp"

#include <boost/json.hpp>

namespace tickerd::gateway {

namespace json = boost::json;

namespace {

Result<std::string> rule_id_from_path(const RouteArgs& args) {
    const auto& id = args.params.at(0);
    if (!is_rule_id(id))
        return Error::invalid("id", "'" + id + "' is not a rule id (1-64 of A-Z a-z 0-9 _ . -)");
    return id;
}

Reply rule_not_found(const std::string& id) {
    return error_reply(Error::not_found("price rule " + id + " not found"));
}

}  // namespace

Reply get_alerts(Services& services, const RouteArgs&) {
    return json_reply(200, services.alerts.status());
}

// ?symbol=AAPL narrows the list to one instrument's rules.
Reply list_alert_rules(Services& services, const RouteArgs& args) {
    std::optional<std::string> symbol;
    if (auto text = query_param(args.query, "symbol")) {
        symbol = normalize_symbol(*text);
        if (!symbol)
            return error_reply(Error::invalid("symbol", "'" + *text + "' is not a valid symbol"));
    }
    json::array rules;
    for (const auto& [id, rule] : services.state.snapshot()->price_rules) {
        if (!symbol || rule.symbol == *symbol) rules.push_back(to_json(rule));
    }
    return json_reply(200, json::object{{"rules", std::move(rules)}});
}

Reply get_alert_rule(Services& services, const RouteArgs& args) {
    auto id = rule_id_from_path(args);
    if (!id) return error_reply(id.error());
    auto snapshot = services.state.snapshot();
    auto found = snapshot->price_rules.find(*id);
    if (found == snapshot->price_rules.end()) return rule_not_found(*id);
    return json_reply(200, to_json(found->second));
}

// 201 for a new rule, 200 for one replaced (same id).
Reply put_alert_rule(Services& services, const RouteArgs& args) {
    auto body = read_json_body(args);
    if (!body) return error_reply(body.error());
    auto rule = parse_price_rule(*body);
    if (!rule) return error_reply(rule.error());
    auto stored = services.state.put_price_rule(std::move(*rule), services.config.alerts.max_rules);
    if (!stored) return error_reply(stored.error());
    return json_reply(stored->second ? 201 : 200, to_json(stored->first));
}

Reply delete_alert_rule(Services& services, const RouteArgs& args) {
    auto id = rule_id_from_path(args);
    if (!id) return error_reply(id.error());
    auto removed = services.state.remove_price_rule(*id);
    if (!removed) return error_reply(removed.error());
    return *removed ? no_content() : rule_not_found(*id);
}

}  // namespace tickerd::gateway
