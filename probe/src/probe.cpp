#include "smtp/probe/probe.hpp"

#include <algorithm>
#include <cctype>

#include "smtp/scenario/escape.hpp"
#include "smtp/wire/capabilities.hpp"
#include "smtp/wire/command_parser.hpp"
#include "smtp/wire/reply_parser.hpp"

namespace smtp::probe {

using wire::EsmtpFeatures;
using wire::has_feature;
using wire::parse_ehlo_features;

std::string Target::str() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

namespace {

std::unique_ptr<Connection> connect(const Options& o, Clock::time_point deadline) {
  if (!o.target.unix_path.empty()) return Connection::unix_socket(o.target.unix_path, deadline);
  return Connection::tcp(o.target.host, o.target.port, deadline);
}

// Lines of one reply (CRLF removed), read with the client's parser. Discovery goes on past a
// grammar violation (the checks then report it, each naming the rule): the violation is noted in
// `violations`, and the reply ends at the first line that does not continue it. Throws IoError.
std::vector<std::string> read_reply(Connection& c, Clock::time_point deadline,
                                    std::vector<std::string>& violations) {
  std::vector<std::string> lines;
  wire::ReplyParser parser;
  bool broken = false;
  std::size_t bytes = 0;
  for (;;) {
    Line l = c.read_line(deadline);
    bytes += l.text.size() + l.terminator.size();
    if (l.terminator.empty()) {
      throw IoError(IoError::Kind::closed, "the server closed in the middle of a reply line");
    }
    if (lines.size() >= scenario::PeerLimits::max_reply_lines ||
        bytes > scenario::PeerLimits::max_reply_bytes) {
      throw IoError(IoError::Kind::failed,
                    "a reply of more than " +
                        std::to_string(scenario::PeerLimits::max_reply_lines) + " lines or " +
                        std::to_string(scenario::PeerLimits::max_reply_bytes) +
                        " bytes (max_reply_lines, max_reply_bytes)");
    }
    lines.push_back(l.text);
    if (!broken) {
      parser.feed(l.text + l.terminator);
      if (parser.failed()) {
        broken = true;
        violations.push_back(parser.error()->rule + ": " + scenario::visible(l.text));
      } else if (parser.done()) {
        return lines;
      }
    }
    if (broken && !(l.text.size() > 3 && l.text[3] == '-')) return lines;
  }
}

int code_of(const std::vector<std::string>& reply) {
  const std::string& l = reply.back();
  if (l.size() < 3 || !std::isdigit(static_cast<unsigned char>(l[0])) ||
      !std::isdigit(static_cast<unsigned char>(l[1])) ||
      !std::isdigit(static_cast<unsigned char>(l[2]))) {
    return 0;
  }
  return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

EsmtpFeatures features(const std::vector<std::string>& ehlo) {
  std::string text;
  for (const auto& l : ehlo) {
    if (!text.empty()) text += "\n";
    text += l.size() > 4 ? l.substr(4) : "";
  }
  return parse_ehlo_features(text);
}

}  // namespace

// "TLS handshake: <reason>" once: the connection's own message may already name the handshake.
std::string handshake_error(std::string_view context, const IoError& e) {
  std::string_view why = e.what();
  constexpr std::string_view own = "TLS handshake: ";
  if (why.starts_with(own)) why.remove_prefix(own.size());
  return std::string(context) + ": " + std::string(why);
}

Discovery discover(const Options& o) {
  Discovery d;
  auto deadline = Clock::now() + o.check_timeout;
  std::unique_ptr<Connection> c;
  try {
    c = connect(o, deadline);
  } catch (const IoError& e) {
    d.phase = Phase::connect;
    d.error = e.what();
    return d;
  }
  try {
    if (o.transport == scenario::Transport::tls) {
      try {
        d.tls = c->start_tls(o.tls, deadline);
      } catch (const IoError& e) {
        d.phase = Phase::tls;
        d.error = handshake_error("TLS handshake", e);
        return d;
      }
    }
    auto greeting = read_reply(*c, deadline, d.violations);
    d.greeting = greeting.back();
    if (code_of(greeting) / 100 != 2) {
      d.phase = Phase::greeting;
      d.error = "greeting: " + greeting.back();
      return d;
    }
    const std::string hello = o.protocol == scenario::Protocol::lmtp ? "LHLO " : "EHLO ";
    c->write(hello + o.helo_name + "\r\n", deadline);
    d.ehlo_lines = read_reply(*c, deadline, d.violations);
    if (code_of(d.ehlo_lines) != 250) {
      d.phase = Phase::hello;
      d.error = hello + "refused: " + d.ehlo_lines.back();
      return d;
    }
    auto caps = features(d.ehlo_lines);
    d.starttls_offered = has_feature(caps, "starttls");
    if (o.transport == scenario::Transport::starttls) {
      c->write("STARTTLS\r\n", deadline);
      auto r = read_reply(*c, deadline, d.violations);
      if (code_of(r) != 220) {
        d.phase = Phase::tls;
        d.error = "STARTTLS refused: " + r.back();
        return d;
      }
      try {
        d.tls = c->start_tls(o.tls, deadline);
      } catch (const IoError& e) {
        d.phase = Phase::tls;
        d.error = handshake_error("TLS handshake after STARTTLS", e);
        return d;
      }
      c->write(hello + o.helo_name + "\r\n", deadline);
      d.ehlo_tls_lines = read_reply(*c, deadline, d.violations);
      if (code_of(d.ehlo_tls_lines) != 250) {
        d.phase = Phase::hello;
        d.error = hello + "refused after STARTTLS: " + d.ehlo_tls_lines.back();
        return d;
      }
      caps = features(d.ehlo_tls_lines);
    }
    d.capabilities.insert(caps.begin(), caps.end());
    c->write("QUIT\r\n", deadline);
    try {
      read_reply(*c, deadline, d.violations);
    } catch (const IoError&) {
      // a server that closes at once after QUIT is fine
    }
    c->close();
  } catch (const IoError& e) {
    if (d.phase == Phase::ok) d.phase = d.greeting.empty() ? Phase::greeting : Phase::hello;
    d.error = e.what();
  }
  return d;
}

std::string skip_reason(const Check& check, const Options& o, const Discovery& d) {
  const auto& s = check.scenario;
  if (!check.any_protocol && s.protocol != o.protocol) {
    return std::string("for ") + scenario::to_string(s.protocol) + " servers";
  }
  for (const auto& n : check.needs) {
    if (n == "plain" && o.transport != scenario::Transport::plain) {
      return "runs its own STARTTLS: plain transport only";
    }
    if (n == "tls-transport" && o.transport == scenario::Transport::plain) {
      return "needs --transport starttls or tls";
    }
    if (n.starts_with("ext:")) {
      std::string ext = n.substr(4);
      std::string lower = ext;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (d.capabilities.count(lower) == 0) return "the server does not advertise " + ext;
    }
    if (n == "size-limit") {
      auto it = d.capabilities.find("size");
      long limit = 0;
      if (it != d.capabilities.end()) {
        try {
          limit = std::stol(it->second);
        } catch (const std::exception&) {
          limit = 0;
        }
      }
      if (limit <= 0) return "SIZE advertises no limit";
    }
    if (n == "rcpt" && o.rcpt.empty()) return "needs a recipient (--rcpt)";
    if (n == "delivery" && (o.rcpt.empty() || !o.allow_delivery)) {
      return "may deliver mail: needs --rcpt and --allow-delivery";
    }
  }
  return "";
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

// The first extension the check requires that discovery did not see, or "".
std::string missing_extension(const Check& check, const Discovery& d) {
  for (const auto& ext : check.required_ext) {
    if (d.capabilities.count(lower(ext)) == 0) return ext;
  }
  return "";
}

}  // namespace

Report run(const Options& o, const std::vector<Check>& checks, const Progress& progress) {
  Report rep;
  rep.options = o;
  rep.discovery = discover(o);
  rep.phase = rep.discovery.phase;
  if (rep.phase != Phase::ok) return rep;

  Variables vars;
  vars.set("helo_name", o.helo_name);
  vars.set("hello", o.protocol == scenario::Protocol::lmtp ? "LHLO" : "EHLO");
  vars.set("sender", o.sender.empty() ? "probe@" + o.helo_name : o.sender);
  vars.set("rcpt", o.rcpt.empty() ? "postmaster" : o.rcpt);
  if (auto it = rep.discovery.capabilities.find("size"); it != rep.discovery.capabilities.end()) {
    try {
      vars.set("size_over", std::to_string(std::stoll(it->second) + 1));
    } catch (const std::exception&) {
      // no number: checks that need it are skipped (needs:size-limit)
    }
  }

  // A divergence from a policy, or from a SHOULD without --strict, is a warning.
  auto warns = [&](const Check& ch) {
    return ch.level == Level::policy || (ch.level == Level::should && !o.strict);
  };
  bool failed = false;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const auto& ch = checks[i];
    CheckResult r;
    r.name = ch.scenario.name;
    r.file = ch.scenario.file;
    r.description = ch.scenario.description;
    r.reference = ch.reference;
    r.level = ch.level;
    if (progress) progress(i, checks.size(), ch, nullptr);
    auto started = Clock::now();
    std::string why = skip_reason(ch, o, rep.discovery);
    if (!why.empty()) {
      r.verdict = Verdict::skip;
      r.evidence = why;
      r.needs_delivery = why.starts_with("may deliver mail");
    } else if (auto missing = missing_extension(ch, rep.discovery); !missing.empty()) {
      r.verdict = warns(ch) ? Verdict::warn : Verdict::fail;
      r.evidence = "does not advertise " + missing + " in its " +
                   (o.protocol == scenario::Protocol::lmtp ? "LHLO" : "EHLO") + " reply";
    } else {
      auto deadline = started + o.check_timeout;
      PlayOptions po;
      po.protocol = o.protocol;
      po.transport = o.transport;
      po.tls = o.tls;
      po.verify_certificate = ch.verify_certificate;
      po.helo_name = o.helo_name;
      try {
        auto conn = connect(o, deadline);
        conn->set_max_line(ch.scenario.max_line.value_or(Connection::default_max_line));
        r.play = play(ch.scenario.steps, *conn, vars, po, deadline);
        r.verdict = r.play.ok ? Verdict::pass : (warns(ch) ? Verdict::warn : Verdict::fail);
        r.evidence = r.play.evidence;
        // The server refused what the check builds on (STARTTLS for the injection check): there
        // is nothing to judge, which is not a failure.
        const std::string verb = wire::command_verb(r.play.command);
        if (!r.play.ok && !r.play.received.empty() && !verb.empty() &&
            std::find(ch.preconditions.begin(), ch.preconditions.end(), verb) !=
                ch.preconditions.end()) {
          r.verdict = Verdict::skip;
          r.evidence = "does not apply: the server " + r.play.evidence;
        }
      } catch (const IoError& e) {
        r.verdict = Verdict::fail;
        r.evidence = e.what();
      } catch (const std::exception& e) {
        // One check's failure is that check's (issue 22): the others still run and report.
        r.verdict = Verdict::fail;
        r.evidence = std::string("internal error: ") + e.what();
      }
    }
    r.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    failed = failed || r.verdict == Verdict::fail;
    rep.results.push_back(std::move(r));
    if (progress) progress(i, checks.size(), ch, &rep.results.back());
  }
  if (failed) rep.phase = Phase::checks;
  return rep;
}

}  // namespace smtp::probe
