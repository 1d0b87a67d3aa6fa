#pragma once
// The client section of a recorded file, derived from what the live client did (SessionLog): the
// calls (sendmail, or sendmail_many for messages written behind another message's end; starttls;
// login; quit ...), the options that reproduce the client's order on the wire (pipelining,
// chunking, chunk_size), the outcome the replies give, and `clients:` when only our clients can
// follow that order (smtplib has no PIPELINING, no CHUNKING, no sendmail_many).
//
// It also makes the script agree with the section: a `bdat` step keeps its size only when the
// replayed message is the recorded one byte for byte.
#include <string>
#include <vector>

#include "smtp/recorder/session_log.hpp"
#include "smtp/scenario/model.hpp"

namespace smtp::recorder {

// The placeholders a recorded AUTH exchange is replayed with (RFC 4954: the live credentials
// are never written; the fake server accepts any response where the recording had one).
inline constexpr const char* placeholder_user = "recorded-user";
inline constexpr const char* placeholder_password = "recorded-password";

// Fills scenario.client, scenario.clients / clients_note, and adjusts `bdat` step sizes; `notes`
// gets one header line per thing a reader must know (why smtplib is left out, what was assumed).
void derive_client_section(const SessionLog& log, scenario::Scenario& scenario,
                           std::vector<std::string>& notes);

}  // namespace smtp::recorder
