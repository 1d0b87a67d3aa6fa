// The split-at-every-offset helper: a parser must give the same result however the bytes arrive.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace smtp::test {

// Calls `check` with the input cut into chunks: whole; in two at every offset (0..size, so also
// between every '\r' and '\n'); in three at every pair of offsets for short inputs; and one byte at
// a time. `check` gets the chunks and a description for failure messages.
inline void for_each_split(
    std::string_view input,
    const std::function<void(const std::vector<std::string_view>&, const std::string&)>& check) {
  check({input}, "whole");
  for (std::size_t i = 0; i <= input.size(); ++i) {
    check({input.substr(0, i), input.substr(i)}, "split at " + std::to_string(i));
  }
  if (input.size() <= 64) {
    for (std::size_t i = 0; i <= input.size(); ++i) {
      for (std::size_t j = i; j <= input.size(); ++j) {
        check({input.substr(0, i), input.substr(i, j - i), input.substr(j)},
              "split at " + std::to_string(i) + " and " + std::to_string(j));
      }
    }
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  check(bytes, "byte by byte");
}

// CR and LF made visible, for assertion messages.
inline std::string visible(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace smtp::test
