// Plugin folder safety: whoever can rewrite a plugin file, or swap it in its folder, runs code
// inside tickerd. A file or folder writable by group or others, or owned by a user other than
// root or tickerd's own, is refused with its reason (insecure_file, insecure_folder) and a
// sentence naming the path, its mode and owner and the fix; plugins.allow_insecure_files
// loads them anyway; a refused file that is made safe loads on the next rescan. In the plugin
// host, then through the daemon's JSON. Tests run as root here; the cases that chown need it.
#define BOOST_TEST_MODULE plugins_file_safety
#include <boost/test/unit_test.hpp>

#include "abi/plugin_checks.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace tickerd;
using namespace tickerd::testing;
using namespace std::chrono_literals;
using plugins::PluginState;
using plugins::RefusalReason;

namespace {

const fs::path kFixtures = TICKERD_TEST_ABI_PLUGIN_DIR;
constexpr uid_t kNobody = 65534;
const plugins::HostSettings kRelaxed{.allow_insecure_files = true};

// A plugin folder of our own, safe (0755), holding a copy of good.so (0755).
struct Folder {
    TempDir files{"tickerd-safety"};
    fs::path plugins = files.folder("vendors");
    fs::path plugin = plugins / "good.so";

    Folder() { fs::copy_file(kFixtures / "good.so", plugin); }
};

void set_mode(const fs::path& path, int mode) {
    fs::permissions(path, static_cast<fs::perms>(mode), fs::perm_options::replace);
}

void set_owner(const fs::path& path, uid_t owner) {
    BOOST_TEST_REQUIRE(::chown(path.c_str(), owner, static_cast<gid_t>(-1)) == 0, path);
}

plugins::PluginInfo load(const fs::path& file, plugins::HostSettings settings = {}) {
    plugins::PluginHost host({}, settings);
    return host.load_file(file);
}

// `info` is refused for `reason`, and its sentence holds each of `parts`.
void expect_refused(const plugins::PluginInfo& info, RefusalReason reason,
                    std::initializer_list<std::string> parts) {
    BOOST_TEST(info.state == PluginState::refused);
    BOOST_TEST_REQUIRE(info.refusal.has_value());
    BOOST_TEST(info.refusal->reason == reason);
    for (const auto& part : parts) {
        BOOST_TEST(info.refusal->detail.find(part) != std::string::npos,
                   "'" << info.refusal->detail << "' should contain '" << part << "'");
    }
}

bool running_as_root() {
    if (::geteuid() == 0) return true;
    BOOST_TEST_MESSAGE("skipped: changing a file's owner needs root");
    return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_plugin_file_group_or_others_can_write_is_refused) {
    Folder folder;
    const struct {
        int mode;
        std::string text, who;
    } cases[] = {{0775, "0775", "writable by group,"},
                 {0757, "0757", "writable by others,"},
                 {0666, "0666", "writable by group and others,"}};
    for (const auto& [mode, text, who] : cases) {
        BOOST_TEST_CONTEXT(text) {
            set_mode(folder.plugin, mode);
            expect_refused(load(folder.plugin), RefusalReason::insecure_file,
                           {"insecure plugin file " + folder.plugin.string() + " (mode " + text,
                            who, "fix: chmod go-w " + folder.plugin.string(),
                            "or set plugins.allow_insecure_files for development"});
            BOOST_TEST(load(folder.plugin, kRelaxed).state == PluginState::loaded);
        }
    }
    set_mode(folder.plugin, 0755);
    BOOST_TEST(load(folder.plugin).state == PluginState::loaded);
}

BOOST_AUTO_TEST_CASE(a_plugin_folder_others_can_write_is_refused) {
    Folder folder;
    for (int mode : {0777, 01777, 0775}) {  // a sticky bit does not keep a new file out
        BOOST_TEST_CONTEXT(std::oct << mode) {
            set_mode(folder.plugins, mode);
            expect_refused(load(folder.plugin), RefusalReason::insecure_folder,
                           {"insecure plugin folder " + folder.plugins.string() + " (mode ",
                            "fix: chmod go-w " + folder.plugins.string()});
            BOOST_TEST(load(folder.plugin, kRelaxed).state == PluginState::loaded);
        }
    }
    set_mode(folder.plugins, 0755);
    BOOST_TEST(load(folder.plugin).state == PluginState::loaded);
}

BOOST_AUTO_TEST_CASE(a_plugin_file_or_folder_owned_by_another_user_is_refused) {
    if (!running_as_root()) return;
    Folder folder;
    set_owner(folder.plugin, kNobody);
    expect_refused(load(folder.plugin), RefusalReason::insecure_file,
                   {"owner nobody", "owned by nobody, neither root nor tickerd's own user",
                    "fix: chown root " + folder.plugin.string()});
    BOOST_TEST(load(folder.plugin, kRelaxed).state == PluginState::loaded);
    // Both wrong at once: both fixes.
    set_mode(folder.plugin, 0775);
    expect_refused(
        load(folder.plugin), RefusalReason::insecure_file,
        {"owned by nobody", "and writable by group",
         "fix: chown root " + folder.plugin.string() + " && chmod go-w " + folder.plugin.string()});
    set_mode(folder.plugin, 0755);
    set_owner(folder.plugin, 0);

    set_owner(folder.plugins, kNobody);
    expect_refused(load(folder.plugin), RefusalReason::insecure_folder,
                   {"insecure plugin folder " + folder.plugins.string(), "owned by nobody"});
    BOOST_TEST(load(folder.plugin, kRelaxed).state == PluginState::loaded);
}

// A symbolic link in a safe folder is only as safe as the folder its target is in.
BOOST_AUTO_TEST_CASE(a_linked_plugin_answers_for_its_target_folder_too) {
    Folder folder;
    auto elsewhere = folder.files.folder("elsewhere");
    fs::rename(folder.plugin, elsewhere / "good.so");
    fs::create_symlink(elsewhere / "good.so", folder.plugin);
    BOOST_TEST(load(folder.plugin).state == PluginState::loaded);
    set_mode(elsewhere, 0777);
    expect_refused(load(folder.plugin), RefusalReason::insecure_folder,
                   {"insecure plugin folder " + elsewhere.string()});
}

// Made safe, a refused file loads on the next rescan. A loaded one whose folder turns unsafe
// keeps serving the code checked when it loaded, and the listing says why a reload is refused.
BOOST_AUTO_TEST_CASE(a_refused_file_made_safe_loads_on_the_next_rescan) {
    Folder folder;
    set_mode(folder.plugin, 0664);
    plugins::PluginHost host({folder.plugins});
    host.load_all();
    host.configure({}, false);
    BOOST_TEST(host.plugins().front().state == PluginState::refused);
    BOOST_TEST(host.ranked_for(DataType::market_data).empty());

    set_mode(folder.plugin, 0644);
    auto report = host.rescan();
    BOOST_TEST(report.reloaded.size() == 1u, describe(report));
    BOOST_TEST(host.plugins().front().state == PluginState::loaded);
    BOOST_TEST(host.ranked_for(DataType::market_data).size() == 1u);

    set_mode(folder.plugins, 0777);
    report = host.rescan();
    BOOST_TEST(report.refused.size() == 1u, describe(report));
    auto info = host.plugins().front();
    BOOST_TEST(info.state == PluginState::loaded);
    BOOST_TEST_REQUIRE(info.update_refused.has_value());
    BOOST_TEST(info.update_refused->refusal.reason == RefusalReason::insecure_folder);
    BOOST_TEST(host.ranked_for(DataType::market_data).size() == 1u);

    set_mode(folder.plugins, 0755);
    BOOST_TEST(host.rescan().reloaded.size() == 1u);
    BOOST_TEST(!host.plugins().front().update_refused.has_value());
}

namespace {

// A daemon on two plugin folders: `vendors` (safe) with good.so group-writable and
// abi_1_0.so owned by nobody, and `open` (world-writable) with abi_1_1.so.
struct UnsafeDaemon {
    TempDir files{"tickerd-safety-daemon"};
    fs::path safe = files.folder("vendors");
    fs::path open = files.folder("open");
    std::unique_ptr<DaemonProcess> daemon;

