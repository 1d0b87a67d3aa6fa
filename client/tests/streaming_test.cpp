// Streamed bodies, CHUNKING/BDAT (+BINARYMIME), SIZE, option checks against the EHLO, and
// ENHANCEDSTATUSCODES in SendmailAlgo, scripted without sockets; then the SMTP class over a
// scripted transport with an istream and a file.
#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <smtp/algo/data.hpp>
#include <smtp/algo/sendmail.hpp>
#include <smtp/body_source.hpp>
#include <smtp/client.hpp>
#include <sstream>

#include "fake_transport.hpp"
#include "script.hpp"

namespace smtp {
namespace {

using test::exchange;
using test::play;
using test::read;
using test::rethrow;
using test::visible;
using test::writes;

// Hands out the message in the given pieces, whatever size is asked (at most that size).
class PiecesBody final : public BodySource {
 public:
  explicit PiecesBody(std::vector<std::string_view> pieces)
      : pieces_(pieces.begin(), pieces.end()) {}
  std::size_t read(std::span<char> buffer) override {
    while (!pieces_.empty() && pieces_.front().empty()) pieces_.pop_front();
    if (pieces_.empty()) return 0;
    std::string_view& p = pieces_.front();
    const std::size_t n = std::min(buffer.size(), p.size());
    std::copy_n(p.data(), n, buffer.data());
    p.remove_prefix(n);
    ++reads;
    largest_ask = std::max(largest_ask, buffer.size());
    return n;
  }
  std::size_t reads = 0;
  std::size_t largest_ask = 0;

 private:
  std::deque<std::string_view> pieces_;
};

SessionState greeted(std::initializer_list<const char*> features, bool lmtp = false) {
  SessionState s;
  s.local_hostname = "client.example";
  s.lmtp = lmtp;
  s.ehlo_resp = "mx";
  s.does_esmtp = true;
  for (const char* f : features) {
    std::string_view v(f);
    const auto sp = v.find(' ');
    s.esmtp_features[std::string(v.substr(0, sp))] =
        sp == std::string_view::npos ? "" : std::string(v.substr(sp + 1));
  }
  return s;
}

// Runs an algorithm against a server that answers every command/read with the next reply.
struct Wire {
  std::string written;
  std::vector<std::size_t> write_sizes;
  bool closed = false;
  std::size_t replies_left = 0;
};
template <class Algo>
Wire drive(Algo& a, std::deque<Reply> replies) {
  Wire w;
  algo::step_result r;
  for (int guard = 0; guard < 100000; ++guard) {
    const algo::action act = a.resume(r);
    r = {};
    switch (act.kind) {
      case algo::action_kind::write:
      case algo::action_kind::command:
        w.written += act.bytes;
        w.write_sizes.push_back(act.bytes.size());
        if (act.kind == algo::action_kind::write) break;
        [[fallthrough]];
      case algo::action_kind::read_reply:
        if (replies.empty()) {
          r.error = std::make_exception_ptr(SMTPServerDisconnected("script ran out"));
        } else {
          r.reply = replies.front();
          replies.pop_front();
        }
        break;
      case algo::action_kind::close:
        w.closed = true;
        break;
      case algo::action_kind::expect_idle:  // the script's replies are all read by then
        break;
      case algo::action_kind::tls_handshake:
        ADD_FAILURE() << "unexpected TLS";
        return w;
      case algo::action_kind::done:
        w.replies_left = replies.size();
        return w;
    }
  }
  ADD_FAILURE() << "algorithm did not finish";
  return w;
}

const std::string tricky = "Subject: t\r\n\r\n.dot\n..two\rcr\r\n.\r\nend.\n.";

// ---- streamed DATA ----------------------------------------------------------------------------

TEST(Streaming, streamed_data_matches_the_string_encoding_at_every_split) {
  const std::string expected = "mail FROM:<f@example.com>\r\nrcpt TO:<a@example.com>\r\ndata\r\n" +
                               wire::BodyEncoder::encode_all(tricky);
  test::for_each_split(tricky, [&](const auto& chunks, const std::string& how) {
    for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{64 * 1024}}) {
      auto s = greeted({});
      s.body_chunk_size = piece;
      PiecesBody body(chunks);
      algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, body, {}, {});
      const Wire w = drive(a, {{250, "ok"}, {250, "ok"}, {354, "go"}, {250, "queued"}});
      EXPECT_FALSE(a.error()) << how;
      EXPECT_EQ(visible(w.written), visible(expected)) << how << " piece " << piece;
    }
  });
}

