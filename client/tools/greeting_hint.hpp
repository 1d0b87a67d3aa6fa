// smtp-client: a plaintext client on an implicit-TLS port (465) gets no greeting: the server waits
// for a TLS ClientHello. GreetingHint says so on stderr when no greeting has come after a few
// seconds, instead of waiting silently (until --timeout, or forever).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace smtp_client {

inline constexpr const char* implicit_tls_hint = "is this an implicit TLS port? try --tls";

class GreetingHint {
 public:
  // Prints "smtp-client: no greeting after N s; <implicit_tls_hint>" unless done() comes first.
  explicit GreetingHint(std::chrono::milliseconds after);
  ~GreetingHint();
  GreetingHint(const GreetingHint&) = delete;
  GreetingHint& operator=(const GreetingHint&) = delete;
  void done();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace smtp_client
