// The house rules a reader of the tree can check (CONTRIBUTING.md): inside one part's folder
// no two files depend on each other in a circle (a file depends on another when it includes
// its header; a header and the .cpp of the same name are one unit), and a part's sources only
// include the parts it links (host/CMakeLists.txt's order).
#define BOOST_TEST_MODULE house_includes
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kSources = fs::path(TICKERD_SOURCE_DIR) / "host" / "src";

// "#include "gateway/rest.hpp"" → {"gateway", "rest"}
std::vector<std::pair<std::string, std::string>> includes_of(const fs::path& file) {
    static const std::regex line(R"re(^\s*#include\s+"(\w+)/(\w+)\.hpp")re");
    std::vector<std::pair<std::string, std::string>> found;
    std::ifstream in(file);
    std::string text;
    while (std::getline(in, text)) {
        std::smatch match;
        if (std::regex_search(text, match, line)) found.emplace_back(match[1], match[2]);
    }
    return found;
}

using Graph = std::map<std::string, std::set<std::string>>;

// One cycle as "a -> b -> a", or "" when there is none.
std::string find_cycle(const Graph& graph) {
    std::map<std::string, int> state;  // 0 unseen, 1 on the path, 2 done
    std::vector<std::string> path;
    std::string cycle;
    std::function<bool(const std::string&)> visit = [&](const std::string& node) {
        state[node] = 1;
        path.push_back(node);
        if (auto edges = graph.find(node); edges != graph.end()) {
            for (const auto& next : edges->second) {
                if (state[next] == 1) {
                    auto start = std::find(path.begin(), path.end(), next);
                    for (auto it = start; it != path.end(); ++it)
                        cycle += *it + " -> ";
                    cycle += next;
                    return true;
                }
                if (state[next] == 0 && visit(next)) return true;
            }
        }
        path.pop_back();
        state[node] = 2;
        return false;
    };
    for (const auto& [node, edges] : graph) {
        if (state[node] == 0 && visit(node)) return cycle;
    }
    return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(no_include_cycle_inside_a_part) {
    std::size_t folders = 0;
    for (const auto& folder : fs::directory_iterator(kSources)) {
        if (!folder.is_directory()) continue;
        ++folders;
        std::string part = folder.path().filename();
        Graph graph;
        for (const auto& file : fs::directory_iterator(folder.path())) {
            std::string unit = file.path().stem();
            graph[unit];
            for (const auto& [included_part, included] : includes_of(file.path())) {
                if (included_part == part && included != unit) graph[unit].insert(included);
            }
        }
        BOOST_TEST(find_cycle(graph) == "", part << ": include cycle " << find_cycle(graph));
    }
    BOOST_TEST(folders >= 8u);
}

BOOST_AUTO_TEST_CASE(a_cycle_is_found_when_there_is_one) {
    Graph graph{{"load", {"config_file"}}, {"config_file", {"checks"}}, {"checks", {"load"}}};
    BOOST_TEST(find_cycle(graph) == "checks -> load -> config_file -> checks");
    BOOST_TEST(find_cycle({{"a", {"b"}}, {"b", {}}}) == "");
}

BOOST_AUTO_TEST_CASE(parts_include_only_the_parts_they_link) {
    // Each part and what it may include besides itself: the link order of host/CMakeLists.txt.
    const std::map<std::string, std::set<std::string>> allowed = {
        {"core", {}},
        {"bus", {"core"}},
        {"telemetry", {"core"}},
        {"webclient", {"core"}},
        {"isolation", {"core", "webclient"}},
        {"plugins", {"core", "webclient", "isolation"}},
        {"access", {"core"}},
        {"config", {"core", "webclient", "isolation", "plugins", "bus", "access"}},
        {"scheduler",
         {"core", "webclient", "isolation", "plugins", "bus", "access", "config", "telemetry"}},
        {"alerts",
         {"core", "webclient", "isolation", "plugins", "bus", "access", "config", "telemetry",
          "scheduler"}},
        {"gateway",
         {"core", "webclient", "isolation", "plugins", "bus", "access", "config", "telemetry",
          "scheduler", "alerts"}},
        {"cluster",
         {"core", "webclient", "isolation", "plugins", "bus", "access", "config", "telemetry",
          "scheduler"}},
    };
    for (const auto& folder : fs::directory_iterator(kSources)) {
        if (!folder.is_directory()) continue;
        std::string part = folder.path().filename();
        BOOST_TEST_REQUIRE(allowed.contains(part),
                           "a new part: add it here and to the CMake order");
        for (const auto& file : fs::directory_iterator(folder.path())) {
            for (const auto& [included_part, included] : includes_of(file.path())) {
                if (included_part == part) continue;
                BOOST_TEST(allowed.at(part).contains(included_part),
                           file.path().filename()
                               << " includes " << included_part << "/" << included << ".hpp");
            }
        }
    }
}
