#include "smtp/probe/check.hpp"

#include <algorithm>
#include <stdexcept>

#include "smtp/scenario/parser.hpp"

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

Check make_check(scenario::Scenario s) {
  using scenario::Step;
  Check c;
  for (const auto& t : s.tags) {
    if (t.starts_with("ref:")) {
      c.reference = t.substr(4);
    } else if (t == "severity:warn") {
      c.warn_only = true;
    } else if (t.starts_with("needs:")) {
      c.needs.push_back(t.substr(6));
    } else if (t == "verify-certificate") {
      c.verify_certificate = true;
    } else if (t == "protocol:any") {
      c.any_protocol = true;
    }
  }
  if (!s.playable_as_client()) {
    throw std::runtime_error(s.file + ": a C: line is not literal, the probe cannot send it");
  }
  const bool delivers = std::find(c.needs.begin(), c.needs.end(), "delivery") != c.needs.end();
  for (const auto& st : s.steps) {
    if (st.kind == Step::Kind::tls_fail) {
      throw std::runtime_error(st.where.str() + ": tls-fail cannot be played by the probe");
    }
    // Safety: nothing that can complete a message runs unless the check says it may deliver.
    const bool completes =
        st.kind == Step::Kind::data ||
        (st.kind == Step::Kind::client_raw && st.bytes.find("\r\n.\r\n") != std::string::npos);
    if (completes && !delivers) {
      throw std::runtime_error(st.where.str() +
                               ": this step can complete a message; the check must say "
                               "needs:delivery");
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
