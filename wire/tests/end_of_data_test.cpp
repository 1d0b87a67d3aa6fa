// One definition of the end of DATA for every player, and the client's encoder against it.
#include "smtp/wire/end_of_data.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "smtp/wire/body_encoder.hpp"
#include "smtp/wire/dot_unstuffer.hpp"
#include "smtp/wire/line_buffer.hpp"
#include "split_feed.hpp"

namespace wire = smtp::wire;
using smtp::test::for_each_split;
using smtp::test::visible;

namespace {

struct Outcome {
  bool ended = false;
  std::string message;
  std::string after;  // bytes after the end: the unstuffer's rest, then whatever was still buffered
  wire::DataEnding ending = wire::DataEnding::crlf_dot_crlf;
  std::optional<wire::DataEnding> first_other;
  std::optional<std::string> refusal;
};

// What a server reading `chunks` after its 354 makes of them, with `policy`: the chunks fed as
// they arrive (by_line = false) or cut into lines first, as the scripted server does.
Outcome receive(const std::vector<std::string_view>& chunks, wire::EndOfDataPolicy policy,
                bool by_line = false) {
  wire::LineBuffer in(1 << 20);
  wire::DotUnstuffer body(policy);
  Outcome o;
  for (auto chunk : chunks) {
    if (o.ended) {
      o.after += chunk;
      continue;
    }
    if (!by_line) {
      if (body.feed(chunk)) {
        o.ended = true;
        o.after = body.rest();
      }
      continue;
    }
    in.append(chunk);
    while (!o.ended) {
      auto line = in.take_line();
      if (!line) break;
      if (body.feed(*line)) {
        o.ended = true;
        o.after = body.rest() + in.take_all();
      }
    }
  }
  o.message = body.message();
  o.ending = body.ending();
  o.first_other = body.first_other_form();
  o.refusal = body.refusal();
  return o;
}

// A smuggling attempt with `form` between the first message and a second transaction.
std::string smuggling_stream(const wire::DataEndingForm& form) {
  return "Subject: one\r\n\r\nbody" + std::string(form.bytes) +
         "MAIL FROM:<evil@example.org>\r\n\r\n.\r\n";
}

}  // namespace

TEST(EndOfData, TheTableNamesEveryFormOnceInEnumOrder) {
  const auto forms = wire::data_ending_forms();
  ASSERT_EQ(forms.size(), wire::data_ending_count);
  for (std::size_t i = 0; i < forms.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(forms[i].ending), i);
    EXPECT_EQ(wire::data_ending_named(forms[i].name), forms[i].ending);
    EXPECT_NE(forms[i].bytes.find('.'), std::string_view::npos);
  }
  EXPECT_EQ(forms[7].bytes, std::string_view("\r\n.\0\r\n", 6));
  EXPECT_FALSE(wire::data_ending_named("crlf.crlf"));
  EXPECT_EQ(wire::ending_action_named("ends-data"), wire::EndingAction::ends_data);
}

TEST(EndOfData, Rfc5321TakesOnlyCrlfDotCrlfAndNamesTheOtherForm) {
  for (const auto& form : wire::data_ending_forms()) {
    if (form.ending == wire::DataEnding::crlf_dot_crlf) continue;
    const std::string stream = smuggling_stream(form);
    for_each_split(stream, [&](const auto& chunks, const std::string& how) {
      const auto o = receive(chunks, wire::EndOfDataPolicy::rfc5321());
      ASSERT_TRUE(o.ended) << form.name << " " << how;
      EXPECT_EQ(o.ending, wire::DataEnding::crlf_dot_crlf) << form.name << " " << how;
      EXPECT_EQ(o.first_other, form.ending) << form.name << " " << how;
      EXPECT_EQ(o.after, "") << form.name << " " << how;
      EXPECT_NE(o.message.find("MAIL FROM:<evil@example.org>"), std::string::npos)
          << form.name << " " << how << ": " << visible(o.message);
      EXPECT_FALSE(o.refusal);
    });
  }
}

TEST(EndOfData, AVulnerablePolicyEndsAtTheFormAndLeavesTheSmuggledCommand) {
  for (const auto& form : wire::data_ending_forms()) {
    auto policy = wire::EndOfDataPolicy::rfc5321().set(form.ending, wire::EndingAction::ends_data);
    const std::string stream = smuggling_stream(form);
    for_each_split(stream, [&](const auto& chunks, const std::string& how) {
      const auto o = receive(chunks, policy);
      ASSERT_TRUE(o.ended) << form.name << " " << how;
      EXPECT_EQ(o.ending, form.ending) << form.name << " " << how;
      EXPECT_EQ(o.after, "MAIL FROM:<evil@example.org>\r\n\r\n.\r\n")
          << form.name << " " << how << ": " << visible(o.after);
      EXPECT_TRUE(o.message.starts_with("Subject: one\r\n\r\nbody")) << visible(o.message);
      EXPECT_EQ(o.message.find("MAIL"), std::string::npos) << visible(o.message);
    });
  }
}

