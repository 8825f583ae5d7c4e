// Loading a plugin file and deciding whether it can be trusted with calls. Every refusal is
// one sentence naming what is wrong, because the person reading it is a plugin author.
#include "plugins/module.hpp"

#include "core/log.hpp"

#include <boost/dll/shared_library_load_mode.hpp>

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <fcntl.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace tickerd::plugins {

namespace {

// The ABI 1.0 descriptor ends with `fetch`; anything shorter predates the ABI.
constexpr std::size_t kMinimumDescriptorSize =
    offsetof(tickerd_plugin, fetch) + sizeof(tickerd_plugin::fetch);

std::string abi_text(uint32_t version) {
    return std::to_string(TICKERD_ABI_VERSION_MAJOR(version)) + "." +
           std::to_string(TICKERD_ABI_VERSION_MINOR(version));
}

// Boost.DLL's error code for a failed load is an unrelated errno; the dynamic loader's own
// sentence ("undefined symbol: …", "file too short") is what helps. It names the private
// copy it was given (`shown`); the user knows the file.
std::string loader_message(const boost::dll::fs::error_code& failed, const std::string& shown,
                           const std::filesystem::path& file) {
    const char* said = ::dlerror();
    std::string why = said ? said : failed.message();
    if (auto at = why.find(shown); at != std::string::npos)
        why.replace(at, shown.size(), file.string());
    return why;
}

bool valid_plugin_name(const char* name) {
    if (name == nullptr) return false;
    std::string_view text(name);
    return !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

std::string text_or_empty(const char* text) {
    return text ? text : "";
}

// The file never reached the descriptor check: the loader, or our checks before it, said no.
Refusal cannot_load(RefusalReason reason, const std::string& why) {
    return {reason, "cannot load: " + why};
}

// ---- Who could have written a plugin ----------------------------------------------------
// Whoever can rewrite a plugin file, or replace it in its folder, runs code inside tickerd.
// Trusted: root and the user tickerd runs as; nobody else may own or write either.

std::string user_name(uid_t uid) {
    passwd entry{};
    passwd* found = nullptr;
    std::array<char, 1024> buffer{};
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
        return found->pw_name;
    return "uid " + std::to_string(uid);
}

std::string octal(mode_t mode) {
    std::array<char, 8> text{};
    std::snprintf(text.data(), text.size(), "%04o", static_cast<unsigned>(mode & 07777));
    return text.data();
}

// Who besides the owner may write, by the mode's bits: "group", "others", both, or "".
std::string other_writers(mode_t mode) {
    const bool group = (mode & S_IWGRP) != 0;
    const bool others = (mode & S_IWOTH) != 0;
    if (group && others) return "group and others";
    return group ? "group" : others ? "others" : "";
}

// What is wrong with `path`, a plugin file or folder as `info` describes it, and how to fix
// it, refused for `reason` (insecure_file or insecure_folder); nothing when only trusted
// users can write it.
std::optional<Refusal> untrusted(RefusalReason reason, const std::filesystem::path& path,
                                 const struct stat& info) {
    const uid_t own = ::geteuid();
    const bool stranger = info.st_uid != 0 && info.st_uid != own;
    const auto writers = other_writers(info.st_mode);
    if (!stranger && writers.empty()) return std::nullopt;
    std::string why, fix;
    if (stranger) {
        why = "owned by " + user_name(info.st_uid) + ", neither root nor tickerd's own user" +
              (own == 0 ? "" : " (" + user_name(own) + ")");
        fix = "chown root " + path.string();
    }
    if (!writers.empty()) {
        why += (why.empty() ? "writable by " : " and writable by ") + writers;
        fix += (fix.empty() ? "chmod go-w " : " && chmod go-w ") + path.string();
    }
    const char* kind = reason == RefusalReason::insecure_folder ? "folder" : "file";
    return Refusal{reason, "insecure plugin " + std::string(kind) + " " + path.string() +
                               " (mode " + octal(info.st_mode) + ", owner " +
                               user_name(info.st_uid) + "): " + why +
                               ", so someone else could swap the code tickerd runs; fix: " + fix};
}

// A problem found by `untrusted` refuses the file, unless the settings relax the rule for
// development: then it is loaded with a warning.
Result<void, Refusal> unless_allowed(std::optional<Refusal> problem, const HostSettings& settings) {
    if (!problem) return {};
    if (settings.allow_insecure_files) {
        BOOST_LOG_TRIVIAL(warning)
            << problem->detail << " (loaded anyway: plugins.allow_insecure_files is on)";
        return {};
    }
    problem->detail += ", or set plugins.allow_insecure_files for development";
    return *problem;
}

// The folder holding `file`, and the one holding what a symbolic link `file` points to: whoever
// can write either can swap the plugin.
Result<void, Refusal> check_folders(const std::filesystem::path& file,
                                    const HostSettings& settings) {
    std::vector<std::filesystem::path> folders{file.parent_path()};
    std::error_code ec;
    if (std::filesystem::is_symlink(file, ec)) {
        auto target = std::filesystem::canonical(file, ec);
        if (!ec) folders.push_back(target.parent_path());
    }
    for (auto folder : folders) {
        if (folder.empty()) folder = ".";
        struct stat info {};
        if (::stat(folder.c_str(), &info) != 0) continue;  // then the file cannot be read either
        auto problem = untrusted(RefusalReason::insecure_folder, folder, info);
        if (auto ok = unless_allowed(std::move(problem), settings); !ok) return ok;
    }
    return {};
}

// Checks the descriptor's shape.
Result<void, Refusal> check_descriptor(const tickerd_plugin& d) {
    // struct_size and abi_version open every descriptor of every ABI version, so they can be
    // read before anything else is known; the major version decides what the rest means.
    if (TICKERD_ABI_VERSION_MAJOR(d.abi_version) != TICKERD_ABI_MAJOR) {
        return Refusal{RefusalReason::abi_major, "built for plugin ABI " + abi_text(d.abi_version) +
                                                     ", this tickerd speaks " +
                                                     std::to_string(TICKERD_ABI_MAJOR) + ".x"};
    }
    // Old plugins keep working in a newer host; a newer plugin may rely on host services
    // this host does not have, so it is refused rather than left to fail mid-call.
    if (TICKERD_ABI_VERSION_MINOR(d.abi_version) > TICKERD_ABI_MINOR) {
        return Refusal{RefusalReason::abi_newer_minor,
                       "built for plugin ABI " + abi_text(d.abi_version) +
                           ", newer than this tickerd's " + abi_text(TICKERD_ABI_VERSION) +
                           " (upgrade tickerd)"};
    }
    if (d.struct_size < kMinimumDescriptorSize) {
        return Refusal{RefusalReason::descriptor_too_small,
                       "descriptor too small (" + std::to_string(d.struct_size) +
                           " bytes, ABI 1.0 needs " + std::to_string(kMinimumDescriptorSize) + ")"};
    }
    if (!valid_plugin_name(d.name)) {
        return Refusal{
            RefusalReason::invalid_name,
            "invalid plugin name '" + text_or_empty(d.name) + "' (use [a-z0-9_], 1-64 chars)"};
    }
    auto incomplete = [](const char* missing) {
        return Refusal{RefusalReason::incomplete_descriptor,
                       std::string("descriptor incomplete: missing ") + missing};
    };
    if (d.create == nullptr) return incomplete("create");
    if (d.destroy == nullptr) return incomplete("destroy");
    if (d.fetch == nullptr) return incomplete("fetch");
    if (d.data_type_count == 0 || d.data_types == nullptr)
        return Refusal{RefusalReason::no_data_types, "declares no data types"};
    return {};
}

// A truncated ELF file (a copy still in progress) can pass the loader's own checks and then
// fault while it is relocated, taking the process down. So every part the file's headers
// point to must be inside it before it is handed to the loader.
Result<void, Refusal> check_whole_elf(int fd, off_t size) {
    ElfW(Ehdr) header{};
    if (::pread(fd, &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header) ||
        std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
        return cannot_load(RefusalReason::not_elf, "not an ELF shared object");
    }
    if (header.e_ident[EI_CLASS] != (sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32))
        return cannot_load(RefusalReason::wrong_word_size, "an ELF object for another word size");
    auto inside = [size](uint64_t offset, uint64_t length) {
        return offset <= static_cast<uint64_t>(size) &&
               length <= static_cast<uint64_t>(size) - offset;
    };
    auto truncated = [] {
        return cannot_load(RefusalReason::truncated, "truncated (a copy still in progress?)");
    };
    if (!inside(header.e_shoff, uint64_t{header.e_shnum} * header.e_shentsize) ||
        !inside(header.e_phoff, uint64_t{header.e_phnum} * sizeof(ElfW(Phdr)))) {
        return truncated();
    }
    for (uint16_t i = 0; i < header.e_phnum; ++i) {
        ElfW(Phdr) segment{};
        auto at = static_cast<off_t>(header.e_phoff + i * sizeof segment);
        if (::pread(fd, &segment, sizeof segment, at) != static_cast<ssize_t>(sizeof segment) ||
            !inside(segment.p_offset, segment.p_filesz)) {
            return truncated();
        }
    }
    return {};
}

}  // namespace

void throw_exception_from_error(const Refusal& refusal, const boost::source_location&) {
    throw std::logic_error("Result::value() on a refusal: " + refusal.detail);
}

Result<std::unique_ptr<PrivateCopy>, Refusal> PrivateCopy::create(const std::filesystem::path& file,
                                                                  const HostSettings& settings) {
    int source = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (source < 0) {
        return cannot_load(RefusalReason::unreadable, file.string() + ": " + std::strerror(errno));
    }
    struct stat info {};
    bool stated = ::fstat(source, &info) == 0;
    // The file as opened is the one copied, whatever replaces it at that path meanwhile.
    if (auto trusted =
            stated ? unless_allowed(untrusted(RefusalReason::insecure_file, file, info), settings)
                   : Result<void, Refusal>();
        !trusted) {
        ::close(source);
        return trusted.error();
    }
    int fd = stated ? ::memfd_create(file.filename().c_str(), MFD_CLOEXEC) : -1;
    off_t offset = 0;
    bool copied = fd >= 0;
    while (copied && offset < info.st_size) {
        auto sent = ::sendfile(fd, source, &offset, static_cast<size_t>(info.st_size - offset));
        copied = sent > 0 || (sent < 0 && errno == EINTR);
    }
    int error = errno;
    ::close(source);
    auto whole = copied ? check_whole_elf(fd, info.st_size)
                        : cannot_load(RefusalReason::copy_failed,
                                      std::string("copying failed: ") + std::strerror(error));
    if (!whole) {
        if (fd >= 0) ::close(fd);
        return whole.error();
    }
    return std::unique_ptr<PrivateCopy>(new PrivateCopy(fd));
}

PrivateCopy::~PrivateCopy() {
    // The loader knows libraries by the path they were opened with: while one opened as
    // /proc/self/fd/N stays mapped (a C++ library with unique symbols ignores dlclose), N
    // must not name another copy, so its descriptor is kept.
    if (void* still = ::dlopen(path().c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
        ::dlclose(still);
        return;
    }
    ::close(fd_);
}

std::string PrivateCopy::path() const {
    return "/proc/self/fd/" + std::to_string(fd_);
}

Result<std::shared_ptr<Module>, Refusal> Module::load(const std::filesystem::path& file,
                                                      const HostSettings& settings) {
    PluginInfo info;
    info.file = file.string();
    info.loaded_at = std::chrono::system_clock::now();
    if (auto trusted = check_folders(file, settings); !trusted) return trusted.error();

    // The library is mapped from a private copy, so the user's file can be rewritten in
    // place (a plain `cp` over it) without changing code this process is running. Declared
    // before the library: it must outlive it.
    auto copy = PrivateCopy::create(file, settings);
    if (!copy) return copy.error();
    boost::dll::shared_library library;
    boost::dll::fs::error_code failed;
    // RTLD_NOW: an unresolved symbol is a refusal now, not a crash mid-call later.
    // RTLD_LOCAL: two plugins' internal symbols never clash.
    library.load(boost::dll::fs::path((*copy)->path()),
                 boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, failed);
    if (failed) {
        return cannot_load(RefusalReason::load_failed,
                           loader_message(failed, (*copy)->path(), file));
    }
    if (!library.has(TICKERD_PLUGIN_ENTRY_SYMBOL)) {
        return Refusal{RefusalReason::no_entry_symbol,
                       "no tickerd_plugin_entry symbol: not a tickerd plugin"};
    }
    auto& entry = library.get<const tickerd_plugin*(uint32_t)>(TICKERD_PLUGIN_ENTRY_SYMBOL);
    const tickerd_plugin* descriptor = entry(TICKERD_ABI_VERSION);
    if (descriptor == nullptr) {
        return Refusal{RefusalReason::no_descriptor,
                       "tickerd_plugin_entry returned no descriptor for host ABI " +
                           abi_text(TICKERD_ABI_VERSION) + " (built for another major version?)"};
    }
    if (auto usable = check_descriptor(*descriptor); !usable) return usable.error();

    std::vector<DataType> types;
    for (uint32_t i = 0; i < descriptor->data_type_count; ++i) {
        std::string name = text_or_empty(descriptor->data_types[i]);
        auto type = parse_data_type(name);
        if (!type) {
            return Refusal{RefusalReason::unknown_data_type, "unknown data type '" + name + "'"};
        }
        if (std::find(types.begin(), types.end(), *type) == types.end()) types.push_back(*type);
        info.data_types.push_back(name);
    }
    info.name = descriptor->name;
    info.version = text_or_empty(descriptor->version);
    info.description = text_or_empty(descriptor->description);
    info.abi_version = abi_text(descriptor->abi_version);
    info.default_priority = descriptor->default_priority;
    // Read whatever minor the plugin was built for: ABI 1.0 and 1.1 had no such flag (so their
    // plugins are real), and a plugin setting the bit anyway is taken at its word, which can
    // only make it used less.
    info.simulated = (descriptor->flags & TICKERD_PLUGIN_SIMULATED) != 0;
    info.state = PluginState::loaded;
    return std::shared_ptr<Module>(new Module(std::move(*copy), std::move(library), descriptor,
                                              std::move(info), std::move(types)));
}

Module::Module(std::unique_ptr<PrivateCopy> copy, boost::dll::shared_library library,
               const tickerd_plugin* descriptor, PluginInfo info, std::vector<DataType> types)
    : copy_(std::move(copy)),
      library_(std::move(library)),
      descriptor_(descriptor),
      info_(std::move(info)),
      types_(std::move(types)) {}

bool Module::serves(DataType type) const {
    return std::find(types_.begin(), types_.end(), type) != types_.end();
}

}  // namespace tickerd::plugins
