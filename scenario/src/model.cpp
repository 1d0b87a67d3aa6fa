#include "smtp/scenario/model.hpp"

#include <algorithm>

namespace smtp::scenario {

const char* to_string(Protocol p) {
  return p == Protocol::smtp ? "smtp" : "lmtp";
}

const char* to_string(Transport t) {
  switch (t) {
    case Transport::plain:
      return "plain";
    case Transport::starttls:
      return "starttls";
    case Transport::tls:
      return "tls";
    case Transport::unix_socket:
      return "unix";
  }
  return "?";
}

std::optional<Transport> transport_from_string(std::string_view name) {
  if (name == "plain") return Transport::plain;
  if (name == "starttls") return Transport::starttls;
  if (name == "tls") return Transport::tls;
  if (name == "unix") return Transport::unix_socket;
  return std::nullopt;
}

const char* to_string(Step::Kind k) {
  switch (k) {
    case Step::Kind::server_line:
      return "server_line";
    case Step::Kind::client_line:
      return "client_line";
    case Step::Kind::server_raw:
      return "server_raw";
    case Step::Kind::client_raw:
      return "client_raw";
    case Step::Kind::data:
      return "data";
    case Step::Kind::data_lines:
      return "data_lines";
    case Step::Kind::flush:
      return "flush";
    case Step::Kind::sleep:
      return "sleep";
    case Step::Kind::drip:
      return "drip";
    case Step::Kind::starttls:
      return "starttls";
    case Step::Kind::tls_fail:
      return "tls_fail";
    case Step::Kind::close:
      return "close";
    case Step::Kind::reset:
      return "reset";
    case Step::Kind::expect_close:
      return "expect_close";
    case Step::Kind::bdat:
      return "bdat";
    case Step::Kind::expect_tls_reject:
      return "expect_tls_reject";
  }
  return "?";
}

const std::vector<std::string>& known_clients() {
  static const std::vector<std::string> names = {"cpp", "cpp-async", "smtplib"};
  return names;
}

const std::vector<std::string>& known_server_certs() {
  static const std::vector<std::string> names = {"good", "wrong-name", "expired", "self-signed",
                                                 "untrusted-ca"};
  return names;
}

bool is_server_step(Step::Kind k) {
  switch (k) {
    case Step::Kind::server_line:
    case Step::Kind::server_raw:
    case Step::Kind::flush:
    case Step::Kind::drip:
    case Step::Kind::tls_fail:
    case Step::Kind::close:
    case Step::Kind::reset:
      return true;
    default:
      return false;
  }
}

bool Scenario::playable_as_server() const {
  return std::all_of(steps.begin(), steps.end(), [](const Step& s) {
    return s.kind != Step::Kind::server_line || s.pattern->is_literal();
  });
}

bool Scenario::playable_as_client() const {
  return std::all_of(steps.begin(), steps.end(), [](const Step& s) {
    if (s.kind == Step::Kind::client_line) return s.pattern->is_literal();
    // The probe sends no BDAT chunks and does not play a certificate rejection.
    if (s.kind == Step::Kind::bdat || s.kind == Step::Kind::expect_tls_reject) return false;
    if (s.kind == Step::Kind::data || s.kind == Step::Kind::data_lines) {
      return std::all_of(s.content.begin(), s.content.end(),
                         [](const LinePattern& p) { return p.is_literal(); });
    }
    return true;
  });
}

bool Scenario::declares(Transport t) const {
  return std::find(transports.begin(), transports.end(), t) != transports.end();
}

}  // namespace smtp::scenario
