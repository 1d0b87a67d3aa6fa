#include "smtp/recorder/client_section.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include "smtp/wire/path_parser.hpp"

namespace smtp::recorder {

namespace sc = smtp::scenario;

namespace {

// The client library's chunk sizes (client/include/smtp/session.hpp): BDAT chunks of
// bdat_chunk_size octets, the first one at most body_chunk_size when it rides in a pipelined group.
constexpr std::size_t client_default_chunk = 1024 * 1024;
constexpr std::size_t client_body_piece = 64 * 1024;

bool positive(int code) {
  return code >= 200 && code < 300;
}

bool accepted_rcpt(int code) {
  return code == 250 || code == 251;
}

sc::Outcome raises(std::string exception, std::optional<int> code = std::nullopt) {
  sc::Outcome o;
  o.ok = false;
  o.exception = std::move(exception);
  o.code = code;
  return o;
}

std::string rest_after_word(std::string_view line) {
  auto sp = line.find(' ');
  return sp == std::string_view::npos ? std::string() : std::string(line.substr(sp + 1));
}

std::string first_word(std::string_view line) {
  return std::string(line.substr(0, line.find(' ')));
}

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// The message as `message:` lines say it: CRLF lines, the last one ended too. Anything else (a
// bare CR or LF, no final CRLF, nothing at all) would be sent differently by a replaying client.
bool resendable_exactly(const std::string& m) {
  if (m.empty() || !m.ends_with("\r\n")) return false;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) return false;
    if (m[i] == '\r' && (i + 1 >= m.size() || m[i + 1] != '\n')) return false;
  }
  return true;
}

// One transaction as sendmail() ends it, by smtplib's rules (sendmail raises SMTPSenderRefused
// unless MAIL got 250, SMTPRecipientsRefused when no RCPT got 250/251, SMTPDataError unless DATA
// got 354 and the dot 250; BDAT: unless every chunk got 250).
struct Message {
  std::string from;
  std::vector<std::string> rcpts;
  std::vector<std::string> mail_options, rcpt_options;
  std::optional<sc::Outcome> failure;
  std::map<std::string, int> refused;
  // smtplib's LMTP reads one reply after the dot: its outcome when it differs from ours.
  std::optional<sc::Outcome> smtplib;
  std::size_t next = 0;  // the command after this transaction
};

