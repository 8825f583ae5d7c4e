// Replacing a file so that after a crash or power cut it holds either the old contents or
// the new, never a mix or nothing.
#pragma once

#include "core/result.hpp"

#include <filesystem>
#include <string_view>

namespace tickerd::config::detail {

// Writes <file>.tmp, fsyncs it, renames it over `file`, then fsyncs the folder so the
// rename itself is on disk. On failure (a 503 naming the step and the system's reason)
// `file` is untouched, except when only the last folder fsync fails: the new contents may
// be in place but not yet durable, and the caller must treat the change as not made.
Result<void> write_file_durably(const std::filesystem::path& file, std::string_view contents);

}  // namespace tickerd::config::detail
