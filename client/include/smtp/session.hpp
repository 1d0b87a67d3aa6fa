// What a session knows between exchanges: the attributes smtplib keeps on the SMTP object.
// Plain data, shared by the algorithms and by whichever driver runs them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "smtp/capabilities.hpp"

namespace smtp {

struct SessionState {
  std::string local_hostname;
  std::optional<std::string> helo_resp;  // text of the last HELO reply (smtplib: helo_resp)
  std::optional<std::string> ehlo_resp;  // text of the last EHLO/LHLO reply, even a refusal
  bool does_esmtp = false;
  EsmtpFeatures esmtp_features;
  bool lmtp = false;  // LHLO instead of EHLO; one reply per accepted recipient after DATA
  // Recipients accepted since the last MAIL: LMTP's DATA gets one reply for each (RFC 2033 4.2).
  std::vector<std::string> accepted_recipients;
  // sendmail() pipelines MAIL, RCPT... and DATA when the server advertises PIPELINING (RFC 2920)
  // and this is set (SMTP::set_pipelining; on by default). Not forgotten by quit().
  bool allow_pipelining = true;
  // sendmail() sends the body as BDAT chunks when the server advertises CHUNKING (RFC 3030) and
  // this is set (SMTP::set_chunking; on by default).
  bool allow_chunking = true;
  // Streamed bodies go out in writes of about this many octets (DATA; and the first BDAT chunk
  // when pipelined); BDAT chunks are up to bdat_chunk_size octets each.
  std::size_t body_chunk_size = 64 * 1024;
  std::size_t bdat_chunk_size = 1024 * 1024;
  // sendmail_many(): at most this many messages in flight at once (see algo::SendmanyAlgo).
  std::size_t pipeline_depth = 32;

  // What quit() forgets (smtplib resets these after QUIT).
  void forget_hello() {
    helo_resp.reset();
    ehlo_resp.reset();
    esmtp_features.clear();
    does_esmtp = false;
    accepted_recipients.clear();
  }
  const char* ehlo_verb() const { return lmtp ? "lhlo" : "ehlo"; }
};

}  // namespace smtp