TEST(Streaming, small_string_message_is_one_command_as_before) {
  auto s = greeted({});
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("hi\n"), {}, {});
  play(a, {exchange("mail FROM:<f@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
           exchange("hi\r\n.\r\n", 250, "queued")});
  EXPECT_FALSE(a.error());
}

TEST(Streaming, large_body_goes_in_bounded_writes_and_bounded_reads) {
  // 8 MiB of generated lines, never whole in memory: each read asks for at most the chunk size and
  // each write is at most twice it (every LF may become CRLF).
  constexpr std::size_t total = 8 * 1024 * 1024;
  std::size_t produced = 0;
  std::size_t largest_ask = 0;
  CallbackBody body(
      [&](std::span<char> buf) {
        largest_ask = std::max(largest_ask, buf.size());
        const std::size_t n = std::min(buf.size(), total - produced);
        for (std::size_t i = 0; i < n; ++i) buf[i] = ((produced + i) % 64 == 63) ? '\n' : 'x';
        produced += n;
        return n;
      },
      total);
  auto s = greeted({"size 100000000"});
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, body, {}, {});
  const Wire w = drive(a, {{250, "ok"}, {250, "ok"}, {354, "go"}, {250, "queued"}});
  ASSERT_FALSE(a.error());
  EXPECT_EQ(largest_ask, s.body_chunk_size);
  EXPECT_GT(w.write_sizes.size(), 100u);
  for (std::size_t i = 3; i < w.write_sizes.size(); ++i) {
    EXPECT_LE(w.write_sizes[i], 2 * s.body_chunk_size + 5);
  }
  EXPECT_TRUE(w.written.starts_with("mail FROM:<f@example.com> size=8388608\r\n"));
  EXPECT_TRUE(w.written.ends_with("x\r\n.\r\n"));
  EXPECT_EQ(w.written.size(), std::string("mail FROM:<f@example.com> size=8388608\r\n").size() +
                                  std::string("rcpt TO:<a@example.com>\r\ndata\r\n").size() +
                                  total + total / 64 + 3);
}

TEST(Streaming, nul_in_a_string_is_refused_before_anything) {
  auto s = greeted({});
  try {
    algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("ab\0c", 4), {},
                         {});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("offset 2"), std::string::npos) << e.what();
  }
}

TEST(Streaming, nul_mid_stream_abandons_data_without_the_final_dot) {
  // The NUL is in the third piece: two pieces are written, then the connection is closed and the
  // message is never ended, so the server discards it.
  std::string msg(200, 'a');
  msg[10] = '\n';
  msg[150] = '\0';
  auto s = greeted({});
  s.body_chunk_size = 64;
  StringBody body(msg);
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, body, {}, {});
  const Wire w = drive(a, {{250, "ok"}, {250, "ok"}, {354, "go"}});
  EXPECT_TRUE(w.closed);
  EXPECT_EQ(w.replies_left, 0u);
  EXPECT_EQ(w.written.find("\r\n.\r\n"), std::string::npos);
  EXPECT_FALSE(w.written.ends_with(".\r\n"));
  EXPECT_TRUE(s.accepted_recipients.empty());
  try {
    rethrow(a);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("offset 150"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("abandoned"), std::string::npos) << e.what();
  }
}

TEST(Streaming, nul_in_the_first_piece_is_refused_before_mail) {
  // The first piece is read before MAIL: a NUL there writes nothing and keeps the connection.
  const std::string msg("Subject: x\n\nbefore\0after\n", 25);
  auto s = greeted({});
  StringBody body(msg);
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, body, {}, {});
  const Wire w = drive(a, {});
  EXPECT_TRUE(w.written.empty());
  EXPECT_FALSE(w.closed);
  try {
    rethrow(a);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("offset 18"), std::string::npos) << e.what();
  }
}

TEST(Streaming, read_error_mid_stream_abandons_the_message) {
  auto s = greeted({});
  int calls = 0;
  CallbackBody body([&](std::span<char> buf) -> std::size_t {
    if (++calls == 2) throw std::runtime_error("disk on fire");
    buf[0] = 'x';
    return 1;
  });
  s.body_chunk_size = 1;
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, body, {}, {});
  const Wire w = drive(a, {{250, "ok"}, {250, "ok"}, {354, "go"}});
  EXPECT_TRUE(w.closed);
  EXPECT_FALSE(w.written.ends_with(".\r\n"));
  EXPECT_THROW(rethrow(a), std::runtime_error);
}

