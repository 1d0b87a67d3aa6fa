#include "smtp/fakeserver/report.hpp"

#include <cstdio>
#include <sstream>

namespace smtp::fakeserver {

namespace {

// Reports are written once per session, so they are built by hand (a JSON tree per session was
// the largest cost of replaying a scenario). Strings are escaped per RFC 8259.
class JsonOut {
 public:
  JsonOut& raw(std::string_view s) {
    out_ += s;
    return *this;
  }
  JsonOut& str(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out_ += '"';
    std::size_t run = 0;  // start of the pending run of bytes that need no escape
    for (std::size_t i = 0; i < s.size(); ++i) {
      auto u = static_cast<unsigned char>(s[i]);
      if (u >= 0x20 && s[i] != '"' && s[i] != '\\') continue;
      out_.append(s.data() + run, i - run);
      run = i + 1;
      if (u >= 0x20) {
        out_ += '\\';
        out_ += s[i];
      } else {
        char esc[6] = {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]};
        out_.append(esc, sizeof esc);
      }
    }
    out_.append(s.data() + run, s.size() - run);
    out_ += '"';
    return *this;
  }
  JsonOut& key(std::string_view k) {
    if (out_.back() != '{' && out_.back() != '[') out_ += ',';
    str(k);
    out_ += ':';
    return *this;
  }
  JsonOut& num(double v) {
    char buf[32];
    auto n = std::snprintf(buf, sizeof buf, "%.3f", v);
    out_.append(buf, static_cast<std::size_t>(n));
    return *this;
  }
  JsonOut& num(std::uint64_t v) {
    out_ += std::to_string(v);
    return *this;
  }
  JsonOut& boolean(bool b) {
    out_ += b ? "true" : "false";
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string SessionReport::to_json() const {
  JsonOut j;
  j.raw("{");
  j.key("event").str("session");
  j.key("id").num(id);
  j.key("mode").str(mode);
  j.key("scenario").str(scenario_file);
  j.key("name").str(scenario_name);
  j.key("transport").str(transport);
  j.key("listener").str(listener);
  j.key("peer").str(peer);
  j.key("ok").boolean(ok);
  j.key("duration_ms").num(duration_ms);
  if (mode == "sink") {
    j.key("messages").num(static_cast<std::uint64_t>(messages));
    if (!auth_user.empty()) j.key("auth_user").str(auth_user);
    j.key("envelopes").raw("[");
    for (const auto& e : envelopes) {
      j.raw(&e == &envelopes.front() ? "{" : ",{");
      j.key("id").str(e.id);
      j.key("mail_from").str(e.mail_from);
      j.key("rcpt_to").raw("[");
      for (const auto& r : e.rcpt_to) {
        if (&r != &e.rcpt_to.front()) j.raw(",");
        j.str(r);
      }
      j.raw("]");
      j.key("size").num(e.size);
      j.raw("}");
    }
    j.raw("]");
    if (!error.empty()) j.key("error").str(error);
    j.raw("}");
    return j.take();
  }
  j.key("steps").raw("[");
  for (const auto& s : steps) {
    j.raw(&s == &steps.front() ? "{" : ",{");
    j.key("index").num(static_cast<std::uint64_t>(s.index));
    j.key("where").str(s.where);
    j.key("text").str(s.text);
    j.key("status").str(s.status);
    if (s.synthetic) j.key("synthetic").boolean(true);
    if (!s.detail.empty()) j.key("detail").str(s.detail);
    j.raw("}");
  }
  j.raw("]");
  j.key("divergence");
  if (divergence) {
    j.raw("{");
    j.key("step").num(static_cast<std::uint64_t>(divergence->step));
    j.key("where").str(divergence->where);
    j.key("expected").str(divergence->expected);
    j.key("received").str(divergence->received);
    j.key("reason").str(divergence->reason);
    j.raw("}");
  } else {
    j.raw("null");
  }
  if (!error.empty()) j.key("error").str(error);
  j.key("transcript").raw("[");
  for (const auto& t : transcript) {
    j.raw(&t == &transcript.front() ? "{" : ",{");
    j.key("from").str(std::string_view(&t.from, 1));
    j.key("t_ms").num(t.t_ms);
    j.key("data").str(t.data);
    j.raw("}");
  }
  j.raw("]");
  j.key("transcript_truncated").boolean(transcript_truncated);
  j.raw("}");
  return j.take();
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
