// huge_pages: the daemon executes itself again, once, with glibc's tunables for a heap in
// transparent huge pages (README, "Huge pages for the heap"); the setting off, or a
// GLIBC_TUNABLES of the user's own that names glibc.malloc.hugetlb, leaves the heap alone.
#define BOOST_TEST_MODULE daemon_heap
#include <boost/test/unit_test.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <fstream>

using namespace tickerd::testing;
namespace json = boost::json;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;  // ASan's allocator, not glibc's, serves malloc
#else
constexpr bool kAddressSanitizer = false;
#endif

// glibc madvises the heap only where the kernel's mode is "madvise" ("always" needs nothing).
bool kernel_wants_madvise() {
    std::ifstream file("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string modes;
    std::getline(file, modes);
    return modes.find("[madvise]") != std::string::npos;
}

// Whether the process's [heap] mapping is marked for huge pages ("hg" in its VmFlags).
bool heap_marked_huge(pid_t pid) {
    std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
    bool in_heap = false;
    for (std::string line; std::getline(smaps, line);) {
        if (line.ends_with("[heap]")) in_heap = true;
        if (in_heap && line.starts_with("VmFlags:")) return line.find(" hg") != std::string::npos;
    }
    return false;
}

const std::string kHuge = "heap in transparent huge pages, one malloc arena";

}  // namespace

BOOST_AUTO_TEST_CASE(the_daemon_runs_with_its_heap_in_huge_pages_by_default) {
    TempDir files("tickerd-heap");
    auto daemon = start_daemon_with_config(files, json::object{});
    BOOST_TEST(count_occurrences(daemon->log(), kHuge) == 1u, daemon->log_tail());
    // Executed again in place: the process the test started is the one that answers, and it
    // keeps its name (ps, pgrep tickerd).
    HttpClient http("127.0.0.1", daemon->port());
    BOOST_TEST(http.get("/").status == 200u);
    BOOST_TEST(daemon->running());
    std::ifstream comm("/proc/" + std::to_string(daemon->pid()) + "/comm");
    std::string name;
    std::getline(comm, name);
    BOOST_TEST(name == "tickerd");
    if (kernel_wants_madvise() && !kAddressSanitizer) BOOST_TEST(heap_marked_huge(daemon->pid()));
}

BOOST_AUTO_TEST_CASE(the_setting_off_or_the_users_own_tunables_leave_the_heap_alone) {
    TempDir files("tickerd-heap");
    auto off = start_daemon_with_config(files, {{"huge_pages", false}});
    BOOST_TEST(off->log().find("huge pages") == std::string::npos, off->log_tail());
    BOOST_TEST(!heap_marked_huge(off->pid()));

    auto theirs = start_daemon_with_config(files, json::object{},
                                           {{"GLIBC_TUNABLES", "glibc.malloc.hugetlb=0"}});
    BOOST_TEST(count_occurrences(theirs->log(),
                                 "heap as GLIBC_TUNABLES=glibc.malloc.hugetlb=0 asks") == 1u,
               theirs->log_tail());
    BOOST_TEST(!heap_marked_huge(theirs->pid()));
}
