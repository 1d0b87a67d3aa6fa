// Bytes made visible the way Python's repr() shows them (b'250 ok\r\n'), for debug lines and for
// error messages that must show CR, LF and controls.
#pragma once

#include <string>
#include <string_view>

namespace smtp::wire {

// `prefix_b` false gives the repr of a str ('...'), as smtplib prints commands.
std::string bytes_repr(std::string_view bytes, bool prefix_b = true);

}  // namespace smtp::wire
