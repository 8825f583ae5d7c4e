// Scopes, channel patterns and what a principal may read.
#include "access/access.hpp"

#include "core/enum_names.hpp"

namespace tickerd::access {

std::string_view to_string(Scope scope) {
    return name_of(kScopeNames, scope);
}

std::optional<Scope> parse_scope(std::string_view text) {
    return parse_name<Scope>(kScopeNames, text);
}

Scopes::Scopes(std::initializer_list<Scope> scopes) {
    for (auto scope : scopes)
        add(scope);
}

bool Scopes::covers(Scopes other) const {
    for (std::size_t i = 0; i < kScopeNames.size(); ++i) {
        auto scope = static_cast<Scope>(i);
        if ((other.bits_ & bit(scope)) && !allows(scope)) return false;
    }
    return true;
}

std::vector<std::string_view> Scopes::names() const {
    std::vector<std::string_view> names;
    for (std::size_t i = 0; i < kScopeNames.size(); ++i) {
        if (bits_ & bit(static_cast<Scope>(i))) names.push_back(kScopeNames[i]);
    }
    return names;
}

// Glob matching with '*' only, iterative: the last '*' seen absorbs what did not match.
bool channel_matches(std::string_view pattern, std::string_view channel) {
    std::size_t p = 0, c = 0;
    std::size_t star = std::string_view::npos, resume = 0;
    while (c < channel.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = c;
        } else if (p < pattern.size() && pattern[p] == channel[c]) {
            ++p;
            ++c;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            c = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*')
        ++p;
    return p == pattern.size();
}

bool Principal::may_read(std::string_view channel) const {
    return scopes.allows(Scope::read) && within_channels(channel);
}

bool Principal::may_publish(std::string_view channel) const {
    return scopes.allows(Scope::publish) && within_channels(channel);
}

bool Principal::within_channels(std::string_view channel) const {
    if (channels.empty()) return true;
    for (const auto& pattern : channels) {
        if (channel_matches(pattern, channel)) return true;
    }
    return false;
}

}  // namespace tickerd::access
