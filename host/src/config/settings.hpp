// Internal to config/: the settings table's rows with what each one can do — read a value
// from the environment or a flag, read it from the config file, show it — so that the
// layers (load.cpp, config_file.cpp, command_line.cpp) only walk the table.
#pragma once

#include "config/config.hpp"

#include <boost/json/value.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tickerd::config::detail {

// Environment variables hold a list in one value (':' or ',' separated); a repeated flag
// gives one value per occurrence.
enum class TextOrigin { environment, flag };

struct Setting {
    SettingInfo info;
    bool secret = false;         // never shown (status document, logs)
    long long min = 0, max = 0;  // integer settings: the accepted range

    // Each fails with an Error whose detail says what is wrong with the value; the caller
    // names where it came from.
    Result<void> (*read_text)(const Setting&, DaemonConfig&, const std::vector<std::string>& values,
                              TextOrigin) = nullptr;
    // `base_dir` resolves relative paths: the config file's folder.
    Result<void> (*read_json)(const Setting&, DaemonConfig&, const boost::json::value&,
                              const std::filesystem::path& base_dir) = nullptr;
    boost::json::value (*write_json)(const DaemonConfig&) = nullptr;
};

// A JSON integer within [min, max] (a float with no fraction counts): what every integer in
// the config file is read with.
Result<long long> json_integer(const boost::json::value& v, long long min, long long max);

// A path in the config file: a non-empty string, relative to the file's folder `base`.
Result<std::filesystem::path> json_path(const boost::json::value& v,
                                        const std::filesystem::path& base);

// Every row, in the order they are documented and applied.
const std::vector<Setting>& settings();
const Setting* find_flag(std::string_view flag);

}  // namespace tickerd::config::detail