TEST(Streaming, disconnect_at_every_step_of_a_streamed_body_finishes) {
  for (std::size_t fail = 0; fail < 6; ++fail) {
    auto s = greeted({});
    s.body_chunk_size = 4;
    StringBody body("abcdefghij");
    algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, body, {}, {});
    play(a,
         {exchange("mail FROM:<f@example.com>\r\n", 250, "ok"),
          exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
          writes("abcd"), writes("efgh"), exchange("ij\r\n.\r\n", 250, "queued")},
         fail);
    EXPECT_THROW(rethrow(a), SMTPServerDisconnected) << fail;
  }
}

TEST(Streaming, data_algo_streams_too) {
  auto s = greeted({});
  s.body_chunk_size = 3;
  StringBody body("x\n.y\n");
  algo::DataAlgo a(s, body);
  const Wire w = drive(a, {{354, "go"}, {250, "ok"}});
  EXPECT_FALSE(a.error());
  EXPECT_EQ(visible(w.written), visible("data\r\nx\r\n..y\r\n.\r\n"));
}

// ---- CHUNKING / BDAT --------------------------------------------------------------------------

TEST(Chunking, bdat_without_dot_stuffing_when_advertised) {
  auto s = greeted({"chunking"});
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view(".x\n."), {}, {});
  play(a, {exchange("mail FROM:<f@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
           exchange("BDAT 7 LAST\r\n.x\r\n.\r\n", 250, "2.0.0 queued")});
  EXPECT_FALSE(a.error());
  EXPECT_TRUE(a.chunked());
  ASSERT_EQ(a.data_replies().size(), 1u);
}

TEST(Chunking, switched_off_uses_data) {
  auto s = greeted({"chunking"});
  s.allow_chunking = false;
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("x"), {}, {});
  play(a, {exchange("mail FROM:<f@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"), exchange("data\r\n", 354, "go"),
           exchange("x\r\n.\r\n", 250, "queued")});
  EXPECT_FALSE(a.error());
}

TEST(Chunking, chunks_of_bounded_size_each_reply_checked) {
  auto s = greeted({"chunking"});
  s.bdat_chunk_size = 4;
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("abcdefghij"), {},
                       {});
  const std::vector<test::Step> script = {exchange("mail FROM:<f@example.com>\r\n", 250, "ok"),
                                          exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
                                          exchange("BDAT 4\r\nabcd", 250, "4 octets"),
                                          exchange("BDAT 4\r\nefgh", 250, "4 octets"),
                                          exchange("BDAT 4 LAST\r\nij\r\n", 250, "queued")};
  play(a, script);
  EXPECT_FALSE(a.error());
  for (std::size_t fail = 0; fail < script.size(); ++fail) {
    auto s2 = greeted({"chunking"});
    s2.bdat_chunk_size = 4;
    algo::SendmailAlgo b(s2, "f@example.com", {"a@example.com"}, std::string_view("abcdefghij"), {},
                         {});
    play(b, script, fail);
    EXPECT_THROW(rethrow(b), SMTPServerDisconnected) << fail;
  }
}

TEST(Chunking, refused_chunk_is_a_data_error_then_rset) {
  auto s = greeted({"chunking", "enhancedstatuscodes"});
  s.bdat_chunk_size = 4;
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("abcdefghij"), {},
                       {});
  play(a, {exchange("mail FROM:<f@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
           exchange("BDAT 4\r\nabcd", 552, "5.3.4 too big"), exchange("rset\r\n", 250, "ok")});
  try {
    rethrow(a);
    FAIL();
  } catch (const SMTPDataError& e) {
    EXPECT_EQ(e.smtp_code, 552);
    ASSERT_TRUE(e.enhanced_status);
    EXPECT_EQ(e.enhanced_status->to_string(), "5.3.4");
  }
}

TEST(Chunking, chunk_answered_421_closes_without_rset) {
  auto s = greeted({"chunking"});
  s.bdat_chunk_size = 4;
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("abcdefghij"), {},
                       {});
  play(a, {exchange("mail FROM:<f@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
           exchange("BDAT 4\r\nabcd", 421, "going away"), test::closes()});
  EXPECT_THROW(rethrow(a), SMTPDataError);
}

