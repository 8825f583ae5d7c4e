#include "core/huge_pages.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace tickerd::huge_pages {

namespace {

using boost::log::trivial::info;
using boost::log::trivial::warning;

// "always [madvise] never": the bracketed word is the kernel's mode.
std::string kernel_mode() {
    std::ifstream file("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string modes;
    std::getline(file, modes);
    auto open = modes.find('[');
    auto close = modes.find(']', open);
    if (open == std::string::npos || close == std::string::npos) return "";
    return modes.substr(open + 1, close - open - 1);
}

}  // namespace

Outcome reexec_with_huge_pages(char** argv) {
    const char* given = std::getenv("GLIBC_TUNABLES");
    std::string tunables = given ? given : "";
    if (tunables.find(kTunables) != std::string::npos)
        return {info, "heap in transparent huge pages, one malloc arena (GLIBC_TUNABLES=" +
                          tunables + ")"};
    if (tunables.find("glibc.malloc.hugetlb") != std::string::npos)
        return {info, "heap as GLIBC_TUNABLES=" + tunables + " asks (huge_pages left to it)"};
    std::string mode = kernel_mode();
    if (mode == "never" || mode.empty())
        return {info,
                "transparent huge pages are off in this kernel "
                "(/sys/kernel/mm/transparent_hugepage/enabled): heap in 4 KB pages"};
    // The program's own path, not /proc/self/exe: the process's name (ps, pgrep, top) is the
    // file name it was executed from.
    std::error_code failed;
    auto self = std::filesystem::read_symlink("/proc/self/exe", failed).string();
    if (failed)
        return {warning, "cannot find this program's path for huge pages (" + failed.message() +
                             "): heap in 4 KB pages"};
    if (self.ends_with(" (deleted)"))  // replaced on disk since it started: not another version
        return {warning,
                "this program's file was replaced since it started: heap in 4 KB pages "
                "until the next start"};
    std::string wanted = tunables.empty() ? kTunables : tunables + ":" + kTunables;
    ::setenv("GLIBC_TUNABLES", wanted.c_str(), 1);
    ::execv(self.c_str(), argv);
    int error = errno;  // still here: carry on as we are
    if (given)
        ::setenv("GLIBC_TUNABLES", given, 1);
    else
        ::unsetenv("GLIBC_TUNABLES");
    return {warning, "cannot execute " + self + " again for huge pages (" + std::strerror(error) +
                         "): heap in 4 KB pages"};
}

}  // namespace tickerd::huge_pages
