#include "smtp/probe/check.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "smtp/scenario/parser.hpp"
#include "smtp/wire/command_parser.hpp"

namespace smtp::probe {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "fail";
    case Verdict::warn:
      return "warn";
    case Verdict::skip:
      return "skip";
  }
  return "?";
}

const char* to_string(Level l) {
  switch (l) {
    case Level::must:
      return "MUST";
    case Level::should:
      return "SHOULD";
    case Level::policy:
      return "policy";
  }
  return "?";
}

namespace {

// "RFC5321#4.5.3", "rfc5321/4.5.3", "5321/4.5.3", "5321" -> "5321/4.5.3" (upper case, one form).
std::string normal_section(std::string_view s) {
  std::string out;
  for (char ch : s) out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (out.starts_with("RFC")) out.erase(0, 3);
  for (auto& ch : out) {
    if (ch == '#') ch = '/';
  }
  return out;
}

}  // namespace

bool in_section(const Check& check, std::string_view section) {
  const std::string want = normal_section(section);
  const std::string have = normal_section(check.reference);
  if (want.empty() || !have.starts_with(want)) return false;
  return have.size() == want.size() || have[want.size()] == '.' || have[want.size()] == '/' ||
         want.back() == '/';
}

Check make_check(scenario::Scenario s) {
  using scenario::Step;
  Check c;
  for (const auto& t : s.tags) {
    if (t.starts_with("ref:")) {
      c.reference = t.substr(4);
    } else if (t == "severity:warn" || t == "level:should") {
      c.level = Level::should;
    } else if (t == "level:policy") {
      c.level = Level::policy;
    } else if (t == "level:must") {
      c.level = Level::must;
    } else if (t.starts_with("needs:")) {
      c.needs.push_back(t.substr(6));
    } else if (t == "verify-certificate") {
      c.verify_certificate = true;
    } else if (t == "protocol:any") {
      c.any_protocol = true;
    } else if (t.starts_with("requires:ext:")) {
      c.required_ext.push_back(t.substr(13));
    } else if (t.starts_with("precondition:")) {
      c.preconditions.push_back(wire::command_verb(t.substr(13)));
    }
  }
  if (!s.playable_as_client()) {
    throw std::runtime_error(s.file + ": a C: line is not literal, the probe cannot send it");
  }
  const bool delivers = std::find(c.needs.begin(), c.needs.end(), "delivery") != c.needs.end();
  // Safety: nothing that can complete a message runs unless the check says it may deliver. A
  // message needs a recipient and then DATA or BDAT, in whatever syntax the file sends them
  // (`C:` lines or `C+` bytes, any case); `data` steps and an end of data in `C+` bytes too.
  bool rcpt_sent = false;
  auto completes_message = [&](std::string_view line) {
    const std::string verb = wire::command_verb(line);
    if (verb == "RCPT") rcpt_sent = true;
    return rcpt_sent && (verb == "DATA" || verb == "BDAT");
  };
  for (const auto& st : s.steps) {
    if (st.kind == Step::Kind::tls_fail) {
      throw std::runtime_error(st.where.str() + ": tls-fail cannot be played by the probe");
    }
    bool completes = st.kind == Step::Kind::data;
    if (st.kind == Step::Kind::client_line) {
      completes = completes_message(st.pattern->literal());
    } else if (st.kind == Step::Kind::client_raw) {
      completes = st.bytes.find("\r\n.\r\n") != std::string::npos;
      std::string_view rest = st.bytes;
      while (!rest.empty()) {
        const auto lf = rest.find('\n');
        completes = completes_message(rest.substr(0, lf)) || completes;
        rest = lf == std::string_view::npos ? std::string_view() : rest.substr(lf + 1);
      }
    }
    if (completes && !delivers) {
      throw std::runtime_error(st.where.str() +
                               ": this step can complete a message (a recipient, then DATA, BDAT "
                               "or an end of data); the check must say needs:delivery");
    }
  }
  c.scenario = std::move(s);
  return c;
}

std::vector<Check> load_suite(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".scn") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Check> out;
  for (const auto& f : files) out.push_back(make_check(scenario::parse_file(f)));
  return out;
}

}  // namespace smtp::probe
