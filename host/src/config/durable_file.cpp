#include "config/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

namespace tickerd::config::detail {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
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

void write_all(int fd, std::string_view contents, const std::string& name) {
    while (!contents.empty()) {
        ssize_t written = ::write(fd, contents.data(), contents.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot write " + name);
        }
        contents.remove_prefix(static_cast<size_t>(written));
    }
}

void write_and_sync(const std::string& name, std::string_view contents) {
    FileDescriptor file(::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (file.get() < 0) throw_errno("cannot create " + name);
    write_all(file.get(), contents, name);
    if (::fsync(file.get()) != 0) throw_errno("cannot fsync " + name);
    if (::close(file.release()) != 0) throw_errno("cannot close " + name);
}

void sync_folder(const std::filesystem::path& folder) {
    std::string name = folder.empty() ? std::string(".") : folder.string();
    FileDescriptor dir(::open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) throw_errno("cannot open folder " + name);
    if (::fsync(dir.get()) != 0) throw_errno("cannot fsync folder " + name);
}

}  // namespace

void write_file_durably(const std::filesystem::path& file, std::string_view contents) {
    std::string tmp = file.string() + ".tmp";
    try {
        write_and_sync(tmp, contents);
    } catch (...) {
        ::unlink(tmp.c_str());  // best effort: a leftover is truncated by the next write
        throw;
    }
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        throw_errno("cannot rename " + tmp + " to " + file.string());
    }
    sync_folder(file.parent_path());
}

}  // namespace tickerd::config::detail
