// The plugin host: the list of loaded plugin files and of the vendor instances made from
// them. Lists are replaced whole under a mutex and handed out as shared pointers, so a
// caller holding an instance keeps its library loaded however the lists change meanwhile
// (a rescan that reloads a plugin swaps in new instances; the old ones, and their library,
// go when their last call returns).
#include "plugins/module.hpp"

#include "core/enum_names.hpp"
#include "core/log.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

namespace tickerd::plugins {

namespace {

// What identifies one version of a file: rewritten in place or replaced, one of these moves.
// So does a new owner or mode of its folder, which decides whether the file may load.
struct FileStamp {
    ino_t inode = 0;
    off_t size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    uid_t folder_owner = 0;
    mode_t folder_mode = 0;
    bool operator==(const FileStamp&) const = default;
};

std::optional<FileStamp> stamp_of(const std::filesystem::path& file) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) return std::nullopt;
    auto ns = [](const timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; };
    FileStamp stamp{info.st_ino, info.st_size, ns(info.st_mtim), ns(info.st_ctim), 0, 0};
    if (::stat(file.parent_path().c_str(), &info) == 0) {
        stamp.folder_owner = info.st_uid;
        stamp.folder_mode = info.st_mode;
    }
    return stamp;
}

}  // namespace

struct PluginHost::State {
    // One plugin file as last seen: the version serving (or why it was refused).
    struct File {
        std::optional<FileStamp> stamp;
        PluginInfo info;
        std::shared_ptr<Module> module;  // null when refused

        // This version no longer serves: its entry says why.
        void refuse(Refusal refusal) {
            info.state = PluginState::refused;
            info.refusal = std::move(refusal);
            module.reset();
        }
    };

    std::vector<std::filesystem::path> plugin_dirs;
    HostSettings settings;
    // Shared by every instance (each holds it: an instance may outlive the host in a call).
    std::shared_ptr<webclient::Client> http = std::make_shared<webclient::Client>();
    // Held by whoever changes files, modules or instances (rescans and configure), for
    // the whole change; `mutex` only for the moments the lists are read or swapped, so
    // plugin code (load, create, destroy) never runs under it.
    std::mutex change_mutex;
    mutable std::mutex mutex;
    std::map<std::string, File> files;                       // by path
    std::map<std::string, std::shared_ptr<Module>> modules;  // by plugin name
    std::vector<InstanceConfig> configs;
    bool configs_given = false;
    std::vector<InstancePtr> instances;
    std::vector<InstanceInfo> instance_infos;

    File load_version(const std::filesystem::path& path) const;
    PluginInfo add_file(const std::filesystem::path& path);
    bool update_file(const std::filesystem::path& path, std::map<std::string, InstancePtr>& made);
    void remove_file(const std::string& path);
    std::vector<std::string> reconcile(std::map<std::string, InstancePtr> made);
    std::vector<InstanceConfig> wanted_instances() const;
    void tell_about_unused_simulated();

    std::set<std::string> told_simulated;  // simulated plugins the log has said are unused
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

void log_outcome(const PluginInfo& info, std::string_view verb) {
    if (info.state == PluginState::loaded) {
        BOOST_LOG_TRIVIAL(info) << "plugin " << info.name << " " << info.version << " (ABI "
                                << info.abi_version << ") " << verb << " from " << info.file;
    } else {
        BOOST_LOG_TRIVIAL(error) << "plugin " << info.file << " refused: " << info.refusal->detail;
    }
}

}  // namespace

// Loads the file as it is now. Two files may not serve one plugin name: the one loaded
// first keeps it.
PluginHost::State::File PluginHost::State::load_version(const std::filesystem::path& path) const {
    File file{stamp_of(path), {}, nullptr};
    auto module = Module::load(path, settings);
    if (!module) {
        file.info.file = path.string();
        file.info.loaded_at = std::chrono::system_clock::now();
        file.refuse(module.error());
        return file;
    }
    file.module = *module;
    file.info = file.module->info();
    auto found = modules.find(file.info.name);
    if (found != modules.end() && found->second->info().file != path.string()) {
        file.refuse({RefusalReason::duplicate_name, "duplicate plugin name '" + file.info.name +
                                                        "' (already loaded from " +
                                                        found->second->info().file + ")"});
    }
    return file;
}