TEST(Chunking, pipelined_mail_rcpt_and_bdat_last_in_one_write) {
  auto s = greeted({"chunking", "pipelining"});
  s.allow_pipelining = true;
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com", "b@example.com"},
                       std::string_view("hi\n"), {}, {});
  play(a, {writes("mail FROM:<f@example.com>\r\nrcpt TO:<a@example.com>\r\n"
                  "rcpt TO:<b@example.com>\r\nBDAT 4 LAST\r\nhi\r\n"),
           read(250, "ok"), read(250, "ok"), read(550, "no b"), read(250, "queued"), test::idle()});
  EXPECT_FALSE(a.error());
  ASSERT_EQ(a.refused().size(), 1u);
  EXPECT_EQ(a.refused().at("b@example.com").code, 550);
}

TEST(Chunking, pipelined_refused_sender_consumes_every_reply_then_rset) {
  auto s = greeted({"chunking", "pipelining"});
  s.allow_pipelining = true;
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("hi\n"), {}, {});
  play(a, {writes("mail FROM:<f@example.com>\r\nrcpt TO:<a@example.com>\r\nBDAT 4 LAST\r\nhi\r\n"),
           read(550, "no"), read(503, "need MAIL"), read(503, "need RCPT"),
           exchange("rset\r\n", 250, "ok")});
  EXPECT_THROW(rethrow(a), SMTPSenderRefused);
}

TEST(Chunking, pipelined_large_message_sends_first_piece_then_full_chunks) {
  auto s = greeted({"chunking", "pipelining"});
  s.allow_pipelining = true;
  s.body_chunk_size = 2;
  s.bdat_chunk_size = 4;
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("abcdefg"), {}, {});
  // The later chunks are pipelined too: written at once, their replies read before LAST's.
  play(a, {writes("mail FROM:<f@example.com>\r\nrcpt TO:<a@example.com>\r\nBDAT 2\r\nab"),
           read(250, "ok"), read(250, "ok"), read(250, "2 octets"), writes("BDAT 4\r\ncdef"),
           writes("BDAT 3 LAST\r\ng\r\n"), read(250, "4 octets"), read(250, "ok"), test::idle()});
  EXPECT_FALSE(a.error());
}

// What the algorithm does, one letter per action: W write, P write made while earlier replies
// are due (the driver then accepts bytes already waiting), C command, R read, X close.
std::string shape(algo::SendmailAlgo& a, std::deque<Reply> replies,
                  std::string* written = nullptr) {
  std::string out;
  algo::step_result r;
  for (int guard = 0; guard < 10000; ++guard) {
    const algo::action act = a.resume(r);
    r = {};
    switch (act.kind) {
      case algo::action_kind::write:
        out += act.replies_pending ? 'P' : 'W';
        if (written) *written += act.bytes;
        continue;
      case algo::action_kind::command:
        out += 'C';
        if (written) *written += act.bytes;
        break;
      case algo::action_kind::read_reply:
        out += 'R';
        break;
      case algo::action_kind::close:
        out += 'X';
        continue;
      case algo::action_kind::expect_idle:
        out += 'I';
        continue;
      case algo::action_kind::tls_handshake:
        return out + "?";
      case algo::action_kind::done:
        return out;
    }
    if (replies.empty()) {
      r.error = std::make_exception_ptr(SMTPServerDisconnected("script ran out"));
    } else {
      r.reply = replies.front();
      replies.pop_front();
    }
  }
  return out + "...";
}

SessionState chunked_pipelined() {
  auto s = greeted({"chunking", "pipelining"});
  s.allow_pipelining = true;
  s.body_chunk_size = 1;
  s.bdat_chunk_size = 1;
  return s;
}

TEST(Chunking, pipelined_chunks_keep_at_most_four_replies_outstanding) {
  auto s = chunked_pipelined();
  // 9 octets + CRLF: the first octet in the group, then "b" to "i" and "\r" one octet each, and
  // "\n" as LAST (the encoder adds the CRLF as a pair; the chunk limit splits it).
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("abcdefghi"), {},
                       {});
  std::deque<Reply> ok(3 + 10, Reply{250, "ok"});
  std::string written;
  // Group (W) and its three replies; four chunks written, then one reply read per new chunk;
  // the last of them is LAST, then the three outstanding replies and LAST's, then the check that
  // nothing more is waiting (I) before LAST's reply is believed.
  EXPECT_EQ(shape(a, ok, &written),
            "WRRR"
            "WPPPRPRPRPRPRPRPRRRRI");
  EXPECT_FALSE(a.error());
  EXPECT_NE(written.find("BDAT 1 LAST\r\n\n"), std::string::npos) << visible(written);
}

