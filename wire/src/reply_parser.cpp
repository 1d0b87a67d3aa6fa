#include "smtp/wire/reply_parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace smtp::wire {

namespace {
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// Bytes that may stand in a reply line's text with nothing to check: all but the controls (HT is
// text) and DEL. CR, LF and NUL are controls, so the first byte outside this class is where a
// line ends or breaks a rule.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> t{};
  for (std::size_t u = 0; u < t.size(); ++u) t[u] = (u >= 0x20 && u != 0x7f) || u == 0x09;
  return t;
}();

// How many bytes at the start of `bytes` are plain (see kPlain). SSE2 checks 16 per step.
std::size_t plain_prefix(std::string_view bytes) {
  const char* const begin = bytes.data();
  const char* const end = begin + bytes.size();
  const char* p = begin;
#if defined(__SSE2__)
  const __m128i below_space = _mm_set1_epi8(0x1f);
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, below_space), v);  // v <= 0x1f
    const __m128i bad =
        _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), control), _mm_cmpeq_epi8(v, del));
    const int mask = _mm_movemask_epi8(bad);
    if (mask != 0) {
      return static_cast<std::size_t>(p - begin) +
             static_cast<std::size_t>(__builtin_ctz(unsigned(mask)));
    }
    p += 16;
  }
#endif
  while (p != end && kPlain[static_cast<unsigned char>(*p)]) ++p;
  return static_cast<std::size_t>(p - begin);
}
// The code of a line (without its CRLF) that is well formed (RFC 5321 section 4.2: a code 2xx-5xx,
// then SP, '-' or the end of the line), or -1.
inline int line_code(const char* l, std::size_t size) {
  if (size < 3 || l[0] < '2' || l[0] > '5' || !is_digit(l[1]) || !is_digit(l[2])) return -1;
  if (size > 3 && l[3] != ' ' && l[3] != '-') return -1;
  return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

// The last line of a reply has SP or nothing after the code.
inline bool last_line(const char* l, std::size_t size) {
  return size == 3 || l[3] == ' ';
}
}  // namespace

void ReplyParser::fail(std::string rule, std::string_view shown) {
  if (!error_) error_ = ReplyError{std::move(rule), std::string(shown)};
}

// How many of `bytes` can join the current line at once: plain bytes that take the reply and the
// line to their limits at most. The byte after them (if any) goes through byte(), which names
// whatever it breaks.
std::size_t ReplyParser::plain_bytes(std::string_view bytes) const {
  const std::size_t line_size = raw_.size() - line_start_;
  // CR and LF still have to come: the line with them may not exceed max_line.
  const std::size_t line_room =
      limits_.max_line >= line_size + 2 ? limits_.max_line - line_size - 2 : 0;
  const std::size_t reply_room =
      limits_.max_reply_bytes >= reply_bytes_ ? limits_.max_reply_bytes - reply_bytes_ : 0;
  return plain_prefix(bytes.substr(0, std::min({bytes.size(), line_room, reply_room})));
}

std::size_t ReplyParser::feed(std::string_view bytes) {
  std::size_t used = 0;
  while (used < bytes.size() && !done_ && !error_) {
    if (!saw_cr_ && raw_.size() == line_start_) {
      used += whole_lines(bytes.substr(used));
      if (used == bytes.size() || done_) break;
    }
    if (!saw_cr_) {
      const std::string_view rest = bytes.substr(used);
      const std::size_t n = plain_bytes(rest);
      raw_.append(rest.data(), n);
      reply_bytes_ += n;
      used += n;
      if (used == bytes.size()) break;
    }
    byte(bytes[used++]);
  }
  return used;
}

// The usual case, at the start of a line: complete lines, each plain text and CRLF, within the
// limits and well formed, taken with one copy for all of them. Stops at the end of the reply or
// before anything else (a partial line, a violation), which byte() then reads and names.
std::size_t ReplyParser::whole_lines(std::string_view bytes) {
  const char* const begin = bytes.data();
  const char* const end = begin + bytes.size();
  const char* p = begin;
  const std::size_t base = raw_.size();
  // CR and LF still have to come: the line with them may not exceed max_line.
  const std::size_t line_room = limits_.max_line >= 2 ? limits_.max_line - 2 : 0;
  while (!done_) {
    const std::size_t left = static_cast<std::size_t>(end - p);
    const std::size_t reply_room = limits_.max_reply_bytes - reply_bytes_;
    const std::size_t n =
        plain_prefix(std::string_view(p, std::min({left, line_room, reply_room})));
    if (left - n < 2 || p[n] != '\r' || p[n + 1] != '\n' || reply_room < n + 2) break;
    const int code = line_code(p, n);
    if (code < 0 || (!lines_.empty() && code != code_) || lines_.size() >= limits_.max_lines) break;
    if (lines_.empty()) code_ = code;
    // The text: after the code and its separator, blanks stripped at both ends (as smtplib).
    const char* text_begin = p + std::min<std::size_t>(n, 4);
    const char* text_end = p + n;
    while (text_begin < text_end && is_blank(*text_begin)) ++text_begin;
    while (text_end > text_begin && is_blank(text_end[-1])) --text_end;
    const auto at = [&](const char* q) { return base + static_cast<std::size_t>(q - begin); };
    lines_.push_back(Line{at(p + n + 2), at(text_begin), at(text_end)});
    reply_bytes_ += n + 2;
    if (last_line(p, n)) done_ = true;
    p += n + 2;
  }
  raw_.append(begin, p);
  line_start_ = raw_.size();
  return static_cast<std::size_t>(p - begin);
}

