#include "smtp/wire/dot_unstuffer.hpp"

#include <cstring>

namespace smtp::wire {

std::string_view unstuff(std::string_view line) {
  if (line.size() >= 2 && line[0] == '.' && line != ".\r\n") return line.substr(1);
  return line;
}

bool DotUnstuffer::meet(DataEnding form) {
  if (form != DataEnding::crlf_dot_crlf && !first_other_) first_other_ = form;
  switch (policy_.action(form)) {
    case EndingAction::ends_data:
      ending_ = form;
      return true;
    case EndingAction::refuse:
      if (!refusal_) refusal_ = std::string(name_of(form));
      return false;
    case EndingAction::content:
      return false;
  }
  return false;
}

namespace {

// What a line that starts with '.' is, given the line end before it.
struct DotLine {
  enum class Kind { undecided, form, plain } kind;
  DataEnding form = DataEnding::crlf_dot_crlf;
  std::size_t length = 0;  // bytes of the form from the dot on
};

DotLine classify_dot_line(std::string_view s, bool after_bare_lf) {
  using namespace std::string_view_literals;
  using K = DotLine::Kind;
  // s starts with '.'. Every candidate, longest first; a proper prefix of one waits for more.
  struct Candidate {
    std::string_view bytes;
    DataEnding form;
  };
  static constexpr Candidate after_crlf[] = {
      {".\0\r\n"sv, DataEnding::crlf_dot_nul_crlf},
      {".\r\n"sv, DataEnding::crlf_dot_crlf},
      {".\n"sv, DataEnding::crlf_dot_lf},
  };
  static constexpr Candidate after_lf[] = {
      {".\r\n"sv, DataEnding::lf_dot_crlf},
      {".\n"sv, DataEnding::lf_dot_lf},
  };
  const std::span<const Candidate> candidates =
      after_bare_lf ? std::span<const Candidate>(after_lf) : std::span<const Candidate>(after_crlf);
  bool undecided = false;
  for (const auto& c : candidates) {
    if (s.starts_with(c.bytes)) return {K::form, c.form, c.bytes.size()};
    if (s.size() < c.bytes.size() && c.bytes.starts_with(s)) undecided = true;
  }
  if (undecided) return {K::undecided};
  // <CRLF>.<CR> followed by anything but LF (LF made it <CRLF>.<CRLF> above).
  if (!after_bare_lf && s.size() >= 2 && s[1] == '\r') return {K::form, DataEnding::crlf_dot_cr, 2};
  return {K::plain};
}

}  // namespace

bool DotUnstuffer::feed(std::string_view chunk) {
  std::string joined;
  std::string_view in = chunk;
  if (!pending_.empty()) {
    joined = std::move(pending_);
    joined.append(chunk);
    pending_.clear();
    in = joined;
  }
  const std::size_t n = in.size();
  std::size_t i = 0;    // the next byte to look at
  std::size_t run = 0;  // the first byte not yet copied to the message
  auto copy_to = [&](std::size_t end) {
    if (end > run) message_.append(in.data() + run, end - run);
    run = end;
  };
  auto hold_from = [&](std::size_t at) {
    copy_to(at);
    pending_.assign(in.substr(at));
    return false;
  };
  auto end_at = [&](std::size_t content_end, std::size_t rest_at) {
    copy_to(content_end);
    rest_.assign(in.substr(rest_at));
    return true;
  };

  while (i < n) {
    if (at_line_start_) {
      if (in[i] != '.') {
        at_line_start_ = false;
        continue;
      }
      // A server that ends the data at <CRLF>.<CR> does not wait for the byte after the CR
      // (an LF there is then the start of the next command), as with <CR>.<CR> below.
      if (!after_bare_lf_ && i + 1 < n && in[i + 1] == '\r' &&
          policy_.action(DataEnding::crlf_dot_cr) == EndingAction::ends_data) {
        meet(DataEnding::crlf_dot_cr);
        return end_at(i, i + 2);
      }
      const DotLine d = classify_dot_line(in.substr(i), after_bare_lf_);
      if (d.kind == DotLine::Kind::undecided) return hold_from(i);
      if (d.kind == DotLine::Kind::form && meet(d.form)) return end_at(i, i + d.length);
      // Content: the dot is a transparency dot (RFC 5321 section 4.5.2); the rest of the line,
      // line end included, is read as any other.
      copy_to(i);
      run = i + 1;
      ++i;
      at_line_start_ = false;
      continue;
    }
    // Inside a line: only CR and LF matter.
    const void* hit = nullptr;
    {
      const char* p = in.data() + i;
      const std::size_t left = n - i;
      const void* cr = std::memchr(p, '\r', left);
      const std::size_t cr_at =
          cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - p) : left;
      const void* lf = std::memchr(p, '\n', cr_at);
      hit = lf ? lf : cr;
    }
    if (!hit) break;
    const auto p = static_cast<std::size_t>(static_cast<const char*>(hit) - in.data());
    if (in[p] == '\n') {  // a bare LF: a CR before it would have been taken with it below
      ++lines_;
      ++bare_lf_;
      if (policy_.bare_lf_line == EndingAction::refuse && !refusal_) refusal_ = "bare LF line";
      after_bare_lf_ = true;
      at_line_start_ = true;
      i = p + 1;
      continue;
    }
    // A CR: CRLF, a bare CR, or <CR>.<CR> / <CR>.<CRLF>.
    if (p + 1 == n) return hold_from(p);
    if (in[p + 1] == '\n') {
      ++lines_;
      after_bare_lf_ = false;
      at_line_start_ = true;
      i = p + 2;
      continue;
    }
    if (in[p + 1] == '.') {
      if (p + 2 == n) return hold_from(p);
      if (in[p + 2] == '\r') {
        // A server that ends the data at <CR>.<CR> does not wait to see what follows it (an LF
        // after it is then the start of the next command): decided here, whatever the split.
        if (policy_.action(DataEnding::cr_dot_cr) == EndingAction::ends_data) {
          meet(DataEnding::cr_dot_cr);
          return end_at(p + 1, p + 3);
        }
        if (p + 3 == n) return hold_from(p);
        const bool crlf = in[p + 3] == '\n';
        if (meet(crlf ? DataEnding::cr_dot_crlf : DataEnding::cr_dot_cr)) {
          return end_at(p + 1, p + (crlf ? 4 : 3));  // the CR ends the last content line
        }
        i = p + 2;  // content; the second CR is looked at again (it may start another form)
        continue;
      }
    }
    i = p + 1;
  }
  copy_to(n);
  return false;
}

}  // namespace smtp::wire