TEST(Chunking, a_refused_pipelined_chunk_stops_new_chunks_reads_the_rest_then_resets) {
  auto s = chunked_pipelined();
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("abcdefghi"), {},
                       {});
  std::deque<Reply> replies = {{250, "ok"},
                               {250, "ok"},
                               {250, "1"},                     // the group
                               {452, "4.3.1 out of storage"},  // the 2nd chunk
                               {503, "5.5.1 no transaction"},
                               {503, "x"},
                               {503, "x"},
                               {250, "reset"}};
  std::string written;
  EXPECT_EQ(shape(a, replies, &written),
            "WRRR"
            "WPPPRRRRC");
  EXPECT_EQ(written.substr(written.size() - 6), "rset\r\n");
  EXPECT_EQ(written.find("LAST"), std::string::npos) << "LAST must not follow a refused chunk";
  try {
    rethrow(a);
    ADD_FAILURE() << "no error";
  } catch (const SMTPDataError& e) {
    EXPECT_EQ(e.smtp_code, 452);
  }
}

TEST(Chunking, a_chunk_refused_after_last_went_out_reads_last_reply_then_resets) {
  auto s = chunked_pipelined();
  // "abc" + CRLF: the group with "a", then "b", "c", "\r" and "\n" as LAST, all written before
  // any of their replies; "c" is refused.
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("abc"), {}, {});
  std::deque<Reply> replies = {{250, "ok"},
                               {250, "ok"},
                               {250, "1"},
                               {250, "b"},
                               {554, "5.6.0 bad chunk"},
                               {503, "after the refusal"},
                               {503, "LAST refused"},
                               {250, "reset"}};
  EXPECT_EQ(shape(a, replies),
            "WRRR"
            "WPPP"
            "RRRR"
            "C");
  try {
    rethrow(a);
    ADD_FAILURE() << "no error";
  } catch (const SMTPDataError& e) {
    EXPECT_EQ(e.smtp_code, 554);
  }
}

// CRLF pairs (and the final CRLF) never push a chunk past bdat_chunk_size: the extra octets open
// the next chunk. Every limit, with and without pipelining, against the same delivered bytes.
TEST(Chunking, no_chunk_is_larger_than_the_limit) {
  const std::string msg = "Subject: t\n\nline\nmore\r\nx";
  const std::string delivered = "Subject: t\r\n\r\nline\r\nmore\r\nx\r\n";
  for (bool pipelining : {false, true}) {
    for (std::size_t limit = 1; limit <= 8; ++limit) {
      auto s = pipelining ? greeted({"chunking", "pipelining"}) : greeted({"chunking"});
      s.allow_pipelining = pipelining;
      s.bdat_chunk_size = limit;
      s.body_chunk_size = limit;
      algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, msg, {}, {});
      std::string written;
      (void)shape(a, std::deque<Reply>(200, Reply{250, "ok"}), &written);
      ASSERT_FALSE(a.error()) << limit;
      std::string payload;
      std::size_t pos = 0;
      bool saw_last = false;
      while ((pos = written.find("BDAT ", pos)) != std::string::npos) {
        const std::size_t eol = written.find("\r\n", pos);
        const std::string cmd = written.substr(pos, eol - pos);
        const std::size_t n = std::stoul(cmd.substr(5));
        EXPECT_LE(n, limit) << cmd << " pipelining " << pipelining;
        payload += written.substr(eol + 2, n);
        saw_last = cmd.ends_with("LAST");
        pos = eol + 2 + n;
      }
      EXPECT_TRUE(saw_last);
      EXPECT_EQ(visible(payload), visible(delivered)) << "limit " << limit;
    }
  }
}

