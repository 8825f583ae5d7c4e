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
// /proc/self/fd/N.
class PrivateCopy {
  public:
    // Copies `file`; refused when it cannot be read, is not a whole ELF object of ours, or
    // (unless `settings` allow it) could have been written by someone tickerd does not trust.
    static Result<std::unique_ptr<PrivateCopy>, Refusal> create(const std::filesystem::path& file,
                                                                const HostSettings& settings);
    ~PrivateCopy();
    PrivateCopy(const PrivateCopy&) = delete;
    PrivateCopy& operator=(const PrivateCopy&) = delete;
    std::string path() const;
    int fd() const { return fd_; }

  private:
    explicit PrivateCopy(int fd) : fd_(fd) {}
    int fd_;
};

class Module {
  public:
    // Checks who could have written `file` and its folder (as `settings` say), loads it and
    // checks its descriptor; a file that cannot be used is refused with its reason and one
    // line a user can act on.
    static Result<std::shared_ptr<Module>, Refusal> load(const std::filesystem::path& file,
                                                         const HostSettings& settings);

    const tickerd_plugin& descriptor() const { return *descriptor_; }
    const PluginInfo& info() const { return info_; }
    bool serves(DataType type) const;
    bool thread_safe() const { return (descriptor_->flags & TICKERD_PLUGIN_THREADSAFE) != 0; }
    bool simulated() const { return info_.simulated; }
    // The validated copy of the file, which an isolated instance's runner loads.
    int copy_fd() const { return copy_->fd(); }

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