PluginInfo PluginHost::State::add_file(const std::filesystem::path& path) {
    auto file = load_version(path);
    log_outcome(file.info, "loaded");
    std::lock_guard lock(mutex);
    if (file.module) modules[file.info.name] = file.module;
    auto info = file.info;
    files[path.string()] = std::move(file);
    return info;
}

// A file changed. Its new version serves only if it loads and every vendor instance using
// it can be created from it (`made` receives those); otherwise the old version stays.
bool PluginHost::State::update_file(const std::filesystem::path& path,
                                    std::map<std::string, InstancePtr>& made) {
    auto& file = files.at(path.string());
    auto next = load_version(path);
    std::map<std::string, InstancePtr> created;
    for (const auto& config : wanted_instances()) {
        if (!next.module) break;
        bool uses =
            config.plugin == next.info.name || (!configs_given && config.plugin == file.info.name);
        if (!uses) continue;
        auto priority = config.priority.value_or(next.info.default_priority);
        auto instance = Instance::create(next.module, config, priority, http);
        if (instance) {
            created[config.name] = *instance;
        } else {
            next.refuse(
                {RefusalReason::create_failed,
                 "vendor '" + config.name + "': create failed: " + instance.error().detail});
        }
    }
    if (!next.module) {
        std::lock_guard lock(mutex);
        file.stamp = next.stamp;  // the same broken contents are not tried again
        if (!file.module) {
            file.info = next.info;
            log_outcome(file.info, "");
            return false;
        }
        file.info.update_refused = {*next.info.refusal, std::chrono::system_clock::now()};
        BOOST_LOG_TRIVIAL(error) << "plugin " << path.string()
                                 << " changed, new version refused: " << next.info.refusal->detail
                                 << "; version " << file.info.version << " keeps serving";
        return false;
    }
    BOOST_LOG_TRIVIAL(info) << "plugin " << next.info.name << " reloaded from " << path.string()
                            << ": " << (file.module ? file.info.version : "refused") << " -> "
                            << next.info.version;
    std::lock_guard lock(mutex);
    if (file.module) modules.erase(file.info.name);
    modules[next.info.name] = next.module;
    file = std::move(next);
    made.merge(created);
    return true;
}

void PluginHost::State::remove_file(const std::string& path) {
    std::lock_guard lock(mutex);
    auto& file = files.at(path);
    if (file.module) {
        BOOST_LOG_TRIVIAL(info) << "plugin " << file.info.name << " unloaded: " << path
                                << " was removed";
        modules.erase(file.info.name);
    }
    files.erase(path);
}

std::vector<InstanceConfig> PluginHost::State::wanted_instances() const {
    if (configs_given) return configs;
    // No vendors list: every plugin serving real data runs once, under its own name. One
    // serving simulated data (the mock) runs only where a vendors entry names it, so made-up
    // prices never reach a client by default or as a fallback.
    std::vector<InstanceConfig> wanted;
    for (const auto& [name, module] : modules) {
        if (module->simulated()) continue;
        InstanceConfig config;
        config.name = name;
        config.plugin = name;
        wanted.push_back(std::move(config));
    }
    return wanted;
}

// With no vendors list, says once per plugin how to use a simulated one it leaves out.
void PluginHost::State::tell_about_unused_simulated() {
    if (configs_given) return;
    std::vector<std::string> names;
    for (const auto& [name, module] : modules) {
        if (module->simulated() && told_simulated.insert(name).second) names.push_back(name);
    }
    if (names.empty()) return;
    std::string listed;
    for (const auto& name : names)
        listed += (listed.empty() ? "" : ", ") + name;
    BOOST_LOG_TRIVIAL(info) << "simulated plugins not used: " << listed
                            << " (made-up data runs only where a \"vendors\" entry of the config "
                               "names it, e.g. \"vendors\": [{\"name\": \""
                            << names.front() << "\", \"plugin\": \"" << names.front() << "\"}])";
}