TEST(Chunking, a_421_to_a_pipelined_chunk_closes) {
  auto s = chunked_pipelined();
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("abcdefghi"), {},
                       {});
  std::deque<Reply> replies = {{250, "ok"}, {250, "ok"}, {250, "1"}, {421, "4.4.2 bye"}};
  EXPECT_EQ(shape(a, replies),
            "WRRR"
            "WPPPRX");
  EXPECT_THROW(rethrow(a), SMTPDataError);
}

TEST(Chunking, a_disconnect_anywhere_in_pipelined_chunks_is_never_success) {
  for (std::size_t cut = 0; cut < 3 + 10; ++cut) {
    auto s = chunked_pipelined();
    algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("abcdefghi"), {},
                         {});
    (void)shape(a, std::deque<Reply>(cut, Reply{250, "ok"}));
    EXPECT_TRUE(a.error()) << "replies before the cut: " << cut;
  }
}

TEST(Chunking, nul_in_the_first_pipelined_chunk_writes_nothing) {
  auto s = greeted({"chunking", "pipelining"});
  s.allow_pipelining = true;
  const std::string msg("ab\0c", 4);
  StringBody body(msg);
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, body, {}, {});
  const Wire w = drive(a, {});
  EXPECT_TRUE(w.written.empty());
  EXPECT_FALSE(w.closed);
  EXPECT_THROW(rethrow(a), std::invalid_argument);
}

TEST(Chunking, nul_in_a_later_chunk_never_sends_last_and_closes) {
  auto s = greeted({"chunking"});
  s.bdat_chunk_size = 4;
  s.body_chunk_size = 4;
  const std::string msg("abcdefg\0", 8);
  StringBody body(msg);
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, body, {}, {});
  const Wire w = drive(a, {{250, "ok"}, {250, "ok"}, {250, "4 octets"}});
  EXPECT_TRUE(w.closed);
  EXPECT_EQ(w.written.find("LAST"), std::string::npos);
  EXPECT_THROW(rethrow(a), std::invalid_argument);
}

TEST(Chunking, lmtp_bdat_last_gets_one_reply_per_recipient) {
  auto s = greeted({"chunking"}, true);
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com", "b@example.com"},
                       std::string_view("hi"), {}, {});
  play(a, {exchange("mail FROM:<f@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
           exchange("rcpt TO:<b@example.com>\r\n", 250, "ok"),
           exchange("BDAT 4 LAST\r\nhi\r\n", 250, "a delivered"), read(452, "b over quota")});
  EXPECT_FALSE(a.error());
  ASSERT_EQ(a.data_replies().size(), 2u);
  EXPECT_EQ(a.refused().at("b@example.com").code, 452);
}

TEST(Chunking, lmtp_pipelined_bdat_last_reads_the_other_recipients_replies) {
  auto s = greeted({"chunking", "pipelining"}, true);
  s.allow_pipelining = true;
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com", "b@example.com"},
                       std::string_view("hi"), {}, {});
  // LMTP: the chunk does not ride in the group. How many replies LAST gets depends on the RCPT
  // replies, so they are read first (a dropped reply then shows as a wait, never as a shift).
  play(a, {writes("mail FROM:<f@example.com>\r\nrcpt TO:<a@example.com>\r\n"
                  "rcpt TO:<b@example.com>\r\n"),
           read(250, "ok"), read(250, "ok"), read(250, "ok"), writes("BDAT 4 LAST\r\nhi\r\n"),
           read(550, "a failed"), read(250, "b delivered"), test::idle()});
  EXPECT_FALSE(a.error());
  EXPECT_EQ(a.refused().at("a@example.com").code, 550);
}

TEST(Chunking, binarymime_sends_bytes_untouched) {
  auto s = greeted({"chunking", "binarymime"});
  const std::string msg("a\nb\0.\r", 7);
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view(msg),
                       {"BODY=BINARYMIME"}, {});
  play(a, {exchange("mail FROM:<f@example.com> BODY=BINARYMIME\r\n", 250, "ok"),
           exchange("rcpt TO:<a@example.com>\r\n", 250, "ok"),
           exchange("BDAT 7 LAST\r\n" + msg, 250, "ok")});
  EXPECT_FALSE(a.error());
}

