#include "greeting_hint.hpp"

#include <iostream>

namespace smtp_client {

GreetingHint::GreetingHint(std::chrono::milliseconds after) {
  thread_ = std::thread([this, after] {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, after, [this] { return done_; })) return;
    std::cerr << "smtp-client: no greeting after " << std::chrono::duration<double>(after).count()
              << " s; " << implicit_tls_hint << std::endl;
  });
}

void GreetingHint::done() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  cv_.notify_all();
}

GreetingHint::~GreetingHint() {
  done();
  thread_.join();
}

}  // namespace smtp_client