    explicit UnsafeDaemon(EnvVars env = {}) {
        fs::copy_file(kFixtures / "good.so", safe / "good.so");
        fs::copy_file(kFixtures / "abi_1_0.so", safe / "abi_1_0.so");
        fs::copy_file(kFixtures / "abi_1_1.so", open / "abi_1_1.so");
        set_mode(safe / "good.so", 0664);
        if (::geteuid() == 0) set_owner(safe / "abi_1_0.so", kNobody);
        set_mode(open, 0777);
        DaemonOptions options;
        options.config_file = write_config(
            files, {{"instruments", {{{"symbol", "AAPL"}, {"data_types", {"market_data"}}}}},
                    {"cadences", {{"market_data", {{"interval_seconds", 0.2}}}}}});
        options.env = std::move(env);
        options.env.emplace_back("AUTO_START_WORKERS", "true");
        options.plugin_dirs = std::vector<fs::path>{safe, open};
        daemon = std::make_unique<DaemonProcess>(options);
        daemon->wait_ready();
    }

    // The entry of GET /streaming/config/vendors for the file named `name`.
    json::object entry(const std::string& name) {
        HttpClient http("127.0.0.1", daemon->port());
        auto vendors = http.get("/streaming/config/vendors").json();
        for (const auto& plugin : vendors.at("plugins").as_array()) {
            if (fs::path(std::string(plugin.at("file").as_string())).filename() == name)
                return plugin.as_object();
        }
        return {};
    }
    bool loaded(const std::string& name) {
        auto found = entry(name);
        return found.contains("state") && found.at("state") == "loaded";
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_daemon_names_each_refusal_and_loads_the_file_once_it_is_safe) {
    UnsafeDaemon unsafe;
    auto good = unsafe.entry("good.so");
    BOOST_TEST(good.at("state") == "refused", json::serialize(good));
    BOOST_TEST(good.at("reason") == "insecure_file");
    auto error = std::string(good.at("error").as_string());
    BOOST_TEST(error.find("(mode 0664") != std::string::npos, error);
    BOOST_TEST(error.find("chmod go-w " + (unsafe.safe / "good.so").string()) != std::string::npos,
               error);
    auto open = unsafe.entry("abi_1_1.so");
    BOOST_TEST(open.at("reason") == "insecure_folder", json::serialize(open));
    BOOST_TEST(
        std::string(open.at("error").as_string()).find(unsafe.open.string() + " (mode 0777") !=
        std::string::npos);
    if (::geteuid() == 0) BOOST_TEST(unsafe.entry("abi_1_0.so").at("reason") == "insecure_file");
    BOOST_TEST(unsafe.daemon->log().find("good.so refused: insecure plugin file") !=
               std::string::npos);

    // Fixed in place, without a restart: the folder watch sees the new modes and owner.
    set_mode(unsafe.safe / "good.so", 0644);
    set_mode(unsafe.open, 0755);
    if (::geteuid() == 0) set_owner(unsafe.safe / "abi_1_0.so", 0);
    for (const char* name : {"good.so", "abi_1_1.so", "abi_1_0.so"}) {
        BOOST_TEST(wait_until([&] { return unsafe.loaded(name); }, 5s),
                   name << "\n"
                        << unsafe.daemon->log_tail());
    }
    HttpClient http("127.0.0.1", unsafe.daemon->port());
    BOOST_TEST(wait_until(
        [&] {
            auto latest = http.get("/streaming/latest/stream:market_data:AAPL").json();
            return latest.at("message").is_object() &&
                   latest.at("message").at("vendor") == "abi_good";
        },
        10s));
}

BOOST_AUTO_TEST_CASE(the_relaxing_setting_loads_them_with_a_warning_each) {
    UnsafeDaemon unsafe(EnvVars{{"TICKERD_ALLOW_INSECURE_PLUGINS", "true"}});
    for (const char* name : {"good.so", "abi_1_1.so", "abi_1_0.so"})
        BOOST_TEST(unsafe.loaded(name), name);
    auto expected = ::geteuid() == 0 ? 3u : 2u;
    BOOST_TEST(count_occurrences(unsafe.daemon->log(),
                                 "(loaded anyway: plugins.allow_insecure_files is on)") == expected,
               unsafe.daemon->log_tail());
}