// Makes the instance list match the wanted one: instances in `made` are used as they are,
// unchanged ones (same config, same library) are kept, the rest are created.
std::vector<std::string> PluginHost::State::reconcile(std::map<std::string, InstancePtr> made) {
    std::vector<std::string> problems;
    std::vector<InstancePtr> next;
    std::vector<InstanceInfo> infos;
    std::set<std::string> names;
    for (const auto& config : wanted_instances()) {
        InstanceInfo info;
        info.name = config.name;
        info.plugin = config.plugin;
        info.priority = config.priority.value_or(0);
        info.enabled = config.enabled;
        info.isolation = config.isolation;
        auto module = modules.find(config.plugin);
        if (module != modules.end()) info.simulated = module->second->simulated();
        if (!names.insert(config.name).second) {
            info.error = "duplicate vendor name '" + config.name + "'";
        } else if (module == modules.end()) {
            info.error = "plugin '" + config.plugin + "' is not loaded";
        } else {
            info.priority = config.priority.value_or(module->second->info().default_priority);
            auto kept = std::find_if(instances.begin(), instances.end(), [&](const auto& i) {
                return i->name() == config.name && i->config() == config &&
                       i->module() == module->second.get();
            });
            InstancePtr instance;
            if (made.contains(config.name)) {
                instance = made.at(config.name);
            } else if (kept != instances.end()) {
                instance = *kept;
            } else if (auto created =
                           Instance::create(module->second, config, info.priority, http)) {
                instance = *created;
            } else {
                info.error = "create failed: " + created.error().detail;
            }
            if (instance) {
                next.push_back(std::move(instance));
                info.state = InstanceState::ready;
            }
        }
        if (info.state != InstanceState::ready) {
            problems.push_back("vendor '" + config.name + "': " + info.error);
            BOOST_LOG_TRIVIAL(error) << "vendor " << config.name << " unavailable: " << info.error;
        }
        infos.push_back(std::move(info));
    }
    tell_about_unused_simulated();
    std::lock_guard lock(mutex);
    instances.swap(next);
    instance_infos.swap(infos);
    return problems;  // the replaced instances die with `next`, after the lock is released:
                      // their destroy() runs plugin code
}

PluginHost::PluginHost(std::vector<std::filesystem::path> plugin_dirs, HostSettings settings)
    : state_(std::make_unique<State>()) {
    state_->plugin_dirs = std::move(plugin_dirs);
    state_->settings = settings;
}

PluginHost::~PluginHost() = default;

const std::vector<std::filesystem::path>& PluginHost::plugin_dirs() const {
    return state_->plugin_dirs;
}

void PluginHost::load_all() {
    for (const auto& dir : state_->plugin_dirs) {
        for (const auto& file : plugin_files(dir))
            load_file(file);
    }
}

PluginInfo PluginHost::load_file(const std::filesystem::path& file) {
    std::lock_guard change(state_->change_mutex);
    return state_->add_file(file);
}

RescanReport PluginHost::rescan() {
    std::lock_guard change(state_->change_mutex);
    auto started = std::chrono::steady_clock::now();
    RescanReport report;
    std::map<std::string, std::filesystem::path> present;
    for (const auto& dir : state_->plugin_dirs) {
        for (const auto& file : plugin_files(dir))
            present.emplace(file.string(), file);
    }
    std::vector<std::string> gone;
    for (const auto& [path, file] : state_->files) {
        bool watched =
            std::find(state_->plugin_dirs.begin(), state_->plugin_dirs.end(),
                      std::filesystem::path(path).parent_path()) != state_->plugin_dirs.end();
        if (watched && !present.contains(path)) gone.push_back(path);
    }
    for (const auto& path : gone) {
        state_->remove_file(path);
        report.unloaded.push_back(path);
    }
    std::map<std::string, InstancePtr> made;
    for (const auto& [path, file] : present) {
        auto known = state_->files.find(path);
        if (known == state_->files.end()) {
            auto info = state_->add_file(file);
            (info.state == PluginState::loaded ? report.loaded : report.refused).push_back(path);
        } else if (known->second.stamp != stamp_of(file)) {
            (state_->update_file(file, made) ? report.reloaded : report.refused).push_back(path);
        }
    }
    state_->reconcile(std::move(made));
    report.took_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    return report;
}

std::vector<std::string> PluginHost::configure(const std::vector<InstanceConfig>& configs,
                                               bool configs_given) {
    std::lock_guard change(state_->change_mutex);
    state_->configs = configs;
    state_->configs_given = configs_given;
    return state_->reconcile({});
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
    std::vector<PluginInfo> infos;
    for (const auto& [path, file] : state_->files)
        infos.push_back(file.info);
    return infos;
}

