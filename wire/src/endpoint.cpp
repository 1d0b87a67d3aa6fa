#include "smtp/wire/endpoint.hpp"

namespace smtp::wire {

namespace {

std::string range_text(PortZero zero) {
  return zero == PortZero::allowed ? "0-65535" : "1-65535";
}

}  // namespace

std::optional<std::uint16_t> check_port(long long port, PortZero zero, std::string& error) {
  const long long low = zero == PortZero::allowed ? 0 : 1;
  if (port < low || port > 65535) {
    error = "port " + std::to_string(port) + " is out of range (" + range_text(zero) + ")";
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(port);
}

std::optional<std::uint16_t> parse_port(std::string_view text, PortZero zero, std::string& error) {
  const bool negative = text.starts_with('-');
  const std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    error = "port '" + std::string(text) + "' is not a decimal number";
    return std::nullopt;
  }
  if (negative || digits.size() > 5) {
    error = "port " + std::string(text) + " is out of range (" + range_text(zero) + ")";
    return std::nullopt;
  }
  long long value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return check_port(value, zero, error);
}

std::optional<Endpoint> parse_endpoint(std::string_view text, PortZero zero, std::string& error) {
  Endpoint out;
  std::string_view port_text;
  bool has_port = false;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      error = "'" + std::string(text) + "': '[' without ']'";
      return std::nullopt;
    }
    out.host = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        error = "'" + std::string(text) + "': expected ':PORT' after ']'";
        return std::nullopt;
      }
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      out.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      has_port = true;
    } else {
      out.host = std::string(text);  // no colon, or a bare IPv6 address
    }
  }
  if (out.host.empty()) {
    error = "'" + std::string(text) + "': no host";
    return std::nullopt;
  }
  if (has_port) {
    out.port = parse_port(port_text, zero, error);
    if (!out.port) return std::nullopt;
  }
  return out;
}

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace smtp::wire
