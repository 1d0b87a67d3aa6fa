// Builds command lines. Every argument is checked before a byte is built, so nothing a caller
// passes can smuggle a second command (CR, LF) or a control into the session. Violations raise
// std::invalid_argument naming the rule (smtplib raises ValueError for CR/LF only).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace smtp::wire::command {

// "verb args\r\n" (or "verb\r\n" when args is empty, as smtplib's putcmd). The verb must start
// with a letter; neither may contain CR, LF, NUL or any other control (HT, DEL included).
std::string line(std::string_view verb, std::string_view args = {});

// Refuses controls in text that becomes part of a command. `what` names the argument in the error.
void check_no_controls(std::string_view text, std::string_view what);

// A HELO/EHLO/LHLO argument: non-empty, no controls, no space.
void check_hostname(std::string_view name);

// What smtplib's quoteaddr() does, strictly: "<>" and "" give "<>" (allowed only when `null_ok`),
// "Name <a@b>" and "a@b" both become "<a@b>". The address inside the brackets must match
// RFC 5321 section 4.1.2 Path (optional source route, Local-part "@" Domain / address-literal;
// RFC 6531 UTF-8 allowed) or, when `postmaster_ok`, be "Postmaster" (section 4.1.1.3).
std::string quote_address(std::string_view address, bool null_ok, bool postmaster_ok = false);

// The bare address, as smtplib's _addr_only() (for VRFY and EXPN): "Name <a@b>" -> "a@b".
// Controls refused; no grammar check (VRFY accepts user names and mailing-list names).
std::string address_only(std::string_view address);

// One ESMTP parameter, RFC 5321 section 4.1.2: esmtp-keyword ["=" esmtp-value], keyword
// (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"), value 1*(%d33-60 / %d62-126 / UTF-8 non-ASCII).
void check_esmtp_param(std::string_view param);

// "mail FROM:<addr> OPT...\r\n" / "rcpt TO:<addr> OPT...\r\n", smtplib's spelling.
std::string mail(std::string_view sender, std::span<const std::string> options);
std::string rcpt(std::string_view recipient, std::span<const std::string> options);

}  // namespace smtp::wire::command