webclient::Counters PluginHost::http_counters() const {
    return state_->http->counters();
}

std::vector<InstanceInfo> PluginHost::instances() const {
    std::vector<InstanceInfo> infos;
    {
        std::lock_guard lock(state_->mutex);
        infos = state_->instance_infos;
        for (auto& info : infos) {
            for (const auto& instance : state_->instances) {
                if (instance->name() != info.name) continue;
                info.budget = instance->budget_json();
                info.runner = instance->runner_json();
            }
        }
    }
    // Outside the lock: it reads /proc.
    for (auto& info : infos) {
        if (info.runner) isolation::add_memory(*info.runner);
    }
    return infos;
}

namespace {

// The JSON names, indexed by the enums' values: a new value is added to both, in order.
constexpr std::array<std::string_view, 19> kRefusalReasonNames = {
    "insecure_folder",
    "insecure_file",
    "unreadable",
    "copy_failed",
    "not_elf",
    "wrong_word_size",
    "truncated",
    "load_failed",
    "no_entry_symbol",
    "no_descriptor",
    "abi_major",
    "abi_newer_minor",
    "descriptor_too_small",
    "invalid_name",
    "incomplete_descriptor",
    "no_data_types",
    "unknown_data_type",
    "duplicate_name",
    "create_failed",
};
static_assert(kRefusalReasonNames.size() == std::size_t(RefusalReason::create_failed) + 1);
constexpr std::array<std::string_view, 2> kPluginStateNames = {"loaded", "refused"};
constexpr std::array<std::string_view, 2> kInstanceStateNames = {"ready", "failed"};

}  // namespace

std::string_view to_string(RefusalReason reason) {
    return name_of(kRefusalReasonNames, reason);
}

std::string_view to_string(PluginState state) {
    return name_of(kPluginStateNames, state);
}

std::optional<PluginState> parse_plugin_state(std::string_view text) {
    return parse_name<PluginState>(kPluginStateNames, text);
}

std::string_view to_string(InstanceState state) {
    return name_of(kInstanceStateNames, state);
}

std::optional<InstanceState> parse_instance_state(std::string_view text) {
    return parse_name<InstanceState>(kInstanceStateNames, text);
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
                            {"simulated", info.simulated},
                            {"state", to_string(info.state)},
                            {"loaded_at", iso8601_utc(info.loaded_at)}};
    if (info.refusal) {
        out["error"] = info.refusal->detail;
        out["reason"] = to_string(info.refusal->reason);
    }
    if (info.update_refused) {
        out["update_refused"] = {{"error", info.update_refused->refusal.detail},
                                 {"reason", to_string(info.update_refused->refusal.reason)},
                                 {"at", iso8601_utc(info.update_refused->at)}};
    }
    return out;
}

boost::json::object to_json(const RescanReport& report) {
    auto list = [](const std::vector<std::string>& files) {
        return boost::json::array(files.begin(), files.end());
    };
    return {{"loaded", list(report.loaded)},
            {"reloaded", list(report.reloaded)},
            {"unloaded", list(report.unloaded)},
            {"refused", list(report.refused)},
            {"took_ms", report.took_ms}};
}

std::string describe(const RescanReport& report) {
    std::ostringstream text;
    text << "plugin folders rescanned in " << report.took_ms << " ms: " << report.loaded.size()
         << " loaded, " << report.reloaded.size() << " reloaded, " << report.unloaded.size()
         << " unloaded, " << report.refused.size() << " refused";
    return text.str();
}

boost::json::object to_json(const InstanceInfo& info) {
    boost::json::object out{{"name", info.name},           {"plugin", info.plugin},
                            {"priority", info.priority},   {"enabled", info.enabled},
                            {"simulated", info.simulated}, {"state", to_string(info.state)}};
    out["isolation"] = isolation::to_string(info.isolation);
    if (!info.error.empty()) out["error"] = info.error;
    if (info.budget) out["budget"] = *info.budget;
    if (info.runner) out["runner"] = *info.runner;
    return out;
}

}  // namespace tickerd::plugins
