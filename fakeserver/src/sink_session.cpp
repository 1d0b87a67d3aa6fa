// Sink mode: a permissive, fast ESMTP/LMTP server that accepts every well-formed transaction
// and stores each message byte-exact, with its envelope beside it (a development mail catcher).
// Replies to pipelined commands go out in one write. AUTH PLAIN/LOGIN accepts any credentials or
// a configured set; SIZE=n above the advertised limit is refused at MAIL.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>

#include "connection.hpp"
#include "maildir.hpp"
#include "sink_auth.hpp"
#include "smtp/wire/command_parser.hpp"
#include "smtp/wire/dot_unstuffer.hpp"
#include "smtp/wire/reply_format.hpp"

namespace smtp::fakeserver::detail {
namespace {

bool iequals_prefix(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(line[i])) != prefix[i]) return false;
  }
  return true;
}

// "<a@b> SIZE=10 BODY=8BITMIME" (what follows "MAIL FROM:" or "RCPT TO:") -> the address
// without its brackets, and the parameters.
std::pair<std::string, std::string_view> path_and_params(std::string_view rest) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (!rest.empty() && rest.front() == '<') {
    const auto close = rest.find('>');
    if (close != std::string_view::npos) {
      return {std::string(rest.substr(1, close - 1)), rest.substr(close + 1)};
    }
  }
  const auto space = rest.find(' ');
  if (space == std::string_view::npos) return {std::string(rest), {}};
  return {std::string(rest.substr(0, space)), rest.substr(space)};
}

// The value of SIZE= among ESMTP parameters (RFC 1870): nullopt when absent, -1 when malformed.
std::optional<long double> size_param(std::string_view params) {
  while (!params.empty()) {
    while (!params.empty() && params.front() == ' ') params.remove_prefix(1);
    const auto end = params.find(' ');
    const std::string_view p = params.substr(0, end);
    params = end == std::string_view::npos ? std::string_view{} : params.substr(end);
    if (p.size() < 5 || !iequals_prefix(p, "SIZE=")) continue;
    const std::string_view digits = p.substr(5);
    if (digits.empty() || digits.size() > 20) return -1;
    long double n = 0;
    for (char c : digits) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
      n = n * 10 + (c - '0');
    }
    return n;
  }
  return std::nullopt;
}

class Sink {
 public:
  Sink(std::shared_ptr<Io> io, scenario::Transport transport, const SessionEnv& env,
       SessionReport& report, Summary& totals)
      : io_(std::move(io)),
        transport_(transport),
        env_(env),
        opts_(env.options),
        report_(report),
        totals_(totals),
        auth_(env.options.auth_users) {}

  awaitable<void> serve() {
    out_ += wire::format_reply(
        220, opts_.hostname + (opts_.lmtp ? " LMTP" : " ESMTP") + " smtp-fakeserver sink");
    while (!quit_) {
      // Checked before taking a line: a whole line over the limit that arrived with its LF is
      // refused as well, not only a buffer that never ends.
      if (io_->in.overlong()) {
        // Not a line: say so once and drop the connection rather than buffer forever.
        out_ += wire::format_reply(500, "5.5.2 Line too long");
        co_await flush();
        report_.error =
            "line longer than " + std::to_string(io_->in.max_line()) + " bytes (max-line)";
        // FIN, then read what the client still sends (after the report): closing with its bytes
        // unread would be an RST, and the client might never read the 500.
        io_->drain_after = true;
        break;
      }
      if (!io_->in.has_line()) {
        {
          bool ok_ = co_await flush();
          if (!ok_) break;
        }
        auto st = co_await io_->fill(opts_.limits.step_timeout * 30);
        if (st != Io::Status::ok) {
          if (st == Io::Status::timeout) report_.error = "idle timeout";
          if (st == Io::Status::error) report_.error = io_->last_error;
          break;
        }
        continue;
      }
      auto line = *io_->in.take_line();
      {
        bool ok_ = co_await command(wire::strip_eol(line));
        if (!ok_) break;
      }
    }
    co_await flush();
    io_->conn().shutdown_send();
    if (!io_->drain_after) io_->conn().close();
  }

