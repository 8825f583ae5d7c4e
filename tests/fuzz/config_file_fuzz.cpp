// libFuzzer target for the config file (scripts/fuzz.sh): bytes → config::apply_file, as
// --config and SIGHUP read it. A file is taken or refused with a ConfigError naming the file;
// anything else thrown, a crash or a hang is a bug, and a refused file leaves the
// configuration as it was.
#include "config/config.hpp"

#include "fuzz_support.hpp"

#include <cstdint>

using namespace tickerd;

namespace {

const std::string kOrigin = "/nonexistent/tickerd.json";  // relative paths resolve beside it

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    config::DaemonConfig config;
    config.listen = "127.0.0.1:9";
    config.access.allowed_origins = {"https://before.example"};
    try {
        config::apply_file(config, text, kOrigin);
    } catch (const config::ConfigError& error) {
        FUZZ_REQUIRE(std::string_view(error.what()).starts_with(kOrigin));
        FUZZ_REQUIRE(config.listen == "127.0.0.1:9");
        FUZZ_REQUIRE(config.access.allowed_origins.size() == 1);
        FUZZ_REQUIRE(config.vendors.empty() && config.runtime.instruments.empty());
    }
    // Anything else thrown escapes: libFuzzer reports it as a crash (uncaught exception).
    return 0;
}
