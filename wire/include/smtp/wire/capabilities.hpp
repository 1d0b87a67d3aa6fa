// The EHLO/LHLO capability parser (RFC 5321 section 4.1.1.1), with smtplib's semantics.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace smtp::wire {

// Keyword (lowercased) -> parameters, as smtplib's esmtp_features. For example the lines
// "250-SIZE 10240000" and "250 AUTH PLAIN LOGIN" give {"size": "10240000", "auth": " PLAIN LOGIN"}.
using EsmtpFeatures = std::map<std::string, std::string>;

// Parses the text of a successful EHLO reply (Reply::text: lines joined by "\n"). As smtplib:
// - the first line is the server's greeting and is skipped;
// - a line matching "auth=..." (old-style, case-insensitive) is appended to "auth" with a space;
// - otherwise a keyword is [A-Za-z0-9][A-Za-z0-9-]*, its parameters are the rest of the line,
//   whitespace-stripped; a later line with the same keyword replaces the earlier one, except
//   "auth", whose parameters accumulate (each preceded by a space);
// - lines that do not start with a keyword are ignored.
EsmtpFeatures parse_ehlo_features(std::string_view ehlo_text);

// Case-insensitive look-up, as smtplib's has_extn().
bool has_feature(const EsmtpFeatures& features, std::string_view name);

}  // namespace smtp::wire