 private:
  awaitable<bool> flush() {
    if (out_.empty()) co_return true;
    std::string data;
    data.swap(out_);
    bool ok = co_await io_->write(data, opts_.limits.step_timeout);
    if (!ok) report_.error = io_->last_error;
    co_return ok;
  }

  void reset_transaction() {
    in_transaction_ = false;
    recipients_ = 0;
    mail_from_.clear();
    rcpt_to_.clear();
    message_.clear();
    bdat_failed_ = false;
    too_big_ = false;  // a refused message does not refuse the next one after RSET / MAIL
  }

  bool offers_starttls() const {
    return env_.tls && !io_->conn().tls() && transport_ != scenario::Transport::tls;
  }

  std::vector<std::string> ehlo_lines() const {
    std::vector<std::string> lines = {opts_.hostname,
                                      "PIPELINING",
                                      "SIZE " + std::to_string(opts_.limits.max_message),
                                      "8BITMIME",
                                      "SMTPUTF8",
                                      "ENHANCEDSTATUSCODES",
                                      "DSN",
                                      "CHUNKING",
                                      "BINARYMIME",
                                      "AUTH PLAIN LOGIN"};
    if (offers_starttls()) lines.push_back("STARTTLS");
    lines.push_back("HELP");
    return lines;
  }

  // MAIL FROM: the sender, SIZE checked against the limit (RFC 1870 section 6.1: 552 at MAIL),
  // AUTH first when users are configured.
  void mail(std::string_view line) {
    if (auth_.required() && !auth_.user()) {
      out_ += wire::format_reply(530, "5.7.0 Authentication required");
      return;
    }
    auto [from, params] = path_and_params(line.substr(10));
    const auto size = size_param(params);
    if (size && *size < 0) {
      out_ += wire::format_reply(501, "5.5.4 Syntax: SIZE=<number of octets>");
      return;
    }
    if (size && *size > static_cast<long double>(opts_.limits.max_message)) {
      out_ += wire::format_reply(552, "5.3.4 Message size exceeds fixed maximum message size (" +
                                          std::to_string(opts_.limits.max_message) + " octets)");
      return;
    }
    reset_transaction();
    in_transaction_ = true;
    mail_from_ = std::move(from);
    out_ += wire::format_reply(250, "2.1.0 Ok");
  }

