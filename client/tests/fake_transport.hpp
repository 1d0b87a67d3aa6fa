// A scripted in-memory Transport (the narrow seam under the sync driver): records what the client
// writes, hands out canned server bytes, fails on request.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <smtp/exceptions.hpp>
#include <smtp/transport.hpp>
#include <string>

namespace smtp::test {

struct FakeServer {
  std::string written;                // everything the client wrote
  std::deque<std::string> to_client;  // chunks the server sends, in order; empty = EOF
  std::size_t writes = 0;
  std::optional<std::size_t> fail_write;  // this write (0-based) fails as a reset connection would
  std::string unsolicited;                // bytes available() reports before the next write
  bool closed = false;
};

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(std::shared_ptr<FakeServer> s) : s_(std::move(s)) {}
  void write(std::string_view bytes, Deadline) override {
    if (s_->fail_write && *s_->fail_write == s_->writes) {
      throw SMTPServerDisconnected("Server not connected: Broken pipe");
    }
    ++s_->writes;
    s_->written += bytes;
  }
  std::size_t read_some(std::span<char> buffer, Deadline) override {
    if (!s_->unsolicited.empty()) {
      s_->to_client.push_front(s_->unsolicited);
      s_->unsolicited.clear();
    }
    if (s_->to_client.empty()) return 0;
    std::string& front = s_->to_client.front();
    const std::size_t n = std::min(buffer.size(), front.size());
    front.copy(buffer.data(), n);
    front.erase(0, n);
    if (front.empty()) s_->to_client.pop_front();
    return n;
  }
  std::size_t available() override { return s_->unsolicited.size(); }
  void close() noexcept override { s_->closed = true; }

 private:
  std::shared_ptr<FakeServer> s_;
};

}  // namespace smtp::test
