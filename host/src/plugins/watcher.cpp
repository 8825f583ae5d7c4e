// inotify on the plugin folders, read through an Asio descriptor on the daemon's
// io_context. Events only start a short quiet-period timer; when it fires the host is
// rescanned on the watcher's own thread (loading runs plugin code). Copies in progress are
// not loaded half-written: a file counts once it is closed after writing or moved in.
#include "plugins/plugins.hpp"

#include "core/log.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

namespace tickerd::plugins {

namespace asio = boost::asio;

namespace {

// Events closer together than this are one change (a package upgrade replaces several).
constexpr std::chrono::milliseconds kQuietPeriod{300};

// IN_ATTRIB: a new mode or owner can make a refused file (or a folder's files) loadable.
constexpr uint32_t kEvents =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB;

}  // namespace

struct PluginWatcher::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io, PluginHost& h)
        : host(h), strand(asio::make_strand(io)), descriptor(strand), timer(strand) {}

    PluginHost& host;
    asio::strand<asio::io_context::executor_type> strand;
    asio::posix::stream_descriptor descriptor;
    asio::steady_timer timer;
    asio::thread_pool rescanner{1};
    std::array<char, 16 * 1024> buffer alignas(inotify_event){};
    std::map<int, std::filesystem::path> folders;  // by watch descriptor
    std::atomic<bool> stopped{false};

    bool concerns_plugins(const inotify_event& event) const {
        // An event without a name is about the folder itself: its mode or owner changed.
        if (event.len == 0) return (event.mask & IN_ATTRIB) != 0;
        if (!std::string_view(event.name).ends_with(".so")) return false;
        if (!(event.mask & IN_CREATE)) return true;
        // A regular file just created is still being written (its IN_CLOSE_WRITE follows);
        // a symbolic link is complete when it appears.
        auto folder = folders.find(event.wd);
        std::error_code ec;
        return folder != folders.end() &&
               std::filesystem::is_symlink(folder->second / event.name, ec);
    }

    void start() {
        int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0) {
            BOOST_LOG_TRIVIAL(warning)
                << "plugin folders are not watched (inotify: " << std::strerror(errno)
                << "); rescan with SIGHUP or "
                << "POST /streaming/config/vendors/reload";
            return;
        }
        for (const auto& dir : host.plugin_dirs()) {
            int watch = ::inotify_add_watch(fd, dir.c_str(), kEvents);
            if (watch < 0) {
                BOOST_LOG_TRIVIAL(warning) << "plugin folder " << dir.string()
                                           << " is not watched: " << std::strerror(errno);
            } else {
                folders[watch] = dir;
            }
        }
        descriptor.assign(fd);
        read();
    }

    void read() {
        descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                              [self = shared_from_this()](const boost::system::error_code& ec) {
                                  if (ec || self->stopped) return;
                                  if (self->drain()) self->schedule();
                                  self->read();
                              });
    }

    // Reads every pending event; true when one concerns a plugin file.
    bool drain() {
        bool relevant = false;
        while (true) {
            auto n = ::read(descriptor.native_handle(), buffer.data(), buffer.size());
            if (n <= 0) return relevant;  // EAGAIN: all read
            for (ssize_t at = 0; at < n;) {
                const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + at);
                relevant = relevant || concerns_plugins(*event) || (event->mask & IN_Q_OVERFLOW);
                at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
            }
        }
    }

    void schedule() {
        timer.expires_after(kQuietPeriod);
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->stopped) return;
            asio::post(self->rescanner, [self] {
                if (self->stopped) return;
                BOOST_LOG_TRIVIAL(info) << describe(self->host.rescan());
            });
        });
    }
};

PluginWatcher::PluginWatcher(asio::io_context& io, PluginHost& host)
    : impl_(std::make_shared<Impl>(io, host)) {}

PluginWatcher::~PluginWatcher() {
    stop();
}

void PluginWatcher::start() {
    asio::post(impl_->strand, [impl = impl_] { impl->start(); });
}

void PluginWatcher::stop() {
    if (impl_->stopped.exchange(true)) return;
    asio::post(impl_->strand, [impl = impl_] {
        impl->timer.cancel();
        boost::system::error_code ignored;
        impl->descriptor.close(ignored);
    });
    impl_->rescanner.join();  // a rescan in progress finishes
}

}  // namespace tickerd::plugins
