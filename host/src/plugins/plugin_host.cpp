// The plugin host: the list of loaded plugin files and of the vendor instances made from
// them. Lists are replaced whole under a mutex and handed out as shared pointers, so a
// caller holding an instance keeps its library loaded however the lists change meanwhile.
#include "plugins/module.hpp"

#include "core/log.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace tickerd::plugins {

struct PluginHost::State {
    std::vector<std::filesystem::path> plugin_dirs;
    // Shared by every instance (each holds it: an instance may outlive the host in a call).
    std::shared_ptr<webclient::Client> http = std::make_shared<webclient::Client>();
    mutable std::mutex mutex;
    std::map<std::string, std::shared_ptr<Module>> modules;  // by plugin name
    std::vector<PluginInfo> plugin_infos;                    // loaded and refused files
    std::vector<InstancePtr> instances;
    std::vector<InstanceInfo> instance_infos;
};

namespace {

std::vector<std::filesystem::path> plugin_files(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) {
        BOOST_LOG_TRIVIAL(warning)
            << "plugin folder " << dir.string() << " cannot be read: " << ec.message();
        return files;
    }
    for (const auto& entry : it) {
        if (entry.path().extension() == ".so" && !entry.is_directory(ec)) {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());  // a stable order makes duplicate handling stable
    return files;
}

}  // namespace

PluginHost::PluginHost(std::vector<std::filesystem::path> plugin_dirs)
    : state_(std::make_unique<State>()) {
    state_->plugin_dirs = std::move(plugin_dirs);
}

PluginHost::~PluginHost() = default;

void PluginHost::load_all() {
    for (const auto& dir : state_->plugin_dirs) {
        for (const auto& file : plugin_files(dir))
            load_file(file);
    }
}

PluginInfo PluginHost::load_file(const std::filesystem::path& file) {
    PluginInfo info;
    auto module = Module::load(file, info);
    std::lock_guard lock(state_->mutex);
    if (module) {
        auto [it, inserted] = state_->modules.emplace(info.name, module);
        if (!inserted) {
            info.state = "refused";
            info.error = "duplicate plugin name '" + info.name + "' (already loaded from " +
                         it->second->info().file + ")";
        }
    }
    if (info.state == "loaded") {
        BOOST_LOG_TRIVIAL(info) << "plugin " << info.name << " " << info.version << " (ABI "
                                << info.abi_version << ") loaded from " << info.file;
    } else {
        BOOST_LOG_TRIVIAL(error) << "plugin " << info.file << " refused: " << info.error;
    }
    state_->plugin_infos.push_back(info);
    return info;
}

std::vector<std::string> PluginHost::configure(const std::vector<InstanceConfig>& configs,
                                               bool configs_given) {
    std::map<std::string, std::shared_ptr<Module>> modules;
    {
        std::lock_guard lock(state_->mutex);
        modules = state_->modules;
    }
    std::vector<InstanceConfig> wanted = configs;
    if (!configs_given) {
        // No vendors list: every plugin runs once, under its own name.
        for (const auto& [name, module] : modules) {
            InstanceConfig config;
            config.name = name;
            config.plugin = name;
            wanted.push_back(std::move(config));
        }
    }

    std::vector<std::string> problems;
    std::vector<InstancePtr> instances;
    std::vector<InstanceInfo> infos;
    std::set<std::string> names;
    for (const auto& config : wanted) {
        InstanceInfo info{config.name,    config.plugin, config.priority.value_or(0),
                          config.enabled, "failed",      "",
                          std::nullopt};
        auto module = modules.find(config.plugin);
        if (!names.insert(config.name).second) {
            info.error = "duplicate vendor name '" + config.name + "'";
        } else if (module == modules.end()) {
            info.error = "plugin '" + config.plugin + "' is not loaded";
        } else {
            info.priority = config.priority.value_or(module->second->info().default_priority);
            try {
                instances.push_back(
                    Instance::create(module->second, config, info.priority, state_->http));
                info.state = "ready";
            } catch (const std::exception& e) {
                info.error = std::string("create failed: ") + e.what();
            }
        }
        if (info.state != "ready") {
            problems.push_back("vendor '" + config.name + "': " + info.error);
            BOOST_LOG_TRIVIAL(error) << "vendor " << config.name << " unavailable: " << info.error;
        }
        infos.push_back(std::move(info));
    }

    std::lock_guard lock(state_->mutex);
    state_->instances.swap(instances);
    state_->instance_infos.swap(infos);
    return problems;  // the replaced instances die after the lock is released: their
                      // destroy() runs plugin code
}

std::vector<InstancePtr> PluginHost::ranked_for(DataType type) const {
    std::vector<InstancePtr> ranked;
    {
        std::lock_guard lock(state_->mutex);
        for (const auto& instance : state_->instances) {
            if (instance->enabled() && instance->serves(type)) ranked.push_back(instance);
        }
    }
    std::sort(ranked.begin(), ranked.end(), [](const InstancePtr& a, const InstancePtr& b) {
        return std::pair(a->priority(), a->name()) < std::pair(b->priority(), b->name());
    });
    return ranked;
}

std::vector<PluginInfo> PluginHost::plugins() const {
    std::lock_guard lock(state_->mutex);
    return state_->plugin_infos;
}

webclient::Counters PluginHost::http_counters() const {
    return state_->http->counters();
}

std::vector<InstanceInfo> PluginHost::instances() const {
    std::lock_guard lock(state_->mutex);
    auto infos = state_->instance_infos;
    for (auto& info : infos) {
        for (const auto& instance : state_->instances) {
            if (instance->name() == info.name) info.budget = instance->budget_json();
        }
    }
    return infos;
}

boost::json::object to_json(const PluginInfo& info) {
    boost::json::array types;
    for (const auto& type : info.data_types)
        types.emplace_back(type);
    boost::json::object out{{"name", info.name},
                            {"version", info.version},
                            {"description", info.description},
                            {"file", info.file},
                            {"abi_version", info.abi_version},
                            {"priority", info.default_priority},
                            {"data_types", std::move(types)},
                            {"state", info.state},
                            {"loaded_at", iso8601_utc(info.loaded_at)}};
    if (!info.error.empty()) out["error"] = info.error;
    return out;
}

boost::json::object to_json(const InstanceInfo& info) {
    boost::json::object out{{"name", info.name},
                            {"plugin", info.plugin},
                            {"priority", info.priority},
                            {"enabled", info.enabled},
                            {"state", info.state}};
    if (!info.error.empty()) out["error"] = info.error;
    if (info.budget) out["budget"] = *info.budget;
    if (info.budget) out["budget"] = *info.budget;
    return out;
}

}  // namespace tickerd::plugins