  awaitable<bool> command(std::string_view line) {
    if (auth_.in_progress()) {
      out_ += auth_.respond(line);
      if (auth_.user()) report_.auth_user = *auth_.user();
      co_return true;
    }
    std::string verb = wire::command_verb(line);
    if (verb == "EHLO" || verb == "LHLO") {
      reset_transaction();
      out_ += wire::format_reply(250, ehlo_lines());
    } else if (verb == "HELO") {
      reset_transaction();
      out_ += wire::format_reply(250, opts_.hostname);
    } else if (iequals_prefix(line, "MAIL FROM:")) {
      mail(line);
    } else if (iequals_prefix(line, "RCPT TO:")) {
      if (!in_transaction_) {
        out_ += wire::format_reply(503, "5.5.1 Error: need MAIL command");
      } else {
        ++recipients_;
        rcpt_to_.push_back(path_and_params(line.substr(8)).first);
        out_ += wire::format_reply(250, "2.1.5 Ok");
      }
    } else if (verb == "AUTH") {
      if (in_transaction_) {
        out_ += wire::format_reply(503, "5.5.1 Error: AUTH not allowed in a mail transaction");
      } else {
        out_ += auth_.start(line.size() > 5 ? line.substr(5) : std::string_view{});
        if (auth_.user()) report_.auth_user = *auth_.user();
      }
    } else if (verb == "DATA") {
      if (recipients_ == 0) {
        out_ += wire::format_reply(503, "5.5.1 Error: need RCPT command");
        co_return true;
      }
      out_ += wire::format_reply(354, "End data with <CR><LF>.<CR><LF>");
      {
        auto r = co_await data();
        co_return r;
      }
    } else if (verb == "BDAT") {
      {
        auto r = co_await bdat(line);
        co_return r;
      }
    } else if (verb == "RSET") {
      reset_transaction();
      out_ += wire::format_reply(250, "2.0.0 Ok");
    } else if (verb == "NOOP") {
      out_ += wire::format_reply(250, "2.0.0 Ok");
    } else if (verb == "VRFY") {
      out_ += wire::format_reply(252, "2.0.0 Cannot VRFY user, but will accept message");
    } else if (verb == "HELP") {
      // STARTTLS only where it is offered (a certificate, not yet in TLS).
      out_ +=
          wire::format_reply(214, std::string("2.0.0 Commands: EHLO HELO LHLO AUTH MAIL RCPT DATA "
                                              "BDAT RSET NOOP VRFY ") +
                                      (offers_starttls() ? "STARTTLS " : "") + "HELP QUIT");
    } else if (verb == "QUIT") {
      out_ += wire::format_reply(221, "2.0.0 Bye");
      quit_ = true;
    } else if (verb == "STARTTLS" && env_.tls && !io_->conn().tls()) {
      out_ += wire::format_reply(220, "2.0.0 Ready to start TLS");
      {
        bool ok_ = co_await flush();
        if (!ok_) co_return false;
      }
      io_->in.take_all();  // RFC 3207 4.2: discard anything sent before the handshake
      bool shook = co_await io_->handshake(*env_.tls, opts_.limits.step_timeout);
      if (!shook) {
        report_.error = "TLS handshake failed: " + io_->last_error;
        co_return false;
      }
      reset_transaction();
    } else {
      out_ += wire::format_reply(502, "5.5.2 Error: command not recognized");
    }
    co_return true;
  }

  awaitable<bool> data() {
    wire::DotUnstuffer body(opts_.data_ending);
    while (true) {
      // Whatever arrived is fed as it is (the un-stuffer needs no lines): long lines are content.
      if (!io_->in.empty()) {
        if (body.feed(io_->in.take_all())) break;
        if (body.message().size() > opts_.limits.max_message) too_big_ = true;
        if (too_big_) body.clear_message();  // keep reading to the end, keep nothing
        continue;
      }
      {
        bool ok_ = co_await flush();
        if (!ok_) co_return false;
      }
      auto st_ = co_await io_->fill(opts_.limits.step_timeout * 30);
      if (st_ != Io::Status::ok) {
        report_.error = "connection ended in DATA";
        co_return false;
      }
    }
    // What followed the end is the client's next commands (pipelined, or smuggled when the policy
    // takes another form for the end, as a vulnerable server would).
    io_->in.unread(body.rest());
    if (body.refusal()) refused_ = *body.refusal();
    co_return deliver(body.take_message());
  }

  awaitable<bool> bdat(std::string_view line) {
    // BDAT <size> [LAST] (RFC 3030)
    // One grammar for every player (wire/command_parser): LAST in any case.
    const auto cmd = wire::parse_bdat(line);
    if (!cmd || cmd->size > opts_.limits.max_message * 2) {
      out_ += wire::format_reply(501, "5.5.4 Syntax: BDAT size [LAST]");
      co_return true;
    }
    const std::size_t size = static_cast<std::size_t>(cmd->size);
    const bool last = cmd->last;
    // The chunk follows the command line immediately, whatever its bytes.
    std::size_t need = size;
    while (need > 0) {
      if (io_->in.empty()) {
        {
          bool ok_ = co_await flush();
          if (!ok_) co_return false;
        }
        auto st_ = co_await io_->fill(opts_.limits.step_timeout * 30);
        if (st_ != Io::Status::ok) {
          report_.error = "connection ended in BDAT";
          co_return false;
        }
      }
      auto take = std::min(need, io_->in.size());
      auto piece = *io_->in.take_bytes(take);
      if (message_.size() + piece.size() <= opts_.limits.max_message) {
        message_ += piece;
      } else {
        too_big_ = true;
      }
      need -= take;
    }
    if (!in_transaction_ || recipients_ == 0) {
      out_ += wire::format_reply(503, "5.5.1 Error: need MAIL and RCPT before BDAT");
      co_return true;
    }
    if (!last) {
      out_ += wire::format_reply(250, "2.0.0 " + std::to_string(size) + " octets received");
      co_return true;
    }
    std::string msg;
    msg.swap(message_);
    co_return deliver(std::move(msg));
  }

