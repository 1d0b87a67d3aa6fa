#include "smtp/probe/report.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "smtp/scenario/escape.hpp"

namespace smtp::probe {

namespace {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::ok:
      return "ok";
    case Phase::usage:
      return "usage";
    case Phase::connect:
      return "connect";
    case Phase::greeting:
      return "greeting";
    case Phase::hello:
      return "hello";
    case Phase::tls:
      return "tls";
    case Phase::checks:
      return "checks";
  }
  return "?";
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // XML 1.0 cannot carry most controls; evidence is already made visible.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

// The checks that did not run because they may deliver mail: a clean run must not read as a
// clean bill for what was never tried.
std::vector<std::string> not_tested(const Report& r) {
  std::vector<std::string> out;
  for (const auto& c : r.results) {
    if (c.verdict == Verdict::skip && c.needs_delivery) out.push_back(c.name);
  }
  return out;
}

std::string transcript_text(const CheckResult& c) {
  std::string out;
  for (const auto& e : c.play.transcript) {
    char t[32];
    std::snprintf(t, sizeof t, "%9.1f ms ", e.t_ms);
    out += t;
    out += e.from;
    out += ": ";
    out += e.data;
    out += "\n";
  }
  return out;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

std::string to_table(const Report& r) {
  std::ostringstream out;
  const auto& d = r.discovery;
  out << "server " << r.options.target.str() << " over " << scenario::to_string(r.options.transport)
      << " (" << scenario::to_string(r.options.protocol) << ")\n";
  if (!d.greeting.empty()) out << "greeting: " << scenario::visible(d.greeting) << "\n";
  if (d.tls) {
    out << "tls: " << d.tls->protocol << " " << d.tls->cipher << ", certificate " << d.tls->subject
        << (d.tls->verified ? " (verified)" : " (not verified: " + d.tls->verify_error + ")")
        << "\n";
  }
  for (const auto& v : d.violations)
    out << "discovery: a reply a client must refuse: " << v << "\n";
  if (r.phase != Phase::ok && r.phase != Phase::checks) {
    out << "stopped at " << phase_name(r.phase) << ": " << d.error << "\n";
    return out.str();
  }
  std::size_t w = 5;
  for (const auto& c : r.results) {
    w = std::max(w, c.name.size() + (c.reference.empty() ? 0 : c.reference.size() + 3));
  }
  out << "\n" << pad("CHECK", w) << "  VERDICT  EVIDENCE\n";
  int counts[4] = {0, 0, 0, 0};
  for (const auto& c : r.results) {
    std::string label = c.name + (c.reference.empty() ? "" : " (" + c.reference + ")");
    out << pad(label, w) << "  " << pad(to_string(c.verdict), 7) << "  " << c.evidence << "\n";
    ++counts[static_cast<int>(c.verdict)];
  }
  out << "\n"
      << counts[0] << " pass, " << counts[1] << " fail, " << counts[2] << " warn, " << counts[3]
      << " skip; exit " << static_cast<int>(r.phase) << " (" << phase_name(r.phase) << ")\n";
  if (auto nt = not_tested(r); !nt.empty()) {
    out << "not tested: ";
    for (std::size_t i = 0; i < nt.size(); ++i) out << (i ? ", " : "") << nt[i];
    out << " (they may deliver mail: give --rcpt ADDR --allow-delivery)\n";
  }
  return out.str();
}

std::string to_json(const Report& r, bool transcripts) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["server"] = r.options.target.str();
  j["transport"] = scenario::to_string(r.options.transport);
  j["protocol"] = scenario::to_string(r.options.protocol);
  j["exit"] = static_cast<int>(r.phase);
  j["phase"] = phase_name(r.phase);
  const auto& d = r.discovery;
  ordered_json disc;
  disc["greeting"] = scenario::visible(d.greeting);
  disc["ehlo"] = ordered_json::array();
  for (const auto& l : d.ehlo_lines) disc["ehlo"].push_back(scenario::visible(l));
  disc["ehlo_after_starttls"] = ordered_json::array();
  for (const auto& l : d.ehlo_tls_lines)
    disc["ehlo_after_starttls"].push_back(scenario::visible(l));
  disc["starttls_offered"] = d.starttls_offered;
  if (d.tls) {
    disc["tls"] = {{"protocol", d.tls->protocol},
                   {"cipher", d.tls->cipher},
                   {"subject", d.tls->subject},
                   {"verified", d.tls->verified},
                   {"verify_error", d.tls->verify_error}};
  }
  if (!d.error.empty()) disc["error"] = d.error;
  disc["violations"] = d.violations;
  j["discovery"] = disc;
  ordered_json checks = ordered_json::array();
  ordered_json counts = {{"pass", 0}, {"fail", 0}, {"warn", 0}, {"skip", 0}};
  for (const auto& c : r.results) {
    ordered_json jc;
    jc["name"] = c.name;
    jc["verdict"] = to_string(c.verdict);
    jc["reference"] = c.reference;
    jc["level"] = to_string(c.level);
    jc["description"] = c.description;
    jc["evidence"] = c.evidence;
    jc["file"] = c.file;
    jc["duration_ms"] = c.duration_ms;
    if (!c.play.where.empty()) {
      jc["divergence"] = {{"where", c.play.where},
                          {"expected", c.play.expected},
                          {"received", c.play.received},
                          {"reason", c.play.reason}};
    }
    if (transcripts && c.verdict != Verdict::skip) {
      ordered_json t = ordered_json::array();
      for (const auto& e : c.play.transcript) {
        t.push_back({{"from", std::string(1, e.from)}, {"t_ms", e.t_ms}, {"data", e.data}});
      }
      jc["transcript"] = t;
    }
    counts[to_string(c.verdict)] = counts[to_string(c.verdict)].get<int>() + 1;
    checks.push_back(jc);
  }
  j["summary"] = counts;
  j["not_tested"] = not_tested(r);
  j["checks"] = checks;
  // A hostile server's bytes reach the report raw in places (a reply quoted as evidence): invalid
  // UTF-8 is replaced, never a json::type_error that ends the probe (issue 22).
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

std::string to_junit(const Report& r) {
  std::ostringstream out;
  int failures = 0, skipped = 0;
  double total = 0;
  for (const auto& c : r.results) {
    failures += c.verdict == Verdict::fail;
    skipped += c.verdict == Verdict::skip;
    total += c.duration_ms;
  }
  bool stopped = r.phase != Phase::ok && r.phase != Phase::checks;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuite name=\"smtp-probe " << xml_escape(r.options.target.str()) << "\" tests=\""
      << (stopped ? 1 : r.results.size()) << "\" failures=\"" << (stopped ? 0 : failures)
      << "\" errors=\"" << (stopped ? 1 : 0) << "\" skipped=\"" << skipped << "\" time=\""
      << total / 1000 << "\">\n";
  if (stopped) {
    out << "  <testcase classname=\"smtp-probe\" name=\"" << phase_name(r.phase) << "\">\n"
        << "    <error message=\"" << xml_escape(r.discovery.error) << "\"/>\n  </testcase>\n";
  }
  for (const auto& c : r.results) {
    out << "  <testcase classname=\"smtp-probe."
        << xml_escape(c.reference.empty() ? "check" : c.reference) << "\" name=\""
        << xml_escape(c.name) << "\" time=\"" << c.duration_ms / 1000 << "\">";
    if (c.verdict == Verdict::fail) {
      // The transcript goes with the failure: what was sent and received, CR/LF made visible.
      out << "\n    <failure message=\"" << xml_escape(c.evidence) << "\" type=\""
          << to_string(c.level) << "\">";
      if (!c.play.where.empty()) out << xml_escape("at " + c.play.where + "\n");
      out << xml_escape(transcript_text(c)) << "</failure>\n  ";
    } else if (c.verdict == Verdict::skip) {
      out << "\n    <skipped message=\"" << xml_escape(c.evidence) << "\"/>\n  ";
    } else if (c.verdict == Verdict::warn) {
      out << "\n    <system-out>warning: " << xml_escape(c.evidence) << "</system-out>\n  ";
    }
    out << "</testcase>\n";
  }
  out << "</testsuite>\n";
  return out.str();
}

}  // namespace smtp::probe
