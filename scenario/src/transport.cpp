#include "smtp/scenario/transport.hpp"

#include <string>

namespace smtp::scenario {
namespace {

Step line_step(Step::Kind kind, const std::string& text, const Location& where) {
  Step s;
  s.kind = kind;
  s.where = where;
  s.synthetic = true;
  s.pattern = LinePattern::exact_bytes(text);
  if (kind == Step::Kind::client_line) {
    // "EHLO *": the client's argument is its own host name, so any; verbs in any case.
    std::string error;
    s.pattern = LinePattern::parse(text, false, error, true);
  }
  s.text = (kind == Step::Kind::server_line ? "S: " : "C: ") + text;
  return s;
}

Step action_step(Step::Kind kind, const std::string& text, const Location& where) {
  Step s;
  s.kind = kind;
  s.where = where;
  s.synthetic = true;
  s.text = text;
  return s;
}

}  // namespace

std::size_t greeting_end(const std::vector<Step>& steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    switch (steps[i].kind) {
      case Step::Kind::server_line:
      case Step::Kind::server_raw:
      case Step::Kind::flush:
      case Step::Kind::sleep:
      case Step::Kind::drip:
        continue;
      case Step::Kind::client_line:
      case Step::Kind::client_raw:
        return i == 0 ? std::string::npos : i;
      default:
        return std::string::npos;
    }
  }
  return std::string::npos;
}

std::vector<Step> steps_for(const Scenario& scenario, Transport transport) {
  std::vector<Step> out = scenario.steps;
  if (transport == Transport::tls) {
    // A script that starts with `expect-tls-reject` is the handshake itself (the client must
    // refuse the certificate): nothing to insert.
    if (!out.empty() && out.front().kind == Step::Kind::expect_tls_reject) return out;
    Location where{scenario.file, out.empty() ? 0 : out.front().where.line};
    out.insert(out.begin(), action_step(Step::Kind::starttls, "transport tls: handshake", where));
  } else if (transport == Transport::starttls) {
    std::size_t at = greeting_end(out);
    if (at == std::string::npos) return out;  // the parser refuses such files for starttls
    Location where = out[at].where;
    const std::string hello = scenario.protocol == Protocol::lmtp ? "LHLO *" : "EHLO *";
    std::vector<Step> prelude = {
        line_step(Step::Kind::client_line, hello, where),
        line_step(Step::Kind::server_line, std::string("250-") + prelude_host, where),
        line_step(Step::Kind::server_line, "250 STARTTLS", where),
        line_step(Step::Kind::client_line, "STARTTLS", where),
        line_step(Step::Kind::server_line, "220 2.0.0 Ready to start TLS", where),
        action_step(Step::Kind::starttls, "handshake", where),
    };
    for (auto& s : prelude) s.text = "transport starttls: " + s.text;
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), prelude.begin(), prelude.end());
  }
  return out;
}

}  // namespace smtp::scenario
