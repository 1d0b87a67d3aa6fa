#include "regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace smtp::scenario::detail {
namespace {

pcre2_code* code_of(void* p) {
  return static_cast<pcre2_code*>(p);
}

// Compile options that keep the documented ECMAScript meaning of the corpus's patterns:
// - whole-line match, as std::regex_match did (anchored at both ends; ENDANCHORED makes the
//   engine backtrack until the match ends at the end of the line, not just test it afterwards);
// - `$` only at the very end (never before a final LF), `[]` matches nothing and `[^]` any byte,
//   an unset back-reference matches the empty string, `\uHHHH`: all as in ECMAScript;
// - bytes, never UTF (a peer's line is bytes; `(*UTF)` in a pattern is refused), no `\C`.
constexpr std::uint32_t compile_options =
    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_ALLOW_EMPTY_CLASS |
    PCRE2_MATCH_UNSET_BACKREF | PCRE2_ALT_BSUX | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP |
    PCRE2_NEVER_BACKSLASH_C;

// The per-thread matching state: a match context carrying the limits and a JIT stack of fixed
// maximum size. A context is not safe to share while it is being changed, so each thread that
// matches (the fake server's, the probe's, a test's) gets its own, made once.
struct ThreadState {
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;

  ThreadState() {
    context = pcre2_match_context_create(nullptr);
    if (context == nullptr) return;
    pcre2_set_match_limit(context, PatternLimits::match_steps);
    pcre2_set_depth_limit(context, PatternLimits::backtrack_depth);
    pcre2_set_heap_limit(context, PatternLimits::backtrack_heap_kib);
    jit_stack = pcre2_jit_stack_create(PatternLimits::jit_stack_start_bytes,
                                       PatternLimits::jit_stack_bytes, nullptr);
    // Without a stack of our own the JIT would use 32 KiB on the machine stack: not assigned,
    // jitted patterns are then matched by the interpreter (see Regex::match).
    if (jit_stack != nullptr) pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~ThreadState() {
    if (jit_stack != nullptr) pcre2_jit_stack_free(jit_stack);
    if (context != nullptr) pcre2_match_context_free(context);
  }
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
};

ThreadState& thread_state() {
  static thread_local ThreadState state;
  return state;
}

struct MatchData {
  pcre2_match_data* data;
  // One pair: only "did it match" counts (a match whose groups do not fit returns 0, still a
  // match).
  MatchData() : data(pcre2_match_data_create(1, nullptr)) {}
  ~MatchData() {
    if (data != nullptr) pcre2_match_data_free(data);
  }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
};

}  // namespace

std::shared_ptr<const Regex> Regex::compile(const std::string& expr, std::string& error) {
  pcre2_compile_context* cc = pcre2_compile_context_create(nullptr);
  if (cc == nullptr) {
    error = "out of memory compiling regular expression '" + expr + "'";
    return nullptr;
  }
  // `.` excludes CR and LF, as in ECMAScript (PCRE2's default excludes LF only).
  pcre2_set_newline(cc, PCRE2_NEWLINE_ANYCRLF);
  // The scenario parser already bounds a file; this bounds one pattern's nesting as well.
  pcre2_set_parens_nest_limit(cc, PatternLimits::max_nesting);
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expr.data()), expr.size(),
                                 compile_options, &code, &offset, cc);
  pcre2_compile_context_free(cc);
  if (re == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code, message, sizeof message);
    error = "invalid regular expression '" + expr + "': " + reinterpret_cast<const char*>(message) +
            " at offset " + std::to_string(offset);
    return nullptr;
  }
  std::shared_ptr<Regex> out(new Regex());
  out->code_ = re;
  // The JIT is an optimisation (about 30 times faster on a 64 KiB line); without it (no JIT on
  // this platform, or a pattern it declines) the interpreter runs, within the same limits.
  out->jit_ = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
  return out;
}

Regex::~Regex() {
  pcre2_code_free(code_of(code_));
}

MatchResult Regex::match(std::string_view subject) const {
  ThreadState& state = thread_state();
  MatchData md;
  if (state.context == nullptr || md.data == nullptr) return MatchResult::too_complex;
  // The interpreter when this thread has no JIT stack: never the JIT on the machine stack.
  const std::uint32_t options = jit_ && state.jit_stack != nullptr ? 0 : PCRE2_NO_JIT;
  const int rc = pcre2_match(code_of(code_), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                             subject.size(), 0, options, md.data, state.context);
  if (rc >= 0) return MatchResult::matched;
  if (rc == PCRE2_ERROR_NOMATCH) return MatchResult::no_match;
  // PCRE2_ERROR_MATCHLIMIT, _DEPTHLIMIT, _HEAPLIMIT, _JIT_STACKLIMIT, _NOMEMORY: a limit, which
  // the player reports as "pattern too complex for this input".
  return MatchResult::too_complex;
}

}  // namespace smtp::scenario::detail
