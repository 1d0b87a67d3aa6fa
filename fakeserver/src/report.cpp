#include "smtp/fakeserver/report.hpp"

#include <nlohmann/json.hpp>
#include <sstream>

namespace smtp::fakeserver {

std::string SessionReport::to_json() const {
  nlohmann::json j;
  j["event"] = "session";
  j["id"] = id;
  j["mode"] = mode;
  j["scenario"] = scenario_file;
  j["name"] = scenario_name;
  j["transport"] = transport;
  j["listener"] = listener;
  j["peer"] = peer;
  j["ok"] = ok;
  j["duration_ms"] = duration_ms;
  if (mode == "sink") {
    j["messages"] = messages;
    if (!error.empty()) j["error"] = error;
  } else {
    nlohmann::json steps_j = nlohmann::json::array();
    for (const auto& s : steps) {
      nlohmann::json sj{
          {"index", s.index}, {"where", s.where}, {"text", s.text}, {"status", s.status}};
      if (s.synthetic) sj["synthetic"] = true;
      if (!s.detail.empty()) sj["detail"] = s.detail;
      steps_j.push_back(sj);
    }
    j["steps"] = steps_j;
    if (divergence) {
      j["divergence"] = {{"step", divergence->step},
                         {"where", divergence->where},
                         {"expected", divergence->expected},
                         {"received", divergence->received},
                         {"reason", divergence->reason}};
    } else {
      j["divergence"] = nullptr;
    }
    nlohmann::json tj = nlohmann::json::array();
    for (const auto& t : transcript) {
      tj.push_back({{"from", std::string(1, t.from)}, {"t_ms", t.t_ms}, {"data", t.data}});
    }
    j["transcript"] = tj;
    j["transcript_truncated"] = transcript_truncated;
  }
  // Received bytes are made visible before they get here, so the dump cannot meet bad UTF-8;
  // replace anyway rather than throw on a scenario file's own non-UTF-8 text.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string SessionReport::to_text() const {
  std::ostringstream out;
  out << "session " << id << " (" << (mode == "sink" ? "sink" : scenario_file) << " over "
      << transport << ", peer " << (peer.empty() ? "?" : peer) << "): ";
  if (mode == "sink") {
    out << messages << " message(s)" << (error.empty() ? "" : ", ended: " + error) << "\n";
    return out.str();
  }
  if (ok) {
    out << "followed the script (" << steps.size() << " steps)\n";
    return out.str();
  }
  out << "DIVERGED at " << divergence->where << "\n";
  out << "  expected: " << divergence->expected << "\n";
  out << "  received: " << (divergence->received.empty() ? "(nothing)" : divergence->received)
      << "\n";
  out << "  reason:   " << divergence->reason << "\n";
  std::size_t shown = 0;
  std::size_t first = transcript.size() > 12 ? transcript.size() - 12 : 0;
  out << "  transcript" << (first ? " (last 12 entries)" : "") << ":\n";
  for (std::size_t i = first; i < transcript.size(); ++i, ++shown) {
    out << "    " << transcript[i].from << ": " << transcript[i].data << "\n";
  }
  return out.str();
}

}  // namespace smtp::fakeserver
