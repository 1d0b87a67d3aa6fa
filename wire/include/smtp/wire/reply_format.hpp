#pragma once
// Reply formatting (RFC 5321 section 4.2): "250-a\r\n250 b\r\n".
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace smtp::wire {

std::string format_reply(int code, const std::vector<std::string>& lines);
inline std::string format_reply(int code, std::string_view text) {
  return format_reply(code, std::vector<std::string>{std::string(text)});
}

}  // namespace smtp::wire
