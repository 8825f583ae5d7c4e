// A private folder under /tmp for one test's files, removed with everything in it when the
// object goes away. What it makes is never writable by group or others, whatever the umask:
// the daemon refuses plugin files and folders that are (a test about that makes them so).
#pragma once

#include <filesystem>
#include <string>

namespace tickerd::testing {

class TempDir {
  public:
    explicit TempDir(const std::string& prefix = "tickerd-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

    // Writes `text` to <dir>/<name> (creating parent folders) and returns the full path.
    std::filesystem::path write(const std::string& name, const std::string& text) const;
    // Creates the folder <dir>/<name> (and its parents) and returns the full path.
    std::filesystem::path folder(const std::string& name) const;

  private:
    std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);

}  // namespace tickerd::testing
