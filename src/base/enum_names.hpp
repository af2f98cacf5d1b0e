// Names of enum values kept as a table in declaration order, instead of a switch per enum.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace redoubt {

// names[i] names the enum value i (the enum counts 0, 1, 2, ... in declaration order); a
// value outside the table gets `fallback`. Pair each table with a static_assert on its size.
template <class Enum, std::size_t N>
constexpr std::string_view enum_name(Enum e, const std::array<std::string_view, N>& names,
                                     std::string_view fallback) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : fallback;
}

}  // namespace redoubt
