// Wire names of an enum whose values are 0..N-1: one table, both directions.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace redoubt::proto {

template <class Enum, std::size_t N>
struct enum_names {
  std::array<std::string_view, N> names;  // indexed by the enum's value

  constexpr std::string_view operator()(Enum e) const {
    return names.at(static_cast<std::size_t>(e));
  }

  constexpr std::optional<Enum> find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < N; ++i)
      if (names[i] == name) return static_cast<Enum>(i);
    return std::nullopt;
  }
};

}  // namespace redoubt::proto
