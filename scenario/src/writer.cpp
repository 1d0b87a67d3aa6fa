#include "smtp/scenario/writer.hpp"

#include <cstdio>

#include "smtp/scenario/escape.hpp"

namespace smtp::scenario {
namespace {

std::string duration(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + "ms";
}

// A line pattern as text: literal patterns are re-escaped from their bytes (a literal made by
// LinePattern::exact_bytes has no `*` escapes in its source); globs and regexes as written.
std::string pattern_text(const LinePattern& p) {
  if (p.kind() == LinePattern::Kind::exact && p.codes().empty()) return escape_literal(p.literal());
  return p.source();
}

// A client-call argument: one word, so blanks inside are escaped too.
std::string word(std::string_view arg) {
  std::string out;
  for (char c : escape_literal(arg)) {
    if (c == ' ')
      out += "\\x20";
    else
      out.push_back(c);
  }
  return out;
}

std::string outcome_text(const Outcome& o) {
  std::string out;
  if (o.ok) {
    out = "ok";
    if (o.reply) out += " reply=" + std::to_string(*o.reply);
    if (!o.refused.empty()) {
      out += " refused=";
      bool first = true;
      for (const auto& [addr, code] : o.refused) {
        out += (first ? "" : ",") + addr + ":" + std::to_string(code);
        first = false;
      }
    }
    if (o.results) {
      out += " results=";
      bool first = true;
      for (const auto& r : *o.results) {
        out += first ? "" : ",";
        first = false;
        if (r.ok) {
          out += "ok";
          continue;
        }
        out += r.exception;
        if (r.code) out += ":" + std::to_string(*r.code);
      }
    }
  } else {
    out = "raises " + o.exception;
    if (o.code) out += " " + std::to_string(*o.code);
  }
  return out;
}

std::string step_text(const Step& s) {
  switch (s.kind) {
    case Step::Kind::server_line:
      return "S: " + pattern_text(*s.pattern);
    case Step::Kind::client_line:
      return "C: " + pattern_text(*s.pattern);
    case Step::Kind::server_raw:
      return "S+ " + escape_literal(s.bytes);
    case Step::Kind::client_raw:
      return "C+ " + escape_literal(s.bytes);
    case Step::Kind::data:
    case Step::Kind::data_lines: {
      std::string out = s.kind == Step::Kind::data ? (s.capture ? "data capture" : "data")
                                                   : "data-lines " + std::to_string(s.count);
      for (const auto& line : s.content) out += "\nD: " + pattern_text(line);
      return out;
    }
    case Step::Kind::flush:
      return "flush";
    case Step::Kind::sleep:
      return "sleep " + duration(s.duration) + (s.mode == "quiet" ? " quiet" : "");
    case Step::Kind::drip:
      return "drip " + duration(s.duration) + " " + std::to_string(s.count);
    case Step::Kind::starttls:
      return "starttls";
    case Step::Kind::tls_fail:
      return "tls-fail " + (s.mode.empty() ? std::string("alert") : s.mode);
    case Step::Kind::close:
      return "close";
    case Step::Kind::reset:
      return "reset";
    case Step::Kind::expect_close:
      return "expect-close";
    case Step::Kind::bdat: {
      std::string out = "bdat";
      out += s.size ? " " + std::to_string(*s.size) : std::string(" *");
      out += s.mode.empty() ? std::string(" *") : " " + s.mode;
      if (s.capture) out += " capture";
      for (const auto& line : s.content) out += "\nD: " + pattern_text(line);
      return out;
    }
    case Step::Kind::expect_tls_reject:
      return "expect-tls-reject";
  }
  return "";
}

}  // namespace

namespace {

std::string escape_piece(std::string_view bytes, bool lead, bool trail) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    const bool edge = (lead && i == 0) || (trail && i + 1 == bytes.size());
    if (c == '*') {
      out += "\\*";
    } else if (c == ' ' && edge) {
      out += "\\x20";  // the parser trims blanks at either end
    } else {
      out += visible(std::string_view(&bytes[i], 1));
    }
  }
  return out;
}

}  // namespace

std::string escape_literal(std::string_view bytes) {
  return escape_piece(bytes, true, true);
}

std::string glob_of(const std::vector<std::string>& pieces) {
  std::string out;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i) out.push_back('*');
    out += escape_piece(pieces[i], i == 0, i + 1 == pieces.size());
  }
  return out;
}

bool writable_as_server_line(std::string_view line) {
  if (line.size() < 3) return false;
  for (std::size_t i = 0; i < 3; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
  }
  // "250|251 ..." would read as a code class.
  if (line.size() > 3 && line[3] == '|') return false;
  for (char c : line) {
    if (c == '\r' || c == '\n') return false;
  }
  return true;
}

std::string write(const Scenario& scenario, const WriteOptions& options) {
  std::string out;
  auto line = [&](const std::string& text) {
    out += text;
    out += '\n';
  };
  for (const auto& c : options.header_comments) line(c.empty() ? "#" : "# " + c);
  if (!scenario.name.empty()) line("name: " + scenario.name);
  line("description: " + scenario.description);
  if (!scenario.tags.empty()) {
    std::string tags;
    for (const auto& t : scenario.tags) tags += (tags.empty() ? "" : ", ") + t;
    line("tags: " + tags);
  }
  line(std::string("protocol: ") + to_string(scenario.protocol));
  if (!scenario.transports.empty()) {
    std::string ts;
    for (auto t : scenario.transports) ts += (ts.empty() ? "" : " ") + std::string(to_string(t));
    line("transports: " + ts);
  }
  if (!scenario.clients.empty()) {
    std::string cs;
    for (const auto& c : scenario.clients) cs += (cs.empty() ? "" : " ") + c;
    line("clients: " + cs);
    if (!scenario.clients_note.empty()) line("note-clients: " + scenario.clients_note);
  }
  if (scenario.server_cert != "good") line("server-cert: " + scenario.server_cert);
  if (scenario.max_line) line("max-line: " + std::to_string(*scenario.max_line));
  const auto& client = scenario.client;
  if (!client.calls.empty() || client.message || client.expect) line("");
  for (const auto& [name, value] : client.options) line("option: " + name + "=" + value);
  for (const auto& call : client.calls) {
    std::string text = "client: " + call.name;
    for (const auto& a : call.args) text += " " + word(a);
    for (const auto& [k, v] : call.kwargs) text += " " + k + "=" + v;
    line(text);
  }
  if (client.message) {
    std::string_view rest = *client.message;
    while (!rest.empty()) {
      auto end = rest.find("\r\n");
      std::string_view one = end == std::string_view::npos ? rest : rest.substr(0, end);
      line(one.empty() ? std::string("message:") : "message: " + escape_literal(one));
      rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
    }
  }
  if (client.expect) line("expect: " + outcome_text(*client.expect));
  if (client.expect_smtplib) line("expect-smtplib: " + outcome_text(*client.expect_smtplib));
  if (!client.smtplib_note.empty()) line("note-smtplib: " + client.smtplib_note);
  line("");
  for (std::size_t i = 0; i < scenario.steps.size(); ++i) {
    const auto& s = scenario.steps[i];
    if (auto it = options.step_comments.find(i); it != options.step_comments.end()) {
      for (const auto& c : it->second) line(c.empty() ? "#" : "# " + c);
    }
    if (s.synthetic) continue;
    line(step_text(s));
  }
  return out;
}

}  // namespace smtp::scenario
