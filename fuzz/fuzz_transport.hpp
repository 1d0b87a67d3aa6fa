// An in-memory Transport for the fuzz targets: the server side is a list of byte chunks handed
// out in order (a read never crosses a chunk boundary, so chunk splits are part of the input);
// an empty list is EOF. Writes are kept so a target can check what the client put on the wire.
#pragma once

#include <algorithm>
#include <deque>
#include <smtp/transport.hpp>
#include <string>

namespace smtp::fuzz {

struct ScriptedServer {
  std::deque<std::string> to_client;
  std::string written;
  bool closed = false;
};

class ScriptedTransport final : public Transport {
 public:
  explicit ScriptedTransport(ScriptedServer& s) : s_(s) {}
  void write(std::string_view bytes, Deadline) override { s_.written += bytes; }
  std::size_t read_some(std::span<char> buffer, Deadline) override {
    while (!s_.to_client.empty() && s_.to_client.front().empty()) s_.to_client.pop_front();
    if (s_.to_client.empty()) return 0;
    std::string& front = s_.to_client.front();
    const std::size_t n = std::min(buffer.size(), front.size());
    front.copy(buffer.data(), n);
    front.erase(0, n);
    return n;
  }
  // Bytes "already there" before a write: what is left of the current chunk. This lets the
  // client's check for unsolicited bytes (and STARTTLS's bytes-after-220 rule) see them.
  std::size_t available() override {
    return s_.to_client.empty() ? 0 : s_.to_client.front().size();
  }
  void close() noexcept override { s_.closed = true; }

 private:
  ScriptedServer& s_;
};

}  // namespace smtp::fuzz