Message read_message(const SessionLog& log, std::size_t i) {
  const auto& cmds = log.commands;
  const Transaction& tx = log.transactions[*cmds[i].transaction];
  const sc::Outcome disconnected = raises("SMTPServerDisconnected");
  Message m;
  std::vector<std::string> mail_params;
  if (auto p = wire::parse_path_command(cmds[i].line)) {
    m.from = p->address;
    for (const auto& param : p->params) {
      if (!wire::is_param(param, "SIZE")) m.mail_options.push_back(param);
    }
  }
  bool rcpt_lost = false;
  for (auto r : tx.rcpts) {
    std::string addr;
    if (auto p = wire::parse_path_command(cmds[r].line)) {
      addr = p->address;
      if (m.rcpts.empty()) m.rcpt_options = p->params;
    }
    m.rcpts.push_back(addr);
    const auto& rc = cmds[r].codes;
    if (rc.empty())
      rcpt_lost = true;
    else if (!accepted_rcpt(rc[0]))
      m.refused[addr] = rc[0];
  }
  std::size_t last = tx.mail;
  for (auto r : tx.rcpts) last = std::max(last, r);
  if (tx.data) last = std::max(last, *tx.data);
  for (auto c : tx.chunks) last = std::max(last, c);
  m.next = last + 1;

  const auto& mail_codes = cmds[tx.mail].codes;
  const bool lmtp = log.protocol == sc::Protocol::lmtp;
  const bool all_refused = m.refused.size() == m.rcpts.size() ||
                           std::any_of(m.refused.begin(), m.refused.end(),
                                       [](const auto& r) { return r.second == 421; });
  // The end of the message: codes[] of DATA after its 354, or of BDAT LAST.
  std::vector<int> end_codes;
  bool ended = false;
  std::optional<int> data_refused;  // DATA not 354, or a chunk before LAST refused
  if (tx.data) {
    const auto& dc = cmds[*tx.data].codes;
    if (!dc.empty() && dc[0] != 354) data_refused = dc[0];
    if (dc.size() > 1) end_codes.assign(dc.begin() + 1, dc.end());
    ended = tx.ended;
  } else if (!tx.chunks.empty()) {
    for (auto c : tx.chunks) {
      const auto& cc = cmds[c].codes;
      if (cmds[c].bdat && cmds[c].bdat->last) {
        end_codes = cc;
        ended = tx.ended;
      } else if (!cc.empty() && cc[0] != 250 && !data_refused) {
        data_refused = cc[0];
      }
    }
  }

  if (mail_codes.empty()) {
    m.failure = disconnected;
  } else if (mail_codes[0] != 250) {
    m.failure = raises("SMTPSenderRefused", mail_codes[0]);
  } else if (rcpt_lost) {
    m.failure = disconnected;
  } else if (m.rcpts.empty() || all_refused) {
    m.failure = raises("SMTPRecipientsRefused");
  } else if (!tx.data && tx.chunks.empty()) {
    m.failure = disconnected;  // the client stopped before DATA: only a disconnect does that
  } else if (data_refused) {
    m.failure = raises("SMTPDataError", *data_refused);
  } else if (!ended || end_codes.empty()) {
    m.failure = disconnected;
  } else if (lmtp) {
    // RFC 2033 section 4.2: one reply per accepted recipient, in RCPT order.
    std::size_t k = 0;
    const std::map<std::string, int> at_rcpt = m.refused;
    for (const auto& r : m.rcpts) {
      if (m.refused.count(r)) continue;
      if (k < end_codes.size() && !positive(end_codes[k])) m.refused[r] = end_codes[k];
      ++k;
    }
    if (k > end_codes.size()) m.failure = raises("SMTPServerDisconnected");
    if (end_codes[0] != 250) {
      m.smtplib = raises("SMTPDataError", end_codes[0]);
    } else if (at_rcpt != m.refused) {
      sc::Outcome o;
      o.refused = at_rcpt;
      m.smtplib = o;
    }
  } else if (end_codes[0] != 250) {
    m.failure = raises("SMTPDataError", end_codes[0]);
  }
  // smtplib's own RSET after a refusal belongs to sendmail.
  if (m.failure && m.next < cmds.size() && cmds[m.next].verb == "RSET" && !cmds[m.next].behind_end)
    ++m.next;
  return m;
}

sc::MessageResult result_of(const Message& m) {
  sc::MessageResult r;
  if (!m.failure) return r;
  r.ok = false;
  r.exception = m.failure->exception;
  r.code = m.failure->code;
  return r;
}

// The chunk_size option that makes our client cut a message as the recorded chunks are cut, or
// nullopt when the default does (or none can: the caller notes it).
struct ChunkSize {
  std::optional<std::size_t> option;
  bool expressible = true;
};

// Whether our client, with this chunk size, cuts a message into exactly these chunks: every chunk
// full (the first at most 64 KiB when it rides in a pipelined group) but the last, which is
// shorter, or empty when the message ended on a chunk boundary (the end is only known then).
// Walks the recorded chunks, so hostile sizes cost nothing.
bool cut_like(const std::vector<std::size_t>& sizes, bool pipelined, std::size_t size) {
  if (size == 0 || sizes.empty()) return false;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    const std::size_t full = i == 0 && pipelined ? std::min(client_body_piece, size) : size;
    if (sizes[i] != full) return false;
  }
  const std::size_t last_full =
      sizes.size() == 1 && pipelined ? std::min(client_body_piece, size) : size;
  return sizes.back() < last_full;
}

ChunkSize chunk_size_of(const std::vector<std::size_t>& sizes, bool pipelined) {
  ChunkSize c;
  if (sizes.size() < 2) return c;
  if (cut_like(sizes, pipelined, client_default_chunk)) return c;
  const std::size_t candidate = *std::max_element(sizes.begin(), sizes.end() - 1);
  if (cut_like(sizes, pipelined, candidate)) {
    c.option = candidate;
    return c;
  }
  c.expressible = false;
  return c;
}

}  // namespace

