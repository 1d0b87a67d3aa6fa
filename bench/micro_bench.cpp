// Google Benchmark: the reply parser and the body encoder in bytes/s, with memcpy of the same
// buffer as the ceiling.
#include <benchmark/benchmark.h>

#include <cstring>
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

}  // namespace

BENCHMARK_MAIN();
