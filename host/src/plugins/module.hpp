// A plugin library, loaded and validated. Internal to the plugins part.
#pragma once

#include "plugins/plugins.hpp"

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>
#include <vector>

namespace tickerd::plugins {

// A string view as the ABI's {ptr, len}; borrowed for the length of one call.
inline tickerd_str sdk_str(std::string_view text) {
    return {text.data(), text.size()};
}

// An in-memory copy of a plugin file (memfd) that the dynamic loader maps through
// /proc/self/fd/N. Throws std::runtime_error when the file cannot be read.
class PrivateCopy {
  public:
    explicit PrivateCopy(const std::filesystem::path& file);
    ~PrivateCopy();
    PrivateCopy(const PrivateCopy&) = delete;
    PrivateCopy& operator=(const PrivateCopy&) = delete;
    std::string path() const;

  private:
    int fd_ = -1;
};

class Module {
  public:
    // Loads `file` and checks its descriptor. Returns nullptr when the file cannot be used;
    // `info` then says why (state refused, error = one line a user can act on).
    static std::shared_ptr<Module> load(const std::filesystem::path& file, PluginInfo& info);

    const tickerd_plugin& descriptor() const { return *descriptor_; }
    const PluginInfo& info() const { return info_; }
    bool serves(DataType type) const;
    bool thread_safe() const { return (descriptor_->flags & TICKERD_PLUGIN_THREADSAFE) != 0; }

  private:
    Module(std::unique_ptr<PrivateCopy> copy, boost::dll::shared_library library,
           const tickerd_plugin* descriptor, PluginInfo info, std::vector<DataType> types);

    std::unique_ptr<PrivateCopy> copy_;   // what library_ maps; destroyed after it
    boost::dll::shared_library library_;  // unmapped when the last instance lets go
    const tickerd_plugin* descriptor_;    // static storage inside library_
    PluginInfo info_;
    std::vector<DataType> types_;
};

}  // namespace tickerd::plugins
