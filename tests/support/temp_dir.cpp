#include "support/temp_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace tickerd::testing {

TempDir::TempDir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) {
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    path_ = buffer.data();
}

TempDir::~TempDir() {
    std::error_code ignored;  // a destructor must not throw; a leftover folder is harmless
    std::filesystem::remove_all(path_, ignored);
}

namespace {

// Takes write access away from group and others on `path` and the folders up to `top`.
void make_safe(const std::filesystem::path& top, std::filesystem::path path) {
    using std::filesystem::perms;
    for (; path != top && path.has_relative_path(); path = path.parent_path()) {
        std::filesystem::permissions(path, perms::group_write | perms::others_write,
                                     std::filesystem::perm_options::remove);
    }
}

}  // namespace

std::filesystem::path TempDir::write(const std::string& name, const std::string& text) const {
    auto target = path_ / name;
    std::filesystem::create_directories(target.parent_path());
    {
        std::ofstream out(target, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) throw std::runtime_error("cannot write " + target.string());
    }
    make_safe(path_, target);
    return target;
}

std::filesystem::path TempDir::folder(const std::string& name) const {
    auto target = path_ / name;
    std::filesystem::create_directories(target);
    make_safe(path_, target);
    return target;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace tickerd::testing
