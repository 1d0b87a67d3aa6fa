#include "smtp/scenario/json.hpp"

#include <nlohmann/json.hpp>

#include "smtp/scenario/escape.hpp"

namespace smtp::scenario {
namespace {

using nlohmann::json;

json pattern_json(const LinePattern& p) {
  json j;
  j["source"] = p.source();
  j["kind"] = p.kind() == LinePattern::Kind::exact  ? "exact"
              : p.kind() == LinePattern::Kind::glob ? "glob"
                                                    : "regex";
  j["literal"] = p.is_literal();
  // The bytes, made visible (JSON strings must be valid UTF-8; escapes keep every byte).
  if (p.is_literal()) j["bytes"] = visible(p.literal());
  if (!p.codes().empty()) j["codes"] = p.codes();
  return j;
}

json outcome_json(const Outcome& o) {
  json j;
  j["result"] = o.ok ? "ok" : "raises";
  if (o.ok) {
    if (o.reply) j["reply"] = *o.reply;
    j["refused"] = o.refused;
    // sendmail_many: one entry per message, {"result": "ok"} or {"result": "raises",
    // "exception": NAME, "code": CODE|null}; null when the outcome does not state them.
    if (o.results) {
      json results = json::array();
      for (const auto& r : *o.results) {
        if (r.ok) {
          results.push_back({{"result", "ok"}});
        } else {
          results.push_back({{"result", "raises"},
                             {"exception", r.exception},
                             {"code", r.code ? json(*r.code) : json(nullptr)}});
        }
      }
      j["results"] = results;
    } else {
      j["results"] = nullptr;
    }
  } else {
    j["exception"] = o.exception;
    j["code"] = o.code ? json(*o.code) : json(nullptr);
  }
  j["line"] = o.where.line;
  j["text"] = o.text;
  return j;
}

}  // namespace

std::string to_json(const Scenario& s, int indent) {
  json j;
  j["file"] = s.file;
  j["name"] = s.name;
  j["description"] = s.description;
  j["tags"] = s.tags;
  j["protocol"] = to_string(s.protocol);
  json transports = json::array();
  for (auto t : s.transports) transports.push_back(to_string(t));
  j["transports"] = transports;
  json roles = json::array();
  if (s.playable_as_server()) roles.push_back("server");
  if (s.playable_as_client()) roles.push_back("client");
  j["roles"] = roles;
  j["clients"] = s.clients;
  j["clients_note"] = s.clients_note;
  j["server_cert"] = s.server_cert;
  if (s.max_line) j["max_line"] = *s.max_line;

  json client;
  json calls = json::array();
  for (const auto& c : s.client.calls) {
    calls.push_back({{"name", c.name},
                     {"args", c.args},
                     {"kwargs", c.kwargs},
                     {"where", c.where.str()},
                     {"line", c.where.line}});
  }
  client["calls"] = calls;
  client["options"] = s.client.options;
  // The message is given twice: escaped (always valid JSON) and as text when it is UTF-8 clean
  // ASCII, which is what a driver wants to pass on.
  if (s.client.message) {
    client["message_visible"] = visible(*s.client.message);
    bool ascii = true;
    for (char ch : *s.client.message) ascii = ascii && static_cast<unsigned char>(ch) < 0x80;
    client["message"] = ascii ? json(*s.client.message) : json(nullptr);
  } else {
    client["message"] = nullptr;
  }
  client["expect"] = s.client.expect ? outcome_json(*s.client.expect) : json(nullptr);
  client["expect_smtplib"] =
      s.client.expect_smtplib ? outcome_json(*s.client.expect_smtplib) : json(nullptr);
  client["note_smtplib"] = s.client.smtplib_note;
  j["client"] = client;

  json steps = json::array();
  for (const auto& st : s.steps) {
    json js;
    js["kind"] = to_string(st.kind);
    js["where"] = st.where.str();
    js["file"] = st.where.file;
    js["line"] = st.where.line;
    js["text"] = st.text;
    if (st.pattern) js["pattern"] = pattern_json(*st.pattern);
    if (!st.bytes.empty()) js["bytes"] = visible(st.bytes);
    if (!st.content.empty()) {
      json content = json::array();
      for (const auto& p : st.content) content.push_back(pattern_json(p));
      js["content"] = content;
    }
    if (st.kind == Step::Kind::data || st.kind == Step::Kind::bdat) js["capture"] = st.capture;
    if (st.kind == Step::Kind::bdat) js["size"] = st.size ? json(*st.size) : json(nullptr);
    if (st.kind == Step::Kind::data_lines || st.kind == Step::Kind::drip) js["count"] = st.count;
    if (st.kind == Step::Kind::sleep || st.kind == Step::Kind::drip) {
      js["ms"] = st.duration.count();
    }
    if (st.kind == Step::Kind::tls_fail || !st.mode.empty()) js["mode"] = st.mode;
    steps.push_back(js);
  }
  j["steps"] = steps;
  return j.dump(indent);
}

}  // namespace smtp::scenario