TEST(Chunking, binarymime_needs_binarymime_and_chunking) {
  for (auto features : {std::vector<const char*>{"chunking"}, {"binarymime"}}) {
    SessionState s;
    s.local_hostname = "client.example";
    s.ehlo_resp = "mx";
    s.does_esmtp = true;
    for (auto f : features) s.esmtp_features[f] = "";
    algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("x"),
                         {"BODY=BINARYMIME"}, {});
    play(a, {});
    EXPECT_THROW(rethrow(a), SMTPNotSupportedError);
  }
  auto s = greeted({"chunking", "binarymime"});
  s.allow_chunking = false;
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("x"),
                       {"BODY=BINARYMIME"}, {});
  play(a, {});
  EXPECT_THROW(rethrow(a), SMTPNotSupportedError);
}

// ---- SIZE, options, enhanced status codes ---------------------------------------------------

TEST(Extensions, message_over_the_size_limit_is_refused_before_mail) {
  auto s = greeted({"size 10"});
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("0123456789ab"), {},
                       {});
  play(a, {});  // nothing written
  try {
    rethrow(a);
    FAIL();
  } catch (const SMTPMessageTooLarge& e) {
    EXPECT_EQ(e.size, 14u);
    EXPECT_EQ(e.limit, 10u);
    EXPECT_EQ(e.type_name(), "SMTPMessageTooLarge");
  }
}

TEST(Extensions, size_limit_zero_or_message_within_limit_is_sent) {
  for (const char* f : {"size 0", "size 14", "size"}) {
    auto s = greeted({f});
    algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("0123456789ab"),
                         {}, {});
    const Wire w = drive(a, {{250, "ok"}, {250, "ok"}, {354, "go"}, {250, "ok"}});
    EXPECT_FALSE(a.error()) << f;
    EXPECT_TRUE(w.written.starts_with("mail FROM:<f@example.com> size=14\r\n")) << f;
  }
}

TEST(Extensions, file_size_is_checked_too) {
  const auto path = std::filesystem::temp_directory_path() / "smtpkit-size-test.eml";
  { std::ofstream(path, std::ios::binary) << std::string(5000, 'x'); }
  auto s = greeted({"size 4096"});
  FileBody body(path);
  algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, body, {}, {});
  play(a, {});
  EXPECT_THROW(rethrow(a), SMTPMessageTooLarge);
  std::filesystem::remove(path);
}

TEST(Extensions, options_need_their_extension) {
  struct Case {
    std::vector<std::string> mail, rcpt;
    const char* feature;
  };
  const std::vector<Case> cases = {
      {{"BODY=8BITMIME"}, {}, "8bitmime"},
      {{"SMTPUTF8"}, {}, "smtputf8"},
      {{"RET=HDRS"}, {}, "dsn"},
      {{"ENVID=abc+2Bd"}, {}, "dsn"},
      {{}, {"NOTIFY=SUCCESS,DELAY"}, "dsn"},
      {{}, {"ORCPT=rfc822;a+40b"}, "dsn"},
      {{"body=8bitmime"}, {}, "8bitmime"},
  };
  for (const auto& c : cases) {
    auto without = greeted({"size 1000"});
    algo::SendmailAlgo a(without, "f@example.com", {"a@example.com"}, std::string_view("x"), c.mail,
                         c.rcpt);
    play(a, {});
    EXPECT_THROW(rethrow(a), SMTPNotSupportedError) << c.feature;

    auto with = greeted({c.feature});
    algo::SendmailAlgo b(with, "f@example.com", {"a@example.com"}, std::string_view("x"), c.mail,
                         c.rcpt);
    drive(b, {{250, "ok"}, {250, "ok"}, {354, "go"}, {250, "ok"}});
    EXPECT_FALSE(b.error()) << c.feature;
  }
}

TEST(Extensions, dsn_grammar_is_checked_before_anything) {
  auto s = greeted({"dsn"});
  for (const char* bad : {"NOTIFY=NEVER,SUCCESS", "NOTIFY=SUCCESS,SUCCESS", "NOTIFY=", "NOTIFY=ALL",
                          "ORCPT=rfc822", "ORCPT=;a@b", "ORCPT=rfc822;a+4", "ORCPT=rfc822;a+4x"}) {
    EXPECT_THROW(
        algo::SendmailAlgo(s, "f@example.com", {"a@example.com"}, std::string_view("x"), {}, {bad}),
        std::invalid_argument)
        << bad;
  }
  for (const char* bad : {"RET=ALL", "ENVID=", "ENVID=a+zz"}) {
    EXPECT_THROW(
        algo::SendmailAlgo(s, "f@example.com", {"a@example.com"}, std::string_view("x"), {bad}, {}),
        std::invalid_argument)
        << bad;
  }
  EXPECT_NO_THROW(algo::SendmailAlgo(s, "f@example.com", {"a@example.com"}, std::string_view("x"),
                                     {"RET=FULL", "ENVID=QQ314159"},
                                     {"NOTIFY=never", "ORCPT=rfc822;bob+40example.com"}));
}