// One byte, every rule checked in order: the reply's size, CRLF, NUL and controls, the line's size.
void ReplyParser::byte(char c) {
  ++reply_bytes_;
  if (reply_bytes_ > limits_.max_reply_bytes) {
    return fail("reply longer than " + std::to_string(limits_.max_reply_bytes) + " bytes",
                line().substr(0, 64));
  }
  if (saw_cr_) {
    if (c != '\n') {
      return fail("CR not followed by LF in a reply line", std::string(line()) + '\r' + c);
    }
    saw_cr_ = false;
    raw_ += "\r\n";
    return end_line();
  }
  if (c == '\r') {
    saw_cr_ = true;
    return;
  }
  if (c == '\n') return fail("bare LF (a reply line must end with CRLF)", std::string(line()) + c);
  if (c == '\0') return fail("NUL in a reply line", std::string(line()) + c);
  if (!kPlain[static_cast<unsigned char>(c)]) {
    return fail("control character in a reply line", std::string(line()) + c);
  }
  raw_ += c;
  // CR and LF still have to come: the line with them may not exceed max_line.
  if (line().size() + 2 > limits_.max_line) {
    fail("reply line longer than " + std::to_string(limits_.max_line) + " bytes",
         line().substr(0, 64));
  }
}

// The current line has just got its CRLF (the last two bytes of raw_).
void ReplyParser::end_line() {
  const char* const l = raw_.data() + line_start_;
  const std::size_t size = raw_.size() - 2 - line_start_;
  const int code = line_code(l, size);
  if (code < 0 || (!lines_.empty() && code != code_) || lines_.size() >= limits_.max_lines) {
    return line_violation();
  }
  if (lines_.empty()) code_ = code;
  // The text: after the code and its separator, blanks stripped at both ends (as smtplib).
  std::size_t text_begin = line_start_ + std::min<std::size_t>(size, 4);
  std::size_t text_end = line_start_ + size;
  while (text_begin < text_end && is_blank(raw_[text_begin])) ++text_begin;
  while (text_end > text_begin && is_blank(raw_[text_end - 1])) --text_end;
  lines_.push_back(Line{raw_.size(), text_begin, text_end});
  line_start_ = raw_.size();
  if (last_line(l, size)) done_ = true;
}

// Names the first rule the line just ended breaks, in the order a reader checks them.
void ReplyParser::line_violation() {
  const std::string_view l =
      std::string_view(raw_).substr(line_start_, raw_.size() - 2 - line_start_);
  const std::string shown = std::string(l) + "\r\n";
  if (l.size() < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2])) {
    return fail("a reply line must start with a three-digit code", shown);
  }
  if (l[0] < '2' || l[0] > '5') return fail("reply code outside 2xx-5xx", shown);
  if (l.size() > 3 && l[3] != ' ' && l[3] != '-') {
    return fail("reply code must be followed by SP, '-' or the end of the line", shown);
  }
  const int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
  if (!lines_.empty() && code != code_) {
    return fail("every line of a multiline reply must carry the same code (first was " +
                    std::to_string(code_) + ")",
                shown);
  }
  fail("reply has more than " + std::to_string(limits_.max_lines) + " lines", shown);
}

std::vector<std::string_view> ReplyParser::raw_lines() const {
  std::vector<std::string_view> out;
  out.reserve(lines_.size());
  std::size_t begin = 0;
  for (const Line& l : lines_) {
    out.push_back(std::string_view(raw_).substr(begin, l.raw_end - begin));
    begin = l.raw_end;
  }
  return out;
}

Reply ReplyParser::take() {
  Reply r{code_, {}};
  // The texts joined with "\n", written in place: one allocation, no append per line.
  std::size_t size = lines_.empty() ? 0 : lines_.size() - 1;
  for (const Line& l : lines_) size += l.text_end - l.text_begin;
  r.text.resize(size);
  char* out = r.text.data();
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (i) *out++ = '\n';
    const std::size_t n = lines_[i].text_end - lines_[i].text_begin;
    std::memcpy(out, raw_.data() + lines_[i].text_begin, n);
    out += n;
  }
  lines_.clear();
  raw_.erase(0, line_start_);  // all of it once a reply is done
  line_start_ = 0;
  done_ = false;
  code_ = 0;
  reply_bytes_ = 0;
  return r;
}

void ReplyParser::reset() {
  raw_.clear();
  line_start_ = 0;
  saw_cr_ = false;
  done_ = false;
  code_ = 0;
  reply_bytes_ = 0;
  lines_.clear();
  error_.reset();
}

}  // namespace smtp::wire
