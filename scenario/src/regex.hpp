#pragma once
// Internal: one compiled `~` pattern on PCRE2 (8-bit, no UTF), matched in bounded stack, memory
// and time. std::regex (libstdc++) recursed once per repetition on the thread's stack, so a long
// peer line crashed the player (issue 22); PCRE2 keeps its backtracking state on the heap
// (10.30+) or, with the JIT, on a JIT stack of fixed maximum size, and counts its work.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/scenario/pattern.hpp"

namespace smtp::scenario::detail {

class Regex {
 public:
  // nullopt and `error` set (PCRE2's words and the offset) when `expr` does not compile.
  static std::shared_ptr<const Regex> compile(const std::string& expr, std::string& error);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Whole-subject match. Thread-safe (the per-thread state is thread_local).
  MatchResult match(std::string_view subject) const;
  bool jit() const { return jit_; }

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8*, kept out of the header so pcre2.h stays private
  bool jit_ = false;
};

}  // namespace smtp::scenario::detail
