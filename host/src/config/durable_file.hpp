// Changing a file so that after a crash or power cut it holds either the old contents or
// the new, never a mix or nothing (for an append: the old contents, or them and the new line,
// with at most a torn line after them, which the reader drops).
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

// Appends `contents` to the existing `file` and fdatasyncs it: one change in an append-only
// journal, on disk when this returns. On failure (a 503) the file is cut back to its old
// length, as far as the system lets it; the caller must not append to it again before it is
// rewritten whole, since part of `contents` may remain.
Result<void> append_durably(const std::filesystem::path& file, std::string_view contents);

}  // namespace tickerd::config::detail
