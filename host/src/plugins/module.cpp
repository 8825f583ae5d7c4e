// Loading a plugin file and deciding whether it can be trusted with calls. Every refusal is
// one sentence naming what is wrong, because the person reading it is a plugin author.
#include "plugins/module.hpp"

#include <boost/dll/shared_library_load_mode.hpp>

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
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

// Boost.DLL wraps the dynamic loader's message in its own words and an unrelated errno;
// the loader's sentence ("undefined symbol: …", "file too short") is what helps.
std::string loader_message(std::string_view what) {
    constexpr std::string_view marker = "dlerror system message: ";
    auto start = what.find(marker);
    if (start == std::string_view::npos) return std::string(what);
    start += marker.size();
    auto end = what.find("): ", start);
    return std::string(what.substr(start, end == std::string_view::npos ? what.npos : end - start));
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

// Checks the descriptor's shape; returns the refusal reason, or "" when it is usable.
std::string check_descriptor(const tickerd_plugin& d) {
    // struct_size and abi_version open every descriptor of every ABI version, so they can be
    // read before anything else is known; the major version decides what the rest means.
    if (TICKERD_ABI_VERSION_MAJOR(d.abi_version) != TICKERD_ABI_MAJOR) {
        return "built for plugin ABI " + abi_text(d.abi_version) + ", this tickerd speaks " +
               std::to_string(TICKERD_ABI_MAJOR) + ".x";
    }
    // Old plugins keep working in a newer host; a newer plugin may rely on host services
    // this host does not have, so it is refused rather than left to fail mid-call.
    if (TICKERD_ABI_VERSION_MINOR(d.abi_version) > TICKERD_ABI_MINOR) {
        return "built for plugin ABI " + abi_text(d.abi_version) + ", newer than this tickerd's " +
               abi_text(TICKERD_ABI_VERSION) + " (upgrade tickerd)";
    }
    if (d.struct_size < kMinimumDescriptorSize) {
        return "descriptor too small (" + std::to_string(d.struct_size) + " bytes, ABI 1.0 needs " +
               std::to_string(kMinimumDescriptorSize) + ")";
    }
    if (!valid_plugin_name(d.name)) {
        return "invalid plugin name '" + text_or_empty(d.name) + "' (use [a-z0-9_], 1-64 chars)";
    }
    if (d.create == nullptr) return "descriptor incomplete: missing create";
    if (d.destroy == nullptr) return "descriptor incomplete: missing destroy";
    if (d.fetch == nullptr) return "descriptor incomplete: missing fetch";
    if (d.data_type_count == 0 || d.data_types == nullptr) return "declares no data types";
    return "";
}

// A truncated ELF file (a copy still in progress) can pass the loader's own checks and then
// fault while it is relocated, taking the process down. So every part the file's headers
// point to must be inside it before it is handed to the loader. "" when it is whole.
std::string truncation_problem(int fd, off_t size) {
    ElfW(Ehdr) header{};
    if (::pread(fd, &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header) ||
        std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
        return "not an ELF shared object";
    }
    if (header.e_ident[EI_CLASS] != (sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32))
        return "an ELF object for another word size";
    auto inside = [size](uint64_t offset, uint64_t length) {
        return offset <= static_cast<uint64_t>(size) &&
               length <= static_cast<uint64_t>(size) - offset;
    };
    if (!inside(header.e_shoff, uint64_t{header.e_shnum} * header.e_shentsize) ||
        !inside(header.e_phoff, uint64_t{header.e_phnum} * sizeof(ElfW(Phdr)))) {
        return "truncated (a copy still in progress?)";
    }
    for (uint16_t i = 0; i < header.e_phnum; ++i) {
        ElfW(Phdr) segment{};
        auto at = static_cast<off_t>(header.e_phoff + i * sizeof segment);
        if (::pread(fd, &segment, sizeof segment, at) != static_cast<ssize_t>(sizeof segment) ||
            !inside(segment.p_offset, segment.p_filesz)) {
            return "truncated (a copy still in progress?)";
        }
    }
    return "";
}

}  // namespace