void derive_client_section(const SessionLog& log, sc::Scenario& scn,
                           std::vector<std::string>& notes) {
  auto& client = scn.client;
  const auto& cmds = log.commands;
  const std::size_t n = cmds.size();
  sc::Outcome outcome;  // ok until a call raises
  std::optional<sc::Outcome> failure;
  std::optional<sc::Outcome> smtplib_outcome;
  auto call = [&](std::string name, std::vector<std::string> args = {}) -> sc::ClientCall& {
    sc::ClientCall c;
    c.name = std::move(name);
    c.args = std::move(args);
    client.calls.push_back(std::move(c));
    return client.calls.back();
  };
  const sc::Outcome disconnected = raises("SMTPServerDisconnected");

  if (!log.greeting) {
    call("noop");
    client.expect = disconnected;
    return;
  }
  if (*log.greeting != 220) {
    call("noop");
    client.expect = raises("SMTPConnectError", *log.greeting);
    return;
  }

  bool used_pipelining = false, could_pipeline = false;
  bool used_bdat = false, could_bdat = false;
  bool used_many = false;
  std::optional<std::size_t> chunk_option;
  bool chunks_inexpressible = false;
  bool bdat_sizes_dropped = false;
  std::set<std::string> auth_notes;

  std::size_t i = 0;
  while (i < n && !failure) {
    const Command& c = cmds[i];
    const auto code = c.codes.empty() ? std::optional<int>{} : std::optional<int>{c.codes[0]};
    if (c.verb == "EHLO" || c.verb == "HELO" || c.verb == "LHLO") {
      // Implicit in the next call (ehlo_or_helo_if_needed); only a failure of the last greeting
      // command in a row is the client's outcome.
      const bool last = i + 1 >= n || (cmds[i + 1].verb != "EHLO" && cmds[i + 1].verb != "HELO" &&
                                       cmds[i + 1].verb != "LHLO");
      if (last && (!code || !positive(*code))) {
        call("ehlo_or_helo_if_needed");
        failure = code ? raises("SMTPHeloError", *code) : disconnected;
      }
      ++i;
    } else if (c.verb == "STARTTLS") {
      call("starttls");
      if (!code)
        failure = disconnected;
      else if (*code != 220)
        failure = raises("SMTPResponseException", *code);
      ++i;
    } else if (c.verb == "AUTH") {
      // The mechanism is the replaying client's choice from the recorded AUTH keywords, as it
      // was the live client's; whether the first line carried an initial response is kept.
      const auto words = rest_after_word(c.line);
      const auto mech = first_word(words);
      const bool initial = !rest_after_word(words).empty();
      std::string upper_mech = mech;
      for (auto& ch : upper_mech)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      auto& login = call("login", {placeholder_user, placeholder_password});
      if (!initial && (upper_mech == "PLAIN" || upper_mech == "LOGIN"))
        login.kwargs["initial_response_ok"] = "0";
      auth_notes.insert(upper_mech);
      std::optional<int> last = code;
      ++i;
      while (i < n && cmds[i].verb.empty()) {
        last =
            cmds[i].codes.empty() ? std::optional<int>{} : std::optional<int>{cmds[i].codes.back()};
        ++i;
      }
      if (!last)
        failure = disconnected;
      else if (*last != 235)
        failure = raises("SMTPAuthenticationError", *last);
    } else if ((c.verb == "MAIL" && c.transaction) ||
               (c.verb == "RSET" && c.behind_end && i + 1 < n && cmds[i + 1].verb == "MAIL" &&
                cmds[i + 1].transaction)) {
      // One sendmail, or a sendmail_many batch: each next message written behind the previous
      // message's end (with RSET in front) before that end was answered.
      std::vector<Message> batch;
      std::size_t j = c.verb == "RSET" ? i + 1 : i;
      while (true) {
        Message m = read_message(log, j);
        const auto& tx = log.transactions[*cmds[j].transaction];
        // How the client wrote it.
        bool pipelined = cmds[j].pipelined && !cmds[j].behind_end;
        for (auto r : tx.rcpts) pipelined = pipelined || cmds[r].pipelined;
        if (tx.data) pipelined = pipelined || cmds[*tx.data].pipelined;
        std::vector<std::size_t> sizes;
        for (auto k : tx.chunks) {
          pipelined = pipelined || cmds[k].pipelined;
          if (cmds[k].bdat) sizes.push_back(static_cast<std::size_t>(cmds[k].bdat->size));
        }
        if (cmds[j].behind_end) pipelined = true;
        used_pipelining = used_pipelining || pipelined;
        could_pipeline = could_pipeline || tx.pipelining_offered;
        used_bdat = used_bdat || !tx.chunks.empty();
        could_bdat = could_bdat || tx.chunking_offered;
        const auto cs = chunk_size_of(sizes, pipelined);
        if (cs.option) chunk_option = cs.option;
        if (!cs.expressible) chunks_inexpressible = true;
        if (!client.message && tx.ended) client.message = tx.message;
        const bool same_bytes =
            client.message && *client.message == tx.message && resendable_exactly(tx.message);
        for (auto k : tx.chunks) {
          if (!same_bytes && cmds[k].step < scn.steps.size()) {
            scn.steps[cmds[k].step].size.reset();
            bdat_sizes_dropped = true;
          }
        }
        std::size_t next = m.next;
        batch.push_back(std::move(m));
        // The next message of the batch: MAIL (or RSET then MAIL) written behind this end.
        std::size_t k = next;
        if (k < n && cmds[k].verb == "RSET" && cmds[k].behind_end) ++k;
        if (k < n && cmds[k].verb == "MAIL" && cmds[k].transaction &&
            (cmds[k].behind_end || (k > next && cmds[next].behind_end))) {
          j = k;
          continue;
        }
        i = next;
        break;
      }
      const Message& first = batch.front();
      if (batch.size() == 1) {
        auto& sm = call("sendmail", {first.from, first.rcpts.empty() ? std::string("nobody@invalid")
                                                                     : join(first.rcpts)});
        if (!first.mail_options.empty()) sm.kwargs["mail_options"] = join(first.mail_options);
        if (!first.rcpt_options.empty()) sm.kwargs["rcpt_options"] = join(first.rcpt_options);
        if (first.failure) {
          failure = first.failure;
        } else {
          for (const auto& [a, code2] : first.refused) outcome.refused[a] = code2;
          if (first.smtplib) smtplib_outcome = first.smtplib;
        }
      } else {
        used_many = true;
        std::vector<std::string> args;
        std::vector<sc::MessageResult> results;
        for (const auto& m : batch) {
          args.push_back(m.from);
          args.push_back(m.rcpts.empty() ? std::string("nobody@invalid") : join(m.rcpts));
          results.push_back(result_of(m));
          for (const auto& [a, code2] : m.refused) outcome.refused[a] = code2;
          if (m.failure && m.failure->exception == "SMTPRecipientsRefused") {
            for (const auto& r : m.rcpts) {
              if (auto it = m.refused.find(r); it != m.refused.end())
                outcome.refused[r] = it->second;
            }
          }
        }
        auto& sm = call("sendmail_many", args);
        if (!first.mail_options.empty()) sm.kwargs["mail_options"] = join(first.mail_options);
        if (!first.rcpt_options.empty()) sm.kwargs["rcpt_options"] = join(first.rcpt_options);
        outcome.results = results;
      }
    } else {
      const auto arg = rest_after_word(c.line);
      if (c.verb == "QUIT")
        call("quit");
      else if (c.verb == "NOOP")
        call("noop");
      else if (c.verb == "RSET")
        call("rset");
      else if (c.verb == "VRFY")
        call("verify", {arg});
      else if (c.verb == "EXPN")
        call("expn", {arg});
      else if (c.verb == "HELP")
        call("help", arg.empty() ? std::vector<std::string>{} : std::vector<std::string>{arg});
      else if (c.verb.empty()) {
        // an AUTH response outside AUTH: only a confused client does that
      } else {
        auto& d = call("docmd", {first_word(c.line)});
        if (!arg.empty()) d.args.push_back(arg);
      }
      if (!code && c.verb != "QUIT" && !c.verb.empty()) failure = disconnected;
      ++i;
    }
  }
  if (client.calls.empty()) {
    call("noop");  // the client said nothing: any call meets what the server did next
    if (log.server_closed && !failure) failure = disconnected;
  }
  if (failure) {
    client.expect = *failure;
    if (i < n) {
      notes.push_back("The client went on after its call failed (" + std::to_string(n - i) +
                      " more command(s)); a harness driver stops at the failing call.");
    }
  } else {
    client.expect = outcome;
    if (smtplib_outcome) {
      client.expect_smtplib = *smtplib_outcome;
      client.smtplib_note =
          "smtplib's LMTP reads one reply after the end of data (the first recipient's); ours "
          "reads one per accepted recipient (RFC 2033 section 4.2)";
    }
  }
  if (client.message && client.message->empty()) client.message.reset();

  // The options that make our client write what the live client wrote.
  if (used_pipelining)
    client.options["pipelining"] = "1";
  else if (could_pipeline)
    client.options["pipelining"] = "0";
  if (used_bdat)
    client.options["chunking"] = "1";
  else if (could_bdat)
    client.options["chunking"] = "0";
  if (chunk_option) client.options["chunk_size"] = std::to_string(*chunk_option);
  if (chunks_inexpressible)
    notes.push_back(
        "The BDAT chunk sizes are not the ones any chunk_size option gives our client: a replay "
        "diverges at the first chunk of another size.");
  if (bdat_sizes_dropped)
    notes.push_back(
        "Some BDAT chunks carried another message than the client section's `message:` (or one "
        "it cannot resend byte for byte): their `bdat` steps accept any size.");
  if (!auth_notes.empty())
    notes.push_back("AUTH (" + join({auth_notes.begin(), auth_notes.end()}, " ") +
                    ") was recorded with placeholders: the client's responses are `C: *` and the "
                    "client logs in as " +
                    placeholder_user + " / " + placeholder_password +
                    "; no live credential is in this file. The replaying client picks the "
                    "mechanism from the recorded AUTH keywords.");

  // Who can follow this order on the wire.
  std::vector<std::string> reasons;
  if (used_bdat)
    reasons.push_back("smtplib has no CHUNKING: it sends DATA where this session sent BDAT");
  if (used_pipelining)
    reasons.push_back(
        "smtplib has no PIPELINING: the script reads each pipelined group before it answers");
  if (used_many) reasons.push_back("sendmail_many is not in smtplib");
  if (!reasons.empty()) {
    scn.clients = {"cpp", "cpp-async"};
    scn.clients_note = join(reasons, "; ");
  }
  // The client sent QUIT and closed without its reply. smtplib's LMTP does that after a message to
  // several recipients: it reads one reply after the end of data and takes the next recipient's
  // as QUIT's. Only a client that does the same follows this script; ours reads every reply.
  const bool quit_unanswered =
      n > 0 && cmds[n - 1].verb == "QUIT" && cmds[n - 1].codes.empty() && !log.server_closed;
  bool lmtp_several = false;
  for (const auto& t : log.transactions) {
    const auto* end = t.data ? &cmds[*t.data].codes : nullptr;
    if (!t.data && !t.chunks.empty()) end = &cmds[t.chunks.back()].codes;
    if (end && end->size() > (t.data ? 2u : 1u)) lmtp_several = true;
  }
  if (quit_unanswered && log.protocol == sc::Protocol::lmtp && lmtp_several && reasons.empty()) {
    scn.clients = {"smtplib"};
    scn.clients_note =
        "the client read one reply after the end of data and closed with a recipient's reply as "
        "QUIT's (smtplib's LMTP); our client reads one reply per recipient and waits for QUIT's";
  } else if (quit_unanswered) {
    notes.push_back(
        "The client closed without waiting for the reply to QUIT: a client that waits for it "
        "does not follow the end of this script.");
  }
  for (const auto& t : log.transactions) {
    if (t.bare_lf_lines) {
      notes.push_back("The message had lines ending in a bare LF; the client section sends CRLF.");
      break;
    }
  }
}

}  // namespace smtp::recorder
