// The ports a tool connects to when the user names none: one value per protocol across the
// project (the client library, smtp-client, smtp-probe), as Python's smtplib has them.
#pragma once

#include <cstdint>

namespace smtp::wire {

inline constexpr std::uint16_t smtp_default_port = 25;          // smtplib.SMTP_PORT
inline constexpr std::uint16_t submissions_default_port = 465;  // smtplib.SMTP_SSL_PORT
inline constexpr std::uint16_t lmtp_default_port = 2003;        // smtplib.LMTP_PORT

}  // namespace smtp::wire
