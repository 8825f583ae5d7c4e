// Enums that have a name at the JSON edge (plugin and worker states, roles, log formats):
// each keeps one table of names indexed by its values, and to_string / parse read that
// table, so a state is compared as an enum everywhere and spelled in exactly one place.
//
//   enum class Role { all, worker, edge };
//   inline constexpr std::array<std::string_view, 3> kRoleNames = {"all", "worker", "edge"};
//   std::string_view to_string(Role role) { return name_of(kRoleNames, role); }
//   std::optional<Role> parse_role(std::string_view text) { return parse_name<Role>(kRoleNames,
//   text); }
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tickerd {

template <class Enum, std::size_t N>
constexpr std::string_view name_of(const std::array<std::string_view, N>& names, Enum value) {
    return names[static_cast<std::size_t>(value)];
}

template <class Enum, std::size_t N>
constexpr std::optional<Enum> parse_name(const std::array<std::string_view, N>& names,
                                         std::string_view text) {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == text) return static_cast<Enum>(i);
    }
    return std::nullopt;
}

// "a, b or c": the choices, for an error message.
template <std::size_t N>
std::string choices(const std::array<std::string_view, N>& names) {
    std::string text;
    for (std::size_t i = 0; i < N; ++i) {
        if (i > 0) text += i + 1 == N ? " or " : ", ";
        text += names[i];
    }
    return text;
}

}  // namespace tickerd
