// Seeded random properties of the protocol core: what holds for every input, not just examples.
#include <gtest/gtest.h>

#include <random>
#include <smtp/exceptions.hpp>
#include <smtp/wire/command_encoder.hpp>
#include <smtp/wire/reply_parser.hpp>
#include <string>
#include <vector>

#include "split_feed.hpp"

namespace smtp {
namespace {

std::string random_bytes(std::mt19937& rng, std::string_view alphabet, std::size_t max_len) {
  std::string s(rng() % (max_len + 1), ' ');
  for (char& c : s) c = alphabet[rng() % alphabet.size()];
  return s;
}

TEST(Properties, reply_parser_never_crashes_and_either_parses_or_names_a_rule) {
  std::mt19937 rng(5321);
  const std::string alphabet = std::string("2504-  \r\n\t\x01x.", 14) + std::string(1, '\0');
  for (int round = 0; round < 20000; ++round) {
    const std::string wire = random_bytes(rng, alphabet, 24);
    wire::ReplyParser p;
    const std::size_t used = p.feed(wire);
    ASSERT_LE(used, wire.size());
    if (p.failed()) {
      ASSERT_FALSE(p.error()->rule.empty());
      ASSERT_FALSE(p.done());
    } else if (p.done()) {
      const Reply r = p.take();
      ASSERT_GE(r.code, 200) << test::visible(wire);
      ASSERT_LE(r.code, 599) << test::visible(wire);
      // Whatever was consumed ends with CRLF: a reply is never cut inside a line.
      ASSERT_EQ(wire.substr(used - 2, 2), "\r\n") << test::visible(wire);
    } else {
      ASSERT_EQ(used, wire.size());
    }
  }
}

TEST(Properties, random_valid_replies_parse_the_same_at_every_chunking) {
  std::mt19937 rng(2821);
  for (int round = 0; round < 300; ++round) {
    const int code = 200 + static_cast<int>(rng() % 400);
    const std::size_t lines = 1 + rng() % 4;
    std::string wire;
    std::string text;
    for (std::size_t i = 0; i < lines; ++i) {
      const std::string t = random_bytes(rng, "abc .=-", 6);
      std::string stripped = t;
      while (!stripped.empty() && stripped.front() == ' ') stripped.erase(0, 1);
      while (!stripped.empty() && stripped.back() == ' ') stripped.pop_back();
      wire += std::to_string(code) + (i + 1 < lines ? "-" : " ") + t + "\r\n";
      text += (i ? "\n" : "") + stripped;
    }
    test::for_each_split(wire, [&](const auto& chunks, const std::string& how) {
      wire::ReplyParser p;
      for (auto c : chunks) ASSERT_EQ(p.feed(c), c.size()) << how;
      ASSERT_TRUE(p.done()) << how;
      ASSERT_EQ(p.take(), (Reply{code, text})) << how << " " << test::visible(wire);
    });
  }
}

TEST(Properties, encoded_commands_are_exactly_one_line) {
  std::mt19937 rng(821);
  const std::string alphabet = std::string("a@b.<>\" \r\n\t:=,\x7f", 16) + std::string(1, '\0');
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    const std::string addr = random_bytes(rng, alphabet, 12);
    const std::string opt = random_bytes(rng, alphabet, 6);
    std::vector<std::string> opts;
    if (!opt.empty()) opts.push_back(opt);
    for (bool is_mail : {true, false}) {
      try {
        const std::string line =
            is_mail ? wire::command::mail(addr, opts) : wire::command::rcpt(addr, opts);
        ++accepted;
        ASSERT_EQ(line.find('\r'), line.size() - 2) << test::visible(line);
        ASSERT_EQ(line.find('\n'), line.size() - 1) << test::visible(line);
        for (std::size_t i = 0; i + 2 < line.size(); ++i) {
          const auto u = static_cast<unsigned char>(line[i]);
          ASSERT_TRUE(u >= 0x20 && u != 0x7f) << test::visible(line);
        }
      } catch (const std::invalid_argument&) {
      }
    }
  }
  EXPECT_GT(accepted, 0) << "the generator never produced a valid address";
}

}  // namespace
}  // namespace smtp
