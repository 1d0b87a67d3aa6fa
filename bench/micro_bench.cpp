// Google Benchmark: the reply parser and the body encoder in bytes/s, with memcpy of the same
// buffer as the ceiling (issue 20: the encoder's targets are ratios to it, measured in one run).
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <smtp/wire/body_encoder.hpp>
#include <smtp/wire/reply_parser.hpp>
#include <string>

namespace {

std::string body(std::size_t n) {
  std::string s;
  while (s.size() < n) s += "A line of a message body, .dot at times, of ordinary length here.\r\n";
  s.resize(n);
  return s;
}

// Ordinary text for issue 20's target: CRLF lines of 60 to 1000 bytes (uniform), a '.' inside
// some lines but none starting one; with `dot_lines`, the worst case: every line starts with '.'.
std::string text_lines(std::size_t n, bool dot_lines) {
  std::mt19937 rng(20);
  std::string s;
  while (s.size() < n) {
    const std::size_t len = 60 + rng() % 941;
    std::string line(len, 'x');
    for (std::size_t i = 0; i < len; ++i) line[i] = static_cast<char>('a' + rng() % 26);
    for (std::size_t i = 8; i < len; i += 7) line[i] = ' ';
    line[len / 2] = '.';
    if (dot_lines) line[0] = '.';
    s += line + "\r\n";
  }
  s.resize(n);
  return s;
}

std::string replies(std::size_t n) {
  std::string s;
  while (s.size() < n) s += "250-mx.example.com\r\n250-PIPELINING\r\n250 2.0.0 Ok: queued\r\n";
  return s;
}

void bm_memcpy(benchmark::State& st) {
  const std::string in = body(1 << 20);
  std::string out(in.size(), '\0');
  for (auto _ : st) {
    std::memcpy(out.data(), in.data(), in.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(in.size()));
}
BENCHMARK(bm_memcpy);

void bm_body_encoder(benchmark::State& st) {
  const std::string in = body(1 << 20);
  std::string out;
  out.reserve(in.size() * 2);
  for (auto _ : st) {
    out.clear();
    smtp::wire::BodyEncoder enc;
    enc.encode(std::string_view(in), out);
    enc.finish(out);
    benchmark::DoNotOptimize(out.data());
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(in.size()));
}
BENCHMARK(bm_body_encoder);

void encode_bench(benchmark::State& st, const std::string& in) {
  std::string out;
  out.reserve(in.size() * 2);
  for (auto _ : st) {
    out.clear();
    smtp::wire::BodyEncoder enc;
    enc.encode(std::string_view(in), out);
    enc.finish(out);
    benchmark::DoNotOptimize(out.data());
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(in.size()));
}

void bm_body_encoder_text_60_1000(benchmark::State& st) {
  encode_bench(st, text_lines(1 << 20, false));
}
BENCHMARK(bm_body_encoder_text_60_1000);

void bm_body_encoder_every_line_dot(benchmark::State& st) {
  encode_bench(st, text_lines(1 << 20, true));
}
BENCHMARK(bm_body_encoder_every_line_dot);

// Unix line endings: every line ending is an event (LF becomes CRLF), 68-byte lines.
void bm_body_encoder_lf_lines(benchmark::State& st) {
  std::string in;
  while (in.size() < (1 << 20))
    in += "A line of a message body, .dot at times, of ordinary length.\n";
  encode_bench(st, in);
}
BENCHMARK(bm_body_encoder_lf_lines);

// The shortest dotted lines: "." CRLF over and over, an event every 3 bytes.
void bm_body_encoder_dot_crlf_only(benchmark::State& st) {
  std::string in;
  while (in.size() < (1 << 20)) in += ".\r\n";
  encode_bench(st, in);
}
BENCHMARK(bm_body_encoder_dot_crlf_only);

void bm_reply_parser(benchmark::State& st) {
  const std::string in = replies(1 << 16);
  for (auto _ : st) {
    smtp::wire::ReplyParser p;
    std::string_view rest(in);
    while (!rest.empty()) {
      rest.remove_prefix(p.feed(rest));
      if (p.done()) benchmark::DoNotOptimize(p.take());
    }
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(in.size()));
}
BENCHMARK(bm_reply_parser);

// Issue 20's figure: multiline EHLO replies as Postfix sends them, one after another.
void bm_reply_parser_ehlo(benchmark::State& st) {
  const std::string ehlo =
      "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
      "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
      "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
  std::string in;
  while (in.size() < (1 << 16)) in += ehlo;
  smtp::wire::ReplyParser p;
  for (auto _ : st) {
    std::string_view rest(in);
    while (!rest.empty()) {
      rest.remove_prefix(p.feed(rest));
      if (p.done()) benchmark::DoNotOptimize(p.take());
    }
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * static_cast<int64_t>(in.size()));
}
BENCHMARK(bm_reply_parser_ehlo);

}  // namespace

BENCHMARK_MAIN();
