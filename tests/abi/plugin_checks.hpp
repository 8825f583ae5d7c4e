// What the plugin-host tests share: Boost.Test printing the host's states and reasons by
// their JSON names, and a vendors entry written in one line.
#pragma once

#include "plugins/plugins.hpp"

#include <ostream>
#include <string>
#include <utility>

namespace tickerd::plugins {

inline std::ostream& boost_test_print_type(std::ostream& out, PluginState state) {
    return out << to_string(state);
}
inline std::ostream& boost_test_print_type(std::ostream& out, InstanceState state) {
    return out << to_string(state);
}
inline std::ostream& boost_test_print_type(std::ostream& out, RefusalReason reason) {
    return out << to_string(reason);
}

}  // namespace tickerd::plugins

namespace tickerd::testing {

// The vendors entry {"name": name, "plugin": plugin, "priority": priority}.
inline plugins::InstanceConfig instance_config(std::string name, std::string plugin, int priority) {
    plugins::InstanceConfig config;
    config.name = std::move(name);
    config.plugin = std::move(plugin);
    config.priority = priority;
    return config;
}

}  // namespace tickerd::testing
