#pragma once
// What every player accepts from its peer, in one place so the fake server (client lines), the
// probe (server replies) and the recorder (both) agree (issue 22). Past a limit the player reports
// a divergence naming it, ends that session, and goes on serving others. A scenario that needs
// longer lines says `max-line: BYTES` in its header (scenarios/FORMAT.md, "Limits").
#include <cstddef>

namespace smtp::scenario {

struct PeerLimits {
  // The longest line received from the peer, line end included: a command line (fake server,
  // recorder) or one reply line (probe, recorder). RFC 5321 section 4.5.3.1 allows 512 for a
  // command and 512 for a reply line (more with extensions); 64 KiB leaves room for every test in
  // the corpus (the 8192-byte reply lines of multiline/ and hostile/) and stays small.
  static constexpr std::size_t max_line = 64 * 1024;
  // The most a `max-line:` header may ask for: a scenario testing huge lines, not a memory bomb.
  static constexpr std::size_t max_line_ceiling = 16 * 1024 * 1024;
  // Lines of one reply (probe): the EHLO reply of hostile/ has thousands of lines; an endless
  // multiline reply ends here instead of at the check's timeout with an unbounded transcript.
  static constexpr std::size_t max_reply_lines = 10000;
  // Bytes of one reply, all its lines (probe).
  static constexpr std::size_t max_reply_bytes = 4 * 1024 * 1024;
};

}  // namespace smtp::scenario
