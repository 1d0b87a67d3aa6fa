// Host and port as every tool spells them on its command line: HOST, HOST:PORT, [V6], [V6]:PORT,
// and a bare IPv6 address (several colons, no port). One parser, so a port is checked one way
// everywhere: decimal digits only, within 1-65535 (0 where a listener asks the system for one).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smtp::wire {

struct Endpoint {
  std::string host;                   // brackets removed
  std::optional<std::uint16_t> port;  // absent when the text names none
};

// Whether port 0 is accepted: a listener binds port 0 and reads the port back; a client cannot
// connect to it.
enum class PortZero { refused, allowed };

// The port in `text`, or nullopt with `error` saying what is wrong with it ("port 70000 is out of
// range (1-65535)", "port 'abc' is not a decimal number").
std::optional<std::uint16_t> parse_port(std::string_view text, PortZero zero, std::string& error);

// The same check for a port already held in an int (an API argument).
std::optional<std::uint16_t> check_port(long long port, PortZero zero, std::string& error);

// Splits HOST[:PORT] / [V6][:PORT] / bare V6; nullopt with `error` when the host is empty, a
// bracket is unclosed, or the port is bad.
std::optional<Endpoint> parse_endpoint(std::string_view text, PortZero zero, std::string& error);

// "[::1]" -> "::1"; anything else unchanged.
std::string_view strip_brackets(std::string_view host);

}  // namespace smtp::wire