TEST(EndOfData, ARefusingPolicyReadsToTheRealEndAndSaysWhy) {
  for (const auto& form : wire::data_ending_forms()) {
    if (form.ending == wire::DataEnding::crlf_dot_crlf) continue;
    auto policy = wire::EndOfDataPolicy::rfc5321().set(form.ending, wire::EndingAction::refuse);
    const auto o = receive({smuggling_stream(form)}, policy);
    ASSERT_TRUE(o.ended) << form.name;
    EXPECT_EQ(o.ending, wire::DataEnding::crlf_dot_crlf);
    EXPECT_EQ(o.refusal, std::string(form.name));
  }
  wire::EndOfDataPolicy lf;
  lf.bare_lf_line = wire::EndingAction::refuse;
  const auto o = receive({"a\nb\r\n.\r\n"}, lf);
  EXPECT_TRUE(o.ended);
  EXPECT_EQ(o.refusal, std::string("bare LF line"));
  EXPECT_FALSE(lf.is_rfc5321());
  EXPECT_TRUE(wire::EndOfDataPolicy::rfc5321().is_rfc5321());
}

TEST(EndOfData, LinesOrRawChunksGiveTheSameMessage) {
  for (const auto& form : wire::data_ending_forms()) {
    const std::string stream = smuggling_stream(form);
    const auto raw = receive({stream}, wire::EndOfDataPolicy::rfc5321());
    const auto lines = receive({stream}, wire::EndOfDataPolicy::rfc5321(), true);
    EXPECT_EQ(raw.message, lines.message) << form.name;
    EXPECT_EQ(raw.first_other, lines.first_other) << form.name;
    EXPECT_TRUE(raw.ended && lines.ended) << form.name;
  }
}

TEST(EndOfData, ABareCrFormEndsTheDataWithoutALineEndAfterIt) {
  // A server that takes <CR>.<CR> for the end answers at once: nothing after it ends a line.
  auto policy = wire::EndOfDataPolicy::rfc5321().set(wire::DataEnding::cr_dot_cr,
                                                     wire::EndingAction::ends_data);
  wire::DotUnstuffer body(policy);
  EXPECT_FALSE(body.feed("text\r"));
  EXPECT_FALSE(body.feed("."));
  EXPECT_TRUE(body.feed("\rX"));
  EXPECT_EQ(body.message(), "text\r");
  EXPECT_EQ(body.rest(), "X");
  EXPECT_EQ(body.ending(), wire::DataEnding::cr_dot_cr);
}

TEST(EndOfData, CrlfDotCrlfCannotBeTurnedIntoContent) {
  auto policy = wire::EndOfDataPolicy::rfc5321().set(wire::DataEnding::crlf_dot_crlf,
                                                     wire::EndingAction::content);
  EXPECT_EQ(policy.action(wire::DataEnding::crlf_dot_crlf), wire::EndingAction::ends_data);
}

TEST(EndOfData, TransparencyDotsAreRemovedOnlyAtALineStart) {
  const auto o = receive({"..a\r\nb\r..c\r\n.\r\n"}, wire::EndOfDataPolicy::rfc5321());
  ASSERT_TRUE(o.ended);
  EXPECT_EQ(o.message, ".a\r\nb\r..c\r\n");
}

// The client side of the agreement: whatever a caller's message holds, the encoder never puts any
// of the forms on the wire before its own end, so even a server that takes every form for the end
// receives the whole message (and a NUL is refused before anything is sent).
TEST(EndOfData, TheClientEncoderNeverEmitsAFormInsideABody) {
  wire::EndOfDataPolicy every;
  for (const auto& form : wire::data_ending_forms())
    every.set(form.ending, wire::EndingAction::ends_data);
  for (const auto& form : wire::data_ending_forms()) {
    const std::string message = smuggling_stream(form);
    if (form.bytes.find('\0') != std::string_view::npos) {
      EXPECT_THROW(wire::BodyEncoder::encode_all(message), std::invalid_argument);
      continue;
    }
    const std::string wire_bytes = wire::BodyEncoder::encode_all(message);
    const auto o = receive({wire_bytes}, every);
    const auto rfc = receive({wire_bytes}, wire::EndOfDataPolicy::rfc5321());
    ASSERT_TRUE(o.ended && rfc.ended) << form.name;
    EXPECT_FALSE(rfc.first_other) << form.name << ": " << visible(wire_bytes);
    // The same message either way; a server taking <CRLF>.<CR> for the end leaves the final LF.
    EXPECT_EQ(o.message, rfc.message) << form.name << ": " << visible(wire_bytes);
    EXPECT_TRUE(o.after == "" || o.after == "\n") << form.name << ": " << visible(o.after);
  }
}
