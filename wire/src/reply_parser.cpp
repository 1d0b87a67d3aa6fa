#include "smtp/wire/reply_parser.hpp"

#include <utility>

namespace smtp::wire {

namespace {
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view strip_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

void ReplyParser::fail(std::string rule, std::string_view shown) {
  if (!error_) error_ = ReplyError{std::move(rule), std::string(shown)};
}

std::size_t ReplyParser::feed(std::string_view bytes) {
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
    // CR and LF still have to come: the line with them may not exceed max_line.
    if (line_.size() + 2 > limits_.max_line) {
      fail("reply line longer than " + std::to_string(limits_.max_line) + " bytes",
           line_.substr(0, 64));
      break;
    }
  }
  return used;
}

void ReplyParser::end_line() {
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
    return fail("reply has more than " + std::to_string(limits_.max_lines) + " lines", l + "\r\n");
  }
  lines_.emplace_back(l.size() > 4 ? strip_blanks(std::string_view(l).substr(4)) : "");
  raw_lines_.push_back(l + "\r\n");
  const bool last = l.size() == 3 || l[3] == ' ';
  line_.clear();
  if (last) done_ = true;
}

Reply ReplyParser::take() {
  Reply r{code_, {}};
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (i) r.text += '\n';
    r.text += lines_[i];
  }
  lines_.clear();
  done_ = false;
  code_ = 0;
  reply_bytes_ = 0;
  raw_lines_.clear();
  return r;
}

void ReplyParser::reset() {
  line_.clear();
  saw_cr_ = false;
  done_ = false;
  code_ = 0;
  reply_bytes_ = 0;
  lines_.clear();
  raw_lines_.clear();
  error_.reset();
}

}  // namespace smtp::wire