TEST(Extensions, non_ascii_address_needs_smtputf8_option) {
  auto s = greeted({"smtputf8"});
  EXPECT_THROW(algo::SendmailAlgo(s, "f@example.com", {"j\xC3\xB6rg@example.com"},
                                  std::string_view("x"), {}, {}),
               std::invalid_argument);
  EXPECT_NO_THROW(algo::SendmailAlgo(s, "f@example.com", {"j\xC3\xB6rg@example.com"},
                                     std::string_view("x"), {"SMTPUTF8"}, {}));
}

TEST(Extensions, enhanced_status_only_when_advertised) {
  for (bool advertised : {false, true}) {
    auto s = advertised ? greeted({"enhancedstatuscodes"}) : greeted({});
    algo::SendmailAlgo a(s, "f@example.com", {"a@example.com"}, std::string_view("x"), {}, {});
    play(a, {exchange("mail FROM:<f@example.com>\r\n", 550, "5.7.1 no"),
             exchange("rset\r\n", 250, "ok")});
    try {
      rethrow(a);
      FAIL();
    } catch (const SMTPSenderRefused& e) {
      EXPECT_EQ(e.enhanced_status.has_value(), advertised);
      if (advertised) {
        EXPECT_EQ(*e.enhanced_status, (EnhancedStatus{5, 7, 1}));
      }
    }
  }
}

// ---- the SMTP class ---------------------------------------------------------------------------

struct Session {
  std::shared_ptr<test::FakeServer> server = std::make_shared<test::FakeServer>();
  SMTP client{std::string(), 0, std::string("me.example")};
  explicit Session(std::vector<std::string> replies) {
    server->to_client.assign(replies.begin(), replies.end());
    client.connect(std::make_unique<test::FakeTransport>(server));
  }
};

TEST(StreamingClient, sendmail_from_an_istream_over_bdat) {
  Session s({"220 mx\r\n", "250-mx\r\n250-CHUNKING\r\n250 PIPELINING\r\n", "250 ok\r\n",
             "250 ok\r\n", "250 queued\r\n"});
  s.client.set_pipelining(true);
  std::istringstream in("Subject: s\n\n.body\n");
  EXPECT_TRUE(s.client.sendmail("me@example.com", {"a@example.com"}, in).empty());
  EXPECT_EQ(visible(s.server->written),
            visible("ehlo me.example\r\nmail FROM:<me@example.com>\r\nrcpt TO:<a@example.com>\r\n"
                    "BDAT 21 LAST\r\nSubject: s\r\n\r\n.body\r\n"));
}

TEST(StreamingClient, sendmail_from_a_file_with_chunking_off) {
  const auto path = std::filesystem::temp_directory_path() / "smtpkit-stream-test.eml";
  { std::ofstream(path, std::ios::binary) << "Subject: f\n\n.x\n"; }
  Session s({"220 mx\r\n", "250-mx\r\n250-SIZE 100\r\n250 CHUNKING\r\n", "250 ok\r\n", "250 ok\r\n",
             "354 go\r\n", "250 queued\r\n"});
  s.client.set_chunking(false);
  EXPECT_TRUE(s.client.sendmail("me@example.com", {"a@example.com"}, FileBody(path)).empty());
  EXPECT_EQ(visible(s.server->written),
            visible("ehlo me.example\r\nmail FROM:<me@example.com> size=15\r\n"
                    "rcpt TO:<a@example.com>\r\ndata\r\nSubject: f\r\n\r\n..x\r\n.\r\n"));
  std::filesystem::remove(path);
}

TEST(StreamingClient, missing_file_or_directory_raises_invalid_argument) {
  // Before anything can be sent: the constructor refuses it (issue 19: a directory used to fail
  // in sendmail(), after EHLO).
  EXPECT_THROW(FileBody("/nonexistent/smtpkit/x.eml"), BodyFileError);
  EXPECT_THROW(FileBody("/"), std::invalid_argument);
}

}  // namespace
}  // namespace smtp
