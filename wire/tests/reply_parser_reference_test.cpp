// The reply parser against a byte-at-a-time reference: same replies, same errors (rule and bytes
// shown), same counts of bytes used, same raw lines, for random input cut at every offset and
// random limits. The reference is the parser's first shape, kept here to compare with.
#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <random>
#include <smtp/wire/reply_parser.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "split_feed.hpp"

namespace smtp::wire {
namespace {

class ReferenceReplyParser {
 public:
  explicit ReferenceReplyParser(ReplyLimits limits) : limits_(limits) {}

  std::size_t feed(std::string_view bytes) {
    std::size_t used = 0;
    while (used < bytes.size() && !done_ && !error_) {
      const char c = bytes[used++];
      ++reply_bytes_;
      if (reply_bytes_ > limits_.max_reply_bytes) {
        fail("reply longer than " + std::to_string(limits_.max_reply_bytes) + " bytes",
             line_.substr(0, 64));
        break;
      }
      if (saw_cr_) {
        if (c != '\n') {
          fail("CR not followed by LF in a reply line", line_ + '\r' + c);
          break;
        }
        saw_cr_ = false;
        end_line();
        continue;
      }
      if (c == '\r') {
        saw_cr_ = true;
        continue;
      }
      if (c == '\n') {
        fail("bare LF (a reply line must end with CRLF)", line_ + c);
        break;
      }
      if (c == '\0') {
        fail("NUL in a reply line", line_ + c);
        break;
      }
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        fail("control character in a reply line", line_ + c);
        break;
      }
      line_ += c;
      if (line_.size() + 2 > limits_.max_line) {
        fail("reply line longer than " + std::to_string(limits_.max_line) + " bytes",
             line_.substr(0, 64));
        break;
      }
    }
    return used;
  }
  bool done() const { return done_; }
  const std::optional<ReplyError>& error() const { return error_; }
  const std::vector<std::string>& raw_lines() const { return raw_lines_; }
  Reply take() {
    Reply r{code_, {}};
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      if (i) r.text += '\n';
      r.text += lines_[i];
    }
    lines_.clear();
    raw_lines_.clear();
    done_ = false;
    code_ = 0;
    reply_bytes_ = 0;
    return r;
  }

 private:
  static std::string_view strip_blanks(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  void fail(std::string rule, std::string_view shown) {
    if (!error_) error_ = ReplyError{std::move(rule), std::string(shown)};
  }
  void end_line() {
    const std::string& l = line_;
    if (l.size() < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2])) {
      return fail("a reply line must start with a three-digit code", l + "\r\n");
    }
    if (l[0] < '2' || l[0] > '5') return fail("reply code outside 2xx-5xx", l + "\r\n");
    if (l.size() > 3 && l[3] != ' ' && l[3] != '-') {
      return fail("reply code must be followed by SP, '-' or the end of the line", l + "\r\n");
    }
    const int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    if (lines_.empty()) {
      code_ = code;
    } else if (code != code_) {
      return fail("every line of a multiline reply must carry the same code (first was " +
                      std::to_string(code_) + ")",
                  l + "\r\n");
    }
    if (lines_.size() + 1 > limits_.max_lines) {
      return fail("reply has more than " + std::to_string(limits_.max_lines) + " lines",
                  l + "\r\n");
    }
    lines_.emplace_back(l.size() > 4 ? strip_blanks(std::string_view(l).substr(4)) : "");
    raw_lines_.push_back(l + "\r\n");
    const bool last = l.size() == 3 || l[3] == ' ';
    line_.clear();
    if (last) done_ = true;
  }

  ReplyLimits limits_;
  std::string line_;
  bool saw_cr_ = false;
  bool done_ = false;
  int code_ = 0;
  std::size_t reply_bytes_ = 0;
  std::vector<std::string> lines_;
  std::vector<std::string> raw_lines_;
  std::optional<ReplyError> error_;
};

// Everything a caller can observe, as one comparable transcript: per feed the bytes used, each
// reply's raw lines and the reply, and the error.
template <class Parser>
std::vector<std::string> observe(Parser p, const std::vector<std::string_view>& chunks) {
  std::vector<std::string> seen;
  for (auto chunk : chunks) {
    while (!chunk.empty() && !p.error()) {
      const std::size_t used = p.feed(chunk);
      seen.push_back("used " + std::to_string(used));
      chunk.remove_prefix(used);
      if (p.done()) {
        std::string raw;
        for (const auto& l : p.raw_lines()) raw += std::string(l) + "|";
        const Reply r = p.take();
        seen.push_back("reply " + std::to_string(r.code) + " " + test::visible(r.text) + " raw " +
                       test::visible(raw));
      } else if (used == 0) {
        break;
      }
    }
  }
  if (p.error())
    seen.push_back("error " + p.error()->rule + ": " + test::visible(p.error()->shown));
  return seen;
}

// Replies mostly well formed (so limits and later lines are reached), with the breakages a
// hostile server sends: bare LF, lone CR, NUL, controls, DEL, tabs, 8-bit text, wrong or short
// codes, a code change inside a multiline reply, long lines.
std::string random_replies(std::mt19937& rng) {
  std::string s;
  const int replies = 1 + static_cast<int>(rng() % 3);
  for (int r = 0; r < replies; ++r) {
    const int code = rng() % 10 == 0 ? static_cast<int>(rng() % 1000) : 250;
    const int lines = 1 + static_cast<int>(rng() % 5);
    for (int l = 0; l < lines; ++l) {
      std::string c = std::to_string(rng() % 20 == 0 ? code + 1 : code);
      if (rng() % 30 == 0) c.pop_back();
      s += c;
      if (rng() % 10 != 0) s += l + 1 < lines ? '-' : ' ';
      const std::size_t len = rng() % 4 == 0 ? rng() % 90 : rng() % 24;
      for (std::size_t i = 0; i < len; ++i) {
        const auto x = rng() % 300;
        s += x == 0   ? '\0'
             : x == 1 ? '\n'
             : x == 2 ? '\r'
             : x == 3 ? '\x7f'
             : x == 4 ? '\x01'
             : x < 10 ? '\t'
             : x < 14 ? '\xe9'
             : x < 40 ? ' '
                      : char('A' + x % 26);
      }
      s += rng() % 40 == 0 ? "\n" : "\r\n";
    }
  }
  return s;
}

TEST(ReplyParser, matches_the_byte_at_a_time_reference_at_every_split) {
  std::mt19937 rng(2026120521);
  for (int round = 0; round < 600; ++round) {
    const std::string wire = random_replies(rng);
    ReplyLimits limits;  // the client's, or small ones so every limit is met somewhere
    if (round % 2) {
      limits = ReplyLimits{.max_line = 1 + rng() % 60,
                           .max_lines = 1 + rng() % 6,
                           .max_reply_bytes = 1 + rng() % 200};
    }
    const auto expected = observe(ReferenceReplyParser(limits), {wire});
    test::for_each_split(wire, [&](const auto& chunks, const std::string& how) {
      // The reference and the parser must agree on the same chunks (the bytes used per feed
      // depend on the chunking), and the outcome must not depend on it.
      const auto got = observe(ReplyParser(limits), chunks);
      ASSERT_EQ(got, observe(ReferenceReplyParser(limits), chunks))
          << how << " of " << test::visible(wire);
    });
    ASSERT_EQ(observe(ReplyParser(limits), {wire}), expected) << test::visible(wire);
  }
}

}  // namespace
}  // namespace smtp::wire