PrivateCopy::PrivateCopy(const std::filesystem::path& file) {
    int source = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (source < 0) throw std::runtime_error(file.string() + ": " + std::strerror(errno));
    struct stat info {};
    fd_ = ::fstat(source, &info) == 0 ? ::memfd_create(file.filename().c_str(), MFD_CLOEXEC) : -1;
    off_t offset = 0;
    bool copied = fd_ >= 0;
    while (copied && offset < info.st_size) {
        auto sent = ::sendfile(fd_, source, &offset, static_cast<size_t>(info.st_size - offset));
        copied = sent > 0 || (sent < 0 && errno == EINTR);
    }
    int error = errno;
    ::close(source);
    std::string problem = copied ? truncation_problem(fd_, info.st_size)
                                 : std::string("copying failed: ") + std::strerror(error);
    if (!problem.empty()) {
        if (fd_ >= 0) ::close(fd_);
        throw std::runtime_error(problem);
    }
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

std::shared_ptr<Module> Module::load(const std::filesystem::path& file, PluginInfo& info) {
    info = PluginInfo{};
    info.file = file.string();
    info.state = PluginState::refused;
    info.loaded_at = std::chrono::system_clock::now();
    auto refuse = [&info](std::string why) {
        info.error = std::move(why);
        return nullptr;
    };

    // The library is mapped from a private copy, so the user's file can be rewritten in
    // place (a plain `cp` over it) without changing code this process is running. Declared
    // before the library: it must outlive it.
    std::unique_ptr<PrivateCopy> copy;
    boost::dll::shared_library library;
    try {
        copy = std::make_unique<PrivateCopy>(file);
        // RTLD_NOW: an unresolved symbol is a refusal now, not a crash mid-call later.
        // RTLD_LOCAL: two plugins' internal symbols never clash.
        library.load(boost::dll::fs::path(copy->path()),
                     boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        // The loader names the private copy; the user knows the file.
        auto why = loader_message(e.what());
        if (copy) {
            auto shown = copy->path();
            if (auto at = why.find(shown); at != std::string::npos)
                why.replace(at, shown.size(), file.string());
        }
        return refuse("cannot load: " + why);
    }
    if (!library.has(TICKERD_PLUGIN_ENTRY_SYMBOL)) {
        return refuse("no tickerd_plugin_entry symbol: not a tickerd plugin");
    }
    auto& entry = library.get<const tickerd_plugin*(uint32_t)>(TICKERD_PLUGIN_ENTRY_SYMBOL);
    const tickerd_plugin* descriptor = entry(TICKERD_ABI_VERSION);
    if (descriptor == nullptr) {
        return refuse("tickerd_plugin_entry returned no descriptor for host ABI " +
                      abi_text(TICKERD_ABI_VERSION) + " (built for another major version?)");
    }
    if (auto why = check_descriptor(*descriptor); !why.empty()) return refuse(why);

    std::vector<DataType> types;
    for (uint32_t i = 0; i < descriptor->data_type_count; ++i) {
        std::string name = text_or_empty(descriptor->data_types[i]);
        auto type = parse_data_type(name);
        if (!type) return refuse("unknown data type '" + name + "'");
        if (std::find(types.begin(), types.end(), *type) == types.end()) types.push_back(*type);
        info.data_types.push_back(name);
    }
    info.name = descriptor->name;
    info.version = text_or_empty(descriptor->version);
    info.description = text_or_empty(descriptor->description);
    info.abi_version = abi_text(descriptor->abi_version);
    info.default_priority = descriptor->default_priority;
    info.state = PluginState::loaded;
    return std::shared_ptr<Module>(
        new Module(std::move(copy), std::move(library), descriptor, info, std::move(types)));
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
