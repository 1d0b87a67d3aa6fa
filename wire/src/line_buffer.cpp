#include "smtp/wire/line_buffer.hpp"

namespace smtp::wire {

std::optional<std::string> LineBuffer::take_line() {
  auto nl = buf_.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  std::string line = buf_.substr(0, nl + 1);
  buf_.erase(0, nl + 1);
  return line;
}

std::optional<std::string> LineBuffer::take_bytes(std::size_t n) {
  if (buf_.size() < n) return std::nullopt;
  std::string out = buf_.substr(0, n);
  buf_.erase(0, n);
  return out;
}

std::size_t LineBuffer::take_into(std::string* to, std::size_t n) {
  const std::size_t k = n < buf_.size() ? n : buf_.size();
  if (to != nullptr) to->append(buf_, 0, k);
  buf_.erase(0, k);
  return k;
}

bool LineBuffer::overlong() const {
  auto nl = buf_.find('\n');
  return nl == std::string::npos ? buf_.size() > max_line_ : nl + 1 > max_line_;
}

std::string LineBuffer::take_all() {
  std::string out;
  out.swap(buf_);
  return out;
}

std::string_view strip_eol(std::string_view line) {
  if (line.ends_with("\r\n")) return line.substr(0, line.size() - 2);
  if (line.ends_with('\n')) return line.substr(0, line.size() - 1);
  return line;
}

}  // namespace smtp::wire
