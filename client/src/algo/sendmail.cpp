#include "smtp/algo/sendmail.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "smtp/algo/lost_after_end.hpp"
#include "smtp/wire/command_encoder.hpp"

namespace smtp::algo {

namespace {

// Room in front of a BDAT chunk's payload for "BDAT <n> LAST\r\n", so the command and the payload
// leave in one write without copying the payload.
constexpr std::size_t bdat_header_room = 32;

// With PIPELINING, up to this many BDAT chunks are written before the first of their replies is
// read (RFC 3030 section 4.2 allows pipelined BDAT), so the connection never idles for a round
// trip per chunk; memory stays one chunk, the rest is in the socket buffers.
constexpr std::size_t bdat_window = 4;

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

// "KEYWORD=value" -> {"KEYWORD" (upper case), "value"}; no '=' -> {"KEYWORD", ""}.
std::pair<std::string, std::string> split_param(std::string_view o) {
  const std::size_t eq = o.find('=');
  if (eq == std::string_view::npos) return {upper(o), {}};
  return {upper(o.substr(0, eq)), std::string(o.substr(eq + 1))};
}

bool is_hex_upper(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

// RFC 3461 section 4: xtext = *( xchar / hexchar ); xchar is "!".."~" except "+" and "=";
// hexchar is "+" and two upper-case hex digits.
bool is_xtext(std::string_view v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '+') {
      if (i + 2 >= v.size() || !is_hex_upper(v[i + 1]) || !is_hex_upper(v[i + 2])) return false;
      i += 2;
    } else if (c < '!' || c > '~' || c == '=') {
      return false;
    }
  }
  return true;
}

[[noreturn]] void bad_option(std::string_view option, std::string_view why) {
  throw std::invalid_argument("ESMTP option '" + std::string(option) + "': " + std::string(why));
}

void check_mail_option_grammar(const std::string& o) {
  const auto [kw, value] = split_param(o);
  if (kw == "RET") {
    const std::string v = upper(value);
    if (v != "FULL" && v != "HDRS") bad_option(o, "RET must be FULL or HDRS (RFC 3461 4.3)");
  } else if (kw == "ENVID") {
    if (value.empty() || value.size() > 100 || !is_xtext(value)) {
      bad_option(o, "ENVID must be 1 to 100 characters of xtext (RFC 3461 4.4)");
    }
  }
}

void check_rcpt_option_grammar(const std::string& o) {
  const auto [kw, value] = split_param(o);
  if (kw == "NOTIFY") {
    // NEVER alone, or a list of SUCCESS, FAILURE, DELAY without repetition (RFC 3461 4.1).
    const std::string v = upper(value);
    if (v == "NEVER") return;
    std::vector<std::string> seen;
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = v.find(',', start);
      const std::string item =
          v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if ((item != "SUCCESS" && item != "FAILURE" && item != "DELAY") ||
          std::find(seen.begin(), seen.end(), item) != seen.end()) {
        bad_option(o, "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1)");
      }
      seen.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else if (kw == "ORCPT") {
    // addr-type ";" xtext (RFC 3461 4.2); addr-type is an atom such as rfc822.
    const std::size_t semi = value.find(';');
    const std::string_view type = std::string_view(value).substr(0, semi);
    const bool type_ok = !type.empty() && std::all_of(type.begin(), type.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-';
    });
    if (semi == std::string::npos || !type_ok || semi + 1 == value.size() ||
        !is_xtext(std::string_view(value).substr(semi + 1))) {
      bad_option(o, "ORCPT must be addr-type;xtext (RFC 3461 4.2)");
    }
  }
}

bool non_ascii(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// A copied string message.
class OwnedStringBody final : public BodySource {
 public:
  explicit OwnedStringBody(std::string s) : s_(std::move(s)) {}
  std::size_t read(std::span<char> buffer) override {
    const std::size_t n = std::min(buffer.size(), s_.size() - pos_);
    if (n > 0) std::memcpy(buffer.data(), s_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::optional<std::uint64_t> size() const override { return s_.size() - pos_; }

 private:
  std::string s_;
  std::size_t pos_ = 0;
};

}  // namespace

SendmailAlgo::SendmailAlgo(SessionState& session, std::string_view from_addr,
                           std::vector<std::string> to_addrs, std::string_view msg,
                           std::vector<std::string> mail_options,
                           std::vector<std::string> rcpt_options)
    : session_(&session),
      from_(from_addr),
      to_(std::move(to_addrs)),
      mail_options_(std::move(mail_options)),
      rcpt_options_(std::move(rcpt_options)),
      hello_(session) {
  check_input();
  // The whole message is at hand: refuse a NUL now, before any byte is written.
  size_ = binary_ ? msg.size() : wire::BodyEncoder::measure(msg);
  owned_source_ = std::make_unique<OwnedStringBody>(std::string(msg));
  source_ = owned_source_.get();
}

SendmailAlgo::SendmailAlgo(SessionState& session, std::string_view from_addr,
                           std::vector<std::string> to_addrs, BodySource& body,
                           std::vector<std::string> mail_options,
                           std::vector<std::string> rcpt_options)
    : session_(&session),
      from_(from_addr),
      to_(std::move(to_addrs)),
      mail_options_(std::move(mail_options)),
      rcpt_options_(std::move(rcpt_options)),
      source_(&body),
      hello_(session) {
  check_input();
  size_ = body.size();
}

SendmailAlgo::SendmailAlgo(SendmailAlgo&&) noexcept = default;
SendmailAlgo& SendmailAlgo::operator=(SendmailAlgo&&) noexcept = default;
SendmailAlgo::~SendmailAlgo() = default;

// Everything that becomes a command is checked before the first write.
void SendmailAlgo::check_input() {
  (void)wire::command::mail(from_, mail_options_);
  for (const auto& to : to_) rcpt_lines_.push_back(wire::command::rcpt(to, rcpt_options_));
  bool smtputf8 = false;
  for (const auto& o : mail_options_) {
    check_mail_option_grammar(o);
    const auto [kw, value] = split_param(o);
    if (kw == "SMTPUTF8") smtputf8 = true;
    if (kw == "BODY" && upper(value) == "BINARYMIME") binary_ = true;
  }
  for (const auto& o : rcpt_options_) check_rcpt_option_grammar(o);
  if (!smtputf8) {
    // smtplib fails the same way (UnicodeEncodeError in putcmd), but only after EHLO.
    if (non_ascii(from_)) {
      throw std::invalid_argument("address '" + from_ +
                                  "' is not ASCII: it needs SMTPUTF8 in mail_options (RFC 6531)");
    }
    for (const auto& to : to_) {
      if (non_ascii(to)) {
        throw std::invalid_argument("address '" + to +
                                    "' is not ASCII: it needs SMTPUTF8 in mail_options (RFC 6531)");
      }
    }
  }
}

// The options the caller asked for against what the server advertised (after EHLO).
std::exception_ptr SendmailAlgo::check_extensions() const {
  const auto& f = session_->esmtp_features;
  auto missing = [](const std::string& option, std::string_view what) {
    return std::make_exception_ptr(SMTPNotSupportedError(
        option + " not supported by server (it does not advertise " + std::string(what) + ")"));
  };
  if (binary_ && !bdat_) {
    return std::make_exception_ptr(SMTPNotSupportedError(
        "BODY=BINARYMIME not supported: it needs BINARYMIME and CHUNKING advertised and chunking "
        "allowed (RFC 3030)"));
  }
  if (!session_->does_esmtp) return nullptr;  // options are not sent (as smtplib)
  for (const auto& o : mail_options_) {
    const auto [kw, value] = split_param(o);
    const std::string v = upper(value);
    if (kw == "SMTPUTF8" && !has_feature(f, "smtputf8")) {
      return std::make_exception_ptr(SMTPNotSupportedError("SMTPUTF8 not supported by server"));
    }
    if (kw == "BODY" && v == "8BITMIME" && !has_feature(f, "8bitmime")) {
      return missing(o, "8BITMIME");
    }
    if (kw == "BODY" && v == "BINARYMIME" && !has_feature(f, "binarymime")) {
      return missing(o, "BINARYMIME");
    }
    if ((kw == "RET" || kw == "ENVID") && !has_feature(f, "dsn")) return missing(o, "DSN");
  }
  for (const auto& o : rcpt_options_) {
    const auto kw = split_param(o).first;
    if ((kw == "NOTIFY" || kw == "ORCPT") && !has_feature(f, "dsn")) return missing(o, "DSN");
  }
  // RFC 1870: SIZE n with n > 0 is the largest message the server accepts.
  if (size_ && has_feature(f, "size")) {
    const std::string& text = f.at("size");
    std::uint64_t limit = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec == std::errc() && limit > 0 && *size_ > limit) {
      return std::make_exception_ptr(SMTPMessageTooLarge(*size_, limit));
    }
  }
  return nullptr;
}

// RFC 2034: enhanced status codes are only meaningful when the server advertised them.
template <class E>
std::exception_ptr SendmailAlgo::reply_error(E e) const {
  if (!has_feature(session_->esmtp_features, "enhancedstatuscodes")) e.enhanced_status.reset();
  return std::make_exception_ptr(std::move(e));
}

action SendmailAlgo::finish(std::exception_ptr e) {
  error_ = std::move(e);
  state_ = state::done;
  return action::done();
}

// A refusal: 421 means the server is closing (RFC 5321 section 3.8), so close without RSET;
// otherwise RSET to leave the session clean, as smtplib's _rset().
action SendmailAlgo::fail(std::exception_ptr e, const Reply& reply) {
  pending_ = std::move(e);
  if (reply.code == 421) {
    state_ = state::closing;
    return action::close();
  }
  if (successor_started_) return finish(pending_);
  state_ = state::rset;
  return action::command("rset\r\n", reply_to::rset);
}

// The body cannot be completed (NUL, read error): never send the end of the message; closing the
// connection makes the server discard the transaction.
action SendmailAlgo::abandon(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::invalid_argument& ex) {
    e = std::make_exception_ptr(std::invalid_argument(
        std::string(ex.what()) +
        "; the transaction was abandoned and the connection closed without ending the message"));
  } catch (...) {
  }
  pending_ = std::move(e);
  session_->accepted_recipients.clear();
  state_ = state::closing;
  return action::close();
}

void SendmailAlgo::produce(std::size_t target) {
  if (raw_.empty()) {
    // A read buffer of one piece, or just over the message when it is known to be smaller (a
    // 1 KiB message must not cost a 64 KiB allocation and clear).
    std::size_t n = std::max<std::size_t>(1, session_->body_chunk_size);
    if (size_ && *size_ < n) n = static_cast<std::size_t>(*size_) + 1;
    raw_.resize(n);
  }
  while (!eof_ && out_.size() < target) {
    const std::size_t want = std::min(raw_.size(), target - out_.size());
    const std::size_t n = source_->read(std::span<char>(raw_.data(), want));
    if (n == 0) {
      eof_ = true;
      if (bdat_) {
        if (!binary_) encoder_.finish_chunked(out_);
      } else {
        encoder_.finish(out_);
      }
      break;
    }
    if (binary_) {
      out_.append(raw_.data(), n);
    } else {
      encoder_.encode(std::string_view(raw_.data(), n), out_);
    }
  }
}

action SendmailAlgo::next_data_piece() {
  if (prefetched_) {
    prefetched_ = false;  // the first piece was read before MAIL
  } else {
    out_.clear();
    try {
      produce(std::max<std::size_t>(1, session_->body_chunk_size));
    } catch (...) {
      return abandon(std::current_exception());
    }
  }
  if (eof_) {
    end_written_ = true;
    if (batched_) {
      all_written_ = true;
      after_final_ = state::body;
      state_ = state::final_written;
      return action::write(out_);
    }
    state_ = state::body;
    return action::command(out_, reply_to::end_of_data);
  }
  state_ = state::body_writing;
  return action::write(out_);
}

void SendmailAlgo::make_bdat_chunk(std::size_t limit) {
  limit = std::max<std::size_t>(1, limit);
  out_.assign(bdat_header_room, ' ');
  out_ += carry_;
  carry_.clear();
  produce(bdat_header_room + limit);
  // The encoder emits CRLF as a pair (and its final CRLF at once), so a piece can end one or two
  // octets past the limit: those open the next chunk, and no chunk is ever larger than the limit.
  if (out_.size() > bdat_header_room + limit) {
    carry_.assign(out_, bdat_header_room + limit);
    out_.resize(bdat_header_room + limit);
  }
  last_chunk_ = eof_ && carry_.empty();
  const std::string head = "BDAT " + std::to_string(out_.size() - bdat_header_room) +
                           (last_chunk_ ? " LAST\r\n" : "\r\n");
  out_start_ = bdat_header_room - head.size();
  out_.replace(out_start_, head.size(), head);
}

action SendmailAlgo::next_bdat_chunk(std::size_t limit) {
  if (prefetched_) {
    prefetched_ = false;  // the first chunk was read before MAIL
  } else {
    try {
      make_bdat_chunk(limit);
    } catch (...) {
      return abandon(std::current_exception());
    }
  }
  if (last_chunk_) end_written_ = true;
  if (pipe_chunks_) {
    // Written without waiting: the replies are read when the window is full, and all of them
    // before LAST's.
    action a = action::write(std::string_view(out_).substr(out_start_));
    a.replies_pending = chunks_out_ > 0;  // earlier chunks' replies may be waiting already
    if (last_chunk_) {
      all_written_ = true;
      state_ = state::bdat_last_written;
    } else {
      ++chunks_out_;
      state_ = state::bdat_chunk_written;
    }
    return a;
  }
  if (batched_ && last_chunk_) {
    all_written_ = true;
    after_final_ = state::bdat;
    state_ = state::final_written;
    return action::write(std::string_view(out_).substr(out_start_));
  }
  state_ = state::bdat;
  return action::command(std::string_view(out_).substr(out_start_),
                         last_chunk_ ? reply_to::end_of_data : reply_to::bdat);
}

// One outstanding chunk's reply (pipelined BDAT): counted, the first refusal kept. A lost
// connection or a 421 ends the transaction here (the action returned); otherwise nullopt.
std::optional<action> SendmailAlgo::take_chunk_reply(const step_result& r) {
  if (r.error) return finish(chunk_refusal_ ? pending_chunk_error() : r.error);
  --chunks_out_;
  if (r.reply.code != 250 && !chunk_refusal_) chunk_refusal_ = r.reply;
  if (r.reply.code == 421) return fail(pending_chunk_error(), r.reply);
  return std::nullopt;
}

// The first refused chunk's reply as the error sendmail raises.
std::exception_ptr SendmailAlgo::pending_chunk_error() const {
  return reply_error(SMTPDataError(chunk_refusal_->code, chunk_refusal_->text));
}

action SendmailAlgo::start_rcpt() {
  state_ = state::rcpt;
  return action::command(rcpt_lines_[next_rcpt_], reply_to::rcpt);
}

action SendmailAlgo::after_rcpts() {
  if (bdat_) return next_bdat_chunk(session_->bdat_chunk_size);
  state_ = state::data;
  return action::command("data\r\n", reply_to::data);
}

// The command the next reply of the pipelined group answers: MAIL, each RCPT, then DATA (or the
// first BDAT chunk, LAST when the whole message rode in the group).
// LMTP with CHUNKING, pipelined: the group is MAIL and RCPT only (see resume()).
bool SendmailAlgo::lmtp_bdat() const {
  return bdat_ && session_->lmtp;
}

reply_to SendmailAlgo::pipe_expect() const {
  const std::size_t i = pipe_replies_.size();
  if (i == 0) return reply_to::mail;
  if (i <= to_.size()) return reply_to::rcpt;
  if (!bdat_) return reply_to::data;
  return last_chunk_ ? reply_to::end_of_data : reply_to::bdat;
}

// One reply of the pipelined group: MAIL's, then one per RCPT, then DATA's (or the first BDAT's).
action SendmailAlgo::pipe_reply(const step_result& r) {
  if (r.error) return finish(r.error);
  const std::size_t i = pipe_replies_.size();
  pipe_replies_.push_back(r.reply);
  if (r.reply.code == 421) {
    // The server is closing: nothing more will come (RFC 5321 section 3.8).
    if (i == 0) {
      return fail(reply_error(SMTPSenderRefused(r.reply.code, r.reply.text, from_)), r.reply);
    }
    if (i <= to_.size()) {
      if (pipe_replies_[0].code == 250) {
        for (std::size_t k = 1; k < i; ++k) {
          const Reply& rr = pipe_replies_[k];
          if (rr.code != 250 && rr.code != 251) refused_[to_[k - 1]] = rr;
        }
        refused_[to_[i - 1]] = r.reply;
        return fail(std::make_exception_ptr(SMTPRecipientsRefused(refused_)), r.reply);
      }
      return fail(
          reply_error(SMTPSenderRefused(pipe_replies_[0].code, pipe_replies_[0].text, from_)),
          r.reply);
    }
  }
  if (pipe_replies_.size() < to_.size() + (lmtp_bdat() ? 1 : 2)) {
    return action::read_reply(pipe_expect());
  }
  return pipe_evaluate();
}

action SendmailAlgo::pipe_evaluate() {
  const Reply& mail = pipe_replies_.front();
  const Reply last = pipe_replies_.back();
  std::exception_ptr e;
  if (mail.code != 250) {
    e = reply_error(SMTPSenderRefused(mail.code, mail.text, from_));
  } else {
    for (std::size_t k = 0; k < to_.size(); ++k) {
      const Reply& rr = pipe_replies_[k + 1];
      if (rr.code == 250 || rr.code == 251) {
        accepted_.push_back(to_[k]);
        session_->accepted_recipients.push_back(to_[k]);
      } else {
        refused_[to_[k]] = rr;
      }
    }
    if (accepted_.empty()) {
      e = std::make_exception_ptr(SMTPRecipientsRefused(refused_));
    } else if (lmtp_bdat()) {
      // The group held no chunk: the body follows, its first chunk already read.
    } else if (bdat_) {
      // LMTP: the reply to BDAT LAST is the first recipient's delivery status.
      if (!(last_chunk_ && session_->lmtp) && last.code != 250) {
        e = reply_error(SMTPDataError(last.code, last.text));
      }
    } else if (last.code != 354) {
      e = reply_error(SMTPDataError(last.code, last.text));
    }
  }
  if (!e) {
    if (!bdat_) return next_data_piece();
    if (lmtp_bdat()) return next_bdat_chunk(session_->bdat_chunk_size);
    if (last_chunk_) return final_reply(last);
    return next_bdat_chunk(session_->bdat_chunk_size);
  }
  if (!bdat_ && last.code == 354) {
    // RFC 2920 section 3.1: DATA was accepted with nothing valid to deliver; end the empty
    // message so the session stays in step, then reset.
    pending_ = std::move(e);
    session_->accepted_recipients.clear();
    state_ = state::pipe_abort_dot;
    return action::command(".\r\n", reply_to::end_of_data);
  }
  return fail(std::move(e), last.code == 421 ? last : Reply{});
}

// The reply after the end of the message (final dot or BDAT LAST): SMTP one, LMTP one per
// accepted recipient.
action SendmailAlgo::final_reply(const Reply& reply) {
  // Before the last reply to the end of the message is believed, nothing else may be waiting: a
  // further reply would mean one was duplicated or injected, and the reply read may not be the
  // one to the end at all (the end may also have gone out behind other commands: BDAT LAST in the
  // pipelined group). Batched messages are checked by SendmanyAlgo.
  const bool last_expected = !session_->lmtp || lmtp_index_ + 1 >= accepted_.size();
  if (!batched_ && last_expected && !idle_checked_) {
    held_final_ = reply;
    state_ = state::idle_check;
    return action::expect_idle();
  }
  data_replies_.emplace_back(session_->lmtp ? accepted_[lmtp_index_] : std::string(), reply);
  if (!session_->lmtp) {
    final_read_ = true;
    if (reply.code != 250) return fail(reply_error(SMTPDataError(reply.code, reply.text)), reply);
    session_->accepted_recipients.clear();
    return finish(nullptr);
  }
  // RFC 2033 section 4.2: one reply per accepted recipient, in RCPT order.
  if (reply.code != 250) {
    refused_[accepted_[lmtp_index_]] = reply;
    ++lmtp_refused_;
  }
  if (++lmtp_index_ < accepted_.size()) {
    state_ = state::lmtp_more;
    return action::read_reply(reply_to::end_of_data);
  }
  final_read_ = true;
  session_->accepted_recipients.clear();
  if (lmtp_refused_ == accepted_.size()) {
    return fail(std::make_exception_ptr(SMTPRecipientsRefused(refused_)), {});
  }
  return finish(nullptr);
}

// The connection failed after the end of the message was written and before its reply (each
// LMTP reply) was read: the outcome is unknown, never "refused" or "delivered".
action SendmailAlgo::lost_after_end(std::exception_ptr e) {
  session_->accepted_recipients.clear();
  return finish(
      algo::lost_after_end(std::move(e), session_->lmtp, accepted_, lmtp_index_, refused_));
}

action SendmailAlgo::resume(const step_result& r) {
  if (r.error && end_written_ && !final_read_ && state_ != state::rset &&
      state_ != state::idle_check && state_ != state::closing && state_ != state::done &&
      state_ != state::bdat_last_after_refusal) {
    return lost_after_end(r.error);
  }
  switch (state_) {
    case state::hello: {
      const action a = hello_.resume(r);
      if (a.kind != action_kind::done) return a;
      if (hello_.error()) return finish(hello_.error());
      bdat_ = session_->does_esmtp && session_->allow_chunking &&
              has_feature(session_->esmtp_features, "chunking");
      encoder_ = wire::BodyEncoder(!bdat_);
      if (auto e = check_extensions()) return finish(e);
      std::vector<std::string> options;
      if (session_->does_esmtp) {
        if (size_ && has_feature(session_->esmtp_features, "size")) {
          options.push_back("size=" + std::to_string(*size_));
        }
        options.insert(options.end(), mail_options_.begin(), mail_options_.end());
      }
      line_ = wire::command::mail(from_, options);
      // smtplib sends RCPT options only to an ESMTP server.
      if (!session_->does_esmtp && !rcpt_options_.empty()) {
        rcpt_lines_.clear();
        for (const auto& to : to_) rcpt_lines_.push_back(wire::command::rcpt(to, {}));
      }
      session_->accepted_recipients.clear();
      const bool pipelined = session_->allow_pipelining && !to_.empty() &&
                             has_feature(session_->esmtp_features, "pipelining");
      pipe_chunks_ = bdat_ && pipelined;
      // The first piece (first BDAT chunk) is read before MAIL: a small message with a NUL, or a
      // source that fails at once, is refused with nothing written and the session untouched.
      try {
        if (bdat_) {
          make_bdat_chunk(pipelined ? std::min(session_->body_chunk_size, session_->bdat_chunk_size)
                                    : session_->bdat_chunk_size);
        } else {
          out_.clear();
          produce(std::max<std::size_t>(1, session_->body_chunk_size));
        }
      } catch (...) {
        return finish(std::current_exception());
      }
      prefetched_ = true;
      if (pipelined) {
        rset_in_batch_ = rset_first_;
        batch_ = rset_in_batch_ ? "rset\r\n" : "";
        batch_ += line_;
        for (const auto& l : rcpt_lines_) batch_ += l;
        if (bdat_ && !session_->lmtp) {
          prefetched_ = false;  // it rides in the batch
          batch_.append(out_, out_start_);
          all_written_ = last_chunk_;
          end_written_ = last_chunk_;
        } else if (!bdat_) {
          batch_ += "data\r\n";
        }
        // LMTP with BDAT: no chunk in the group. How many replies BDAT LAST gets depends on the
        // RCPT replies (one per accepted recipient), and without a 354 nothing would confirm
        // they were read in step: a dropped reply could be absorbed by a refusal read in the
        // wrong place. Reading them first makes a dropped reply a wait, never a shifted outcome.
        state_ = state::pipe_written;
        return action::write(batch_);
      }
      state_ = state::mail;
      return action::command(line_, reply_to::mail);
    }
    case state::pipe_written:
      if (r.error) return finish(r.error);
      state_ = rset_in_batch_ ? state::pipe_rset : state::pipe_replies;
      return action::read_reply(rset_in_batch_ ? reply_to::rset : reply_to::mail);
    case state::pipe_rset:
      // RSET in front of a batched group: 250, or a 421 (the driver refuses anything else: a
      // refusal there means an earlier reply was dropped or swapped).
      if (r.error) return finish(r.error);
      if (r.reply.code == 421) {
        // The server is closing before MAIL was answered: a reply error naming RSET, not a
        // refused sender.
        return fail(reply_error(SMTPResponseException(r.reply.code, "RSET: " + r.reply.text)),
                    r.reply);
      }
      state_ = state::pipe_replies;
      return action::read_reply(reply_to::mail);
    case state::final_written:
      if (r.error) return finish(r.error);
      state_ = after_final_;
      return action::read_reply(reply_to::end_of_data);
    case state::pipe_replies:
      return pipe_reply(r);
    case state::pipe_abort_dot:
      // The refusal is the news; a disconnect while ending the empty message does not hide it.
      if (r.error) return finish(pending_);
      return fail(pending_, r.reply.code == 421 ? r.reply : Reply{});
    case state::mail:
      if (r.error) return finish(r.error);
      if (r.reply.code != 250) {
        return fail(reply_error(SMTPSenderRefused(r.reply.code, r.reply.text, from_)), r.reply);
      }
      if (to_.empty()) {
        return fail(std::make_exception_ptr(SMTPRecipientsRefused({})), {});
      }
      return start_rcpt();
    case state::rcpt: {
      if (r.error) return finish(r.error);
      const std::string& to = to_[next_rcpt_];
      if (r.reply.code == 250 || r.reply.code == 251) {
        accepted_.push_back(to);
        session_->accepted_recipients.push_back(to);
      } else {
        refused_[to] = r.reply;
        if (r.reply.code == 421) {
          return fail(std::make_exception_ptr(SMTPRecipientsRefused(refused_)), r.reply);
        }
      }
      if (++next_rcpt_ < to_.size()) return start_rcpt();
      if (accepted_.empty()) {
        return fail(std::make_exception_ptr(SMTPRecipientsRefused(refused_)), {});
      }
      return after_rcpts();
    }
    case state::data:
      if (r.error) return finish(r.error);
      if (r.reply.code != 354) {
        return fail(reply_error(SMTPDataError(r.reply.code, r.reply.text)), r.reply);
      }
      return next_data_piece();
    case state::body_writing:
      if (r.error) return finish(r.error);
      return next_data_piece();
    case state::bdat_chunk_written:
      if (r.error) return finish(r.error);
      if (chunks_out_ < bdat_window) return next_bdat_chunk(session_->bdat_chunk_size);
      state_ = state::bdat_drain;
      return action::read_reply(reply_to::bdat);
    case state::bdat_drain:
      // The oldest outstanding chunk's reply; after a refusal no new chunk is written, the
      // replies of those already sent are read, then RSET (RFC 3030 section 2).
      if (auto ended = take_chunk_reply(r)) return *ended;
      if (chunk_refusal_) {
        if (chunks_out_ > 0) return action::read_reply(reply_to::bdat);
        return fail(pending_chunk_error(), *chunk_refusal_);
      }
      return next_bdat_chunk(session_->bdat_chunk_size);
    case state::bdat_last_written:
      if (r.error) return finish(r.error);
      state_ = chunks_out_ > 0 ? state::bdat_drain_before_last : state::bdat;
      return action::read_reply(chunks_out_ > 0 ? reply_to::bdat : reply_to::end_of_data);
    case state::bdat_drain_before_last:
      if (auto ended = take_chunk_reply(r)) return *ended;
      if (chunks_out_ > 0) return action::read_reply(reply_to::bdat);
      state_ = chunk_refusal_ ? state::bdat_last_after_refusal : state::bdat;
      return action::read_reply(reply_to::end_of_data);
    case state::bdat_last_after_refusal:
      // LAST went out before the refusal was known: its reply is read and the refusal reported.
      if (r.error) return finish(pending_chunk_error());
      return fail(pending_chunk_error(), r.reply.code == 421 ? r.reply : *chunk_refusal_);
    case state::bdat:
      if (r.error) return finish(r.error);
      if (last_chunk_) return final_reply(r.reply);
      if (r.reply.code != 250) {
        return fail(reply_error(SMTPDataError(r.reply.code, r.reply.text)), r.reply);
      }
      return next_bdat_chunk(session_->bdat_chunk_size);
    case state::body:
    case state::lmtp_more:
      if (r.error) return finish(r.error);
      return final_reply(r.reply);
    case state::idle_check:
      if (r.error) return lost_after_end(r.error);
      idle_checked_ = true;
      return final_reply(held_final_);
    case state::rset:
      // A disconnect during RSET is swallowed, as smtplib's _rset(): the refusal is the news.
      return finish(pending_);
    case state::closing:
      return finish(pending_);
    case state::done:
      break;
  }
  return action::done();
}

}  // namespace smtp::algo
