// Scripting an exchange algorithm without any I/O: the test lists what the client must do and what
// the server answers, reads as a transcript, and can inject a failure at any step.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <smtp/algo/action.hpp>
#include <smtp/exceptions.hpp>
#include <string>
#include <vector>

#include "split_feed.hpp"

namespace smtp::test {

struct Step {
  algo::action_kind kind;
  std::string client;  // bytes the client writes (command/write)
  Reply server;        // the reply the server gives (command/read_reply)
};

// C: line, S: reply.
inline Step exchange(std::string client, int code, std::string text) {
  return {algo::action_kind::command, std::move(client), {code, std::move(text)}};
}
// C: bytes written with no reply read (a pipelined group, a body piece).
inline Step writes(std::string bytes) {
  return {algo::action_kind::write, std::move(bytes), {}};
}
inline Step read(int code, std::string text) {
  return {algo::action_kind::read_reply, {}, {code, std::move(text)}};
}
inline Step closes() {
  return {algo::action_kind::close, {}, {}};
}
// The client checks that nothing is waiting (every reply read); it passes unless failed there.
inline Step idle() {
  return {algo::action_kind::expect_idle, {}, {}};
}

// Plays the script. With `fail_at`, step number fail_at fails as a dropped connection would
// (the driver reports SMTPServerDisconnected), and the algorithm must then finish.
template <class Algo>
void play(Algo& algo, const std::vector<Step>& script, std::optional<std::size_t> fail_at = {}) {
  algo::step_result result;
  for (std::size_t i = 0; i < script.size(); ++i) {
    algo::action a = algo.resume(result);
    const Step& s = script[i];
    // A check that nothing is waiting passes unless the script lists it (to fail it there).
    while (a.kind == algo::action_kind::expect_idle && s.kind != algo::action_kind::expect_idle) {
      a = algo.resume({});
    }
    ASSERT_EQ(static_cast<int>(a.kind), static_cast<int>(s.kind)) << "step " << i;
    if (s.kind == algo::action_kind::command || s.kind == algo::action_kind::write) {
      ASSERT_EQ(visible(a.bytes), visible(s.client)) << "step " << i;
    }
    result = {};
    if (fail_at && *fail_at == i) {
      result.error = std::make_exception_ptr(SMTPServerDisconnected("injected disconnect"));
      break;
    }
    result.reply = s.server;
  }
  algo::action last = algo.resume(result);
  while (last.kind == algo::action_kind::expect_idle) last = algo.resume({});
  ASSERT_EQ(static_cast<int>(last.kind), static_cast<int>(algo::action_kind::done))
      << "the algorithm went on after the script" << (fail_at ? " (and after a failure)" : "")
      << ": " << visible(last.bytes);
}

// Runs the algorithm's error() through a rethrow so a test can EXPECT_THROW on it.
template <class Algo>
void rethrow(const Algo& algo) {
  if (auto e = algo.error()) std::rethrow_exception(e);
}

}  // namespace smtp::test
