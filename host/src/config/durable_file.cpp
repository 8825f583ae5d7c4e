#include "config/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace tickerd::config::detail {

namespace {

Error errno_error(const std::string& what) {
    return Error::unavailable(what + ": " + std::strerror(errno));
}

// Closes the descriptor on every path out; the success path closes it explicitly to see
// the error close() may report.
class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

  private:
    int fd_;
};

Result<void> write_all(int fd, std::string_view contents, const std::string& name) {
    while (!contents.empty()) {
        ssize_t written = ::write(fd, contents.data(), contents.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            return errno_error("cannot write " + name);
        }
        contents.remove_prefix(static_cast<size_t>(written));
    }
    return {};
}

Result<void> write_and_sync(const std::string& name, std::string_view contents) {
    FileDescriptor file(::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (file.get() < 0) return errno_error("cannot create " + name);
    if (auto written = write_all(file.get(), contents, name); !written) return written;
    if (::fsync(file.get()) != 0) return errno_error("cannot fsync " + name);
    if (::close(file.release()) != 0) return errno_error("cannot close " + name);
    return {};
}

Result<void> sync_folder(const std::filesystem::path& folder) {
    std::string name = folder.empty() ? std::string(".") : folder.string();
    FileDescriptor dir(::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) return errno_error("cannot open folder " + name);
    if (::fsync(dir.get()) != 0) return errno_error("cannot fsync folder " + name);
    return {};
}

}  // namespace

Result<void> write_file_durably(const std::filesystem::path& file, std::string_view contents) {
    std::string tmp = file.string() + ".tmp";
    if (auto written = write_and_sync(tmp, contents); !written) {
        ::unlink(tmp.c_str());  // best effort: a leftover is truncated by the next write
        return written;
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        auto error = errno_error("cannot rename " + tmp + " to " + file.string());
        ::unlink(tmp.c_str());
        return error;
    }
    return sync_folder(file.parent_path());
}

Result<void> append_durably(const std::filesystem::path& file, std::string_view contents) {
    std::string name = file.string();
    FileDescriptor journal(::open(name.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (journal.get() < 0) return errno_error("cannot open " + name);
    off_t old_size = ::lseek(journal.get(), 0, SEEK_END);
    if (old_size < 0) return errno_error("cannot seek in " + name);
    auto written = write_all(journal.get(), contents, name);
    if (written && ::fdatasync(journal.get()) != 0) written = errno_error("cannot fsync " + name);
    if (!written) {
        (void)::ftruncate(journal.get(), old_size);  // best effort: the caller rewrites it anyway
        return written;
    }
    if (::close(journal.release()) != 0) return errno_error("cannot close " + name);
    return {};
}

}  // namespace tickerd::config::detail