  bool deliver(std::string message) {
    std::string reply;
    if (too_big_) {
      reply = wire::format_reply(552, "5.3.4 Message too big");
    } else if (!refused_.empty()) {
      reply = wire::format_reply(
          550, "5.5.2 Message refused: " + refused_ + " in the data (RFC 5321 section 4.1.1.4)");
    } else {
      std::string id = "-";
      const std::uint64_t size = message.size();
      if (env_.maildir) {
        std::string error;
        if (opts_.envelope_headers) message = envelope_headers() + message;
        id = env_.maildir->store(message, envelope_json(size), error);
        if (id.empty()) {
          report_.error = error;
          reply = wire::format_reply(451, "4.3.0 Cannot store the message: " + error);
        }
      }
      if (reply.empty()) {
        if (report_.envelopes.size() < max_envelopes_per_report) {
          report_.envelopes.push_back({id, mail_from_, rcpt_to_, size});
        }
        ++report_.messages;
        ++totals_.messages;
        totals_.message_bytes += message.size();
        reply = wire::format_reply(250, "2.0.0 Ok: queued as " + id);
      }
    }
    // LMTP (RFC 2033 section 4.2): one reply per accepted recipient.
    std::size_t replies = opts_.lmtp ? recipients_ : 1;
    for (std::size_t i = 0; i < replies; ++i) out_ += reply;
    too_big_ = false;
    refused_.clear();
    reset_transaction();
    return true;
  }

  // Return-Path and Delivered-To, as a delivery agent adds them (--envelope-headers).
  std::string envelope_headers() const {
    std::string h = "Return-Path: <" + mail_from_ + ">\r\n";
    for (const auto& r : rcpt_to_) h += "Delivered-To: " + r + "\r\n";
    return h;
  }

  // envelope/NAME.json beside the stored message.
  std::string envelope_json(std::uint64_t size) const {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    nlohmann::json j = {
        {"mail_from", mail_from_},
        {"rcpt_to", rcpt_to_},
        {"auth_user", auth_.user() ? nlohmann::json(*auth_.user()) : nlohmann::json(nullptr)},
        {"size", size},
        {"transport", scenario::to_string(transport_)},
        {"tls", io_->conn().tls() || transport_ == scenario::Transport::tls},
        {"peer", report_.peer},
        {"received", std::chrono::duration<double>(now).count()}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }

  // A session report keeps at most this many envelopes (a benchmark sends thousands).
  static constexpr std::size_t max_envelopes_per_report = 10000;

  std::shared_ptr<Io> io_;
  scenario::Transport transport_;
  const SessionEnv& env_;
  const ServerOptions& opts_;
  SessionReport& report_;
  Summary& totals_;
  std::string out_;
  std::string message_;
  bool in_transaction_ = false;
  std::size_t recipients_ = 0;
  std::string mail_from_;
  std::vector<std::string> rcpt_to_;
  SinkAuth auth_;
  bool quit_ = false;
  bool too_big_ = false;
  std::string refused_;  // why the policy refuses the message being received (end_of_data.hpp)
  bool bdat_failed_ = false;
};

}  // namespace

awaitable<void> run_sink(std::shared_ptr<Io> io, scenario::Transport transport,
                         const SessionEnv& env, SessionReport& report, Summary& totals) {
  Sink sink(std::move(io), transport, env, report, totals);
  co_await sink.serve();
}

}  // namespace smtp::fakeserver::detail
